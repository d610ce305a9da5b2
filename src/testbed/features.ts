/**
 * Kernel features and tools each testbed operation needs, checked up front so a
 * missing one is named (KernelFeatureError: "... needs the kernel feature
 * CONFIG_GENEVE") instead of surfacing as an obscure netlink error halfway.
 */
import { requireKernel } from '../common/kernel-features.js';
import { requireCaps } from '../common/privileges.js';
import type { TunnelType } from './spec.js';

const TUNNEL_FEATURE: Record<TunnelType, string> = { vxlan: 'VXLAN', flannel: 'VXLAN', geneve: 'GENEVE' };

/** What `testbed up` needs: namespaces, veth, bridge, ECMP and the tunnel type. */
export function checkUpFeatures(tunnel: TunnelType, shaping: { delay: boolean; rate: boolean }): void {
  requireCaps(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'], 'pathsteer testbed up');
  requireKernel('NET_NS', 'the namespace testbed');
  requireKernel('VETH', 'testbed links (veth pairs)');
  requireKernel('BRIDGE', 'the tenant bridge on each host');
  requireKernel('IP_ROUTE_MULTIPATH', 'ECMP routes on testbed routers');
  requireKernel(TUNNEL_FEATURE[tunnel], `tunnel type ${tunnel}`);
  requireKernel('NET_CLS_BPF', 'the VM bridge ports (TC BPF program that clears the guest skb hash)');
  requireKernel('NET_SCH_INGRESS', 'the VM bridge ports (clsact qdisc)');
  if (shaping.delay) checkFailFeatures('delay');
  if (shaping.rate) requireKernel('NET_SCH_TBF', 'link rate limits (tbf qdisc)');
}

export type FailureKind = 'blackhole' | 'loss' | 'delay' | 'down' | 'window';

/** What `testbed fail` needs for one kind of failure. */
export function checkFailFeatures(kind: FailureKind): void {
  requireCaps(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'], 'pathsteer testbed fail');
  if (kind === 'down') return;
  const what = `testbed ${kind} failure (iptables raw PREROUTING)`;
  requireKernel('NETFILTER', what);
  requireKernel('IP_NF_RAW', what);
  if (kind === 'loss') requireKernel('NETFILTER_XT_MATCH_STATISTIC', 'testbed random loss (iptables statistic match)');
  if (kind === 'delay' || kind === 'window') {
    requireKernel('NETFILTER_XT_TARGET_NFQUEUE', `testbed ${kind} (iptables NFQUEUE target)`);
    requireKernel('NETFILTER_NETLINK_QUEUE', `testbed ${kind} (nfnetlink_queue for the ps-delayq helper)`);
  }
}
