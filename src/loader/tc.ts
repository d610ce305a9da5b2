/**
 * TC (clsact) attach through libbpf's netlink helpers bpf_tc_hook_create /
 * bpf_tc_attach / bpf_tc_query / bpf_tc_detach / bpf_tc_hook_destroy; never by
 * running `tc`. Acts on the network namespace of the calling process. A filter
 * keeps its program alive after this process exits (fail-static); detaching
 * needs the handle and priority recorded at attach.
 */
import { constants } from 'node:os';
import { BpfError, check } from './errors.js';
import { ifIndex, libbpf } from './libbpf.js';

export type TcPoint = 'ingress' | 'egress';

/** enum bpf_tc_attach_point */
const POINT = { ingress: 1, egress: 2 } as const;
const BPF_TC_F_REPLACE = 1;
const EEXIST = constants.errno.EEXIST;
const ENOENT = constants.errno.ENOENT;

/** What one bpf_tc_attach created; enough to detach it from another process. */
export interface TcFilter {
  ifindex: number;
  point: TcPoint;
  handle: number;
  priority: number;
  /** Kernel id of the attached program. */
  progId: number;
}

/** struct bpf_tc_hook {size_t sz; int ifindex; enum attach_point; __u32 parent;} = 24 bytes */
function hook(ifindex: number, points: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64LE(24n, 0);
  b.writeInt32LE(ifindex, 8);
  b.writeUInt32LE(points, 12);
  return b;
}

/** struct bpf_tc_opts {size_t sz; int prog_fd; __u32 flags; __u32 prog_id; __u32 handle; __u32 priority;} = 32 bytes */
function tcOpts(o: { progFd?: number; flags?: number; progId?: number; handle?: number; priority?: number }): Buffer {
  const b = Buffer.alloc(32);
  b.writeBigUInt64LE(32n, 0);
  b.writeInt32LE(o.progFd ?? 0, 8);
  b.writeUInt32LE(o.flags ?? 0, 12);
  b.writeUInt32LE(o.progId ?? 0, 16);
  b.writeUInt32LE(o.handle ?? 0, 20);
  b.writeUInt32LE(o.priority ?? 0, 24);
  return b;
}

/** ifindex of ifname in this network namespace; BpfError ENODEV when missing. */
export function requireIfIndex(ifname: string): number {
  const i = ifIndex(ifname);
  if (!i) throw new BpfError(`if_nametoindex ${ifname}`, constants.errno.ENODEV);
  return i;
}

/** Create the clsact qdisc. true when we created it, false when it already existed. */
export function tcHookCreate(ifindex: number): boolean {
  const r = libbpf().bpf_tc_hook_create(hook(ifindex, POINT.ingress | POINT.egress)) as number;
  if (r === -EEXIST) return false;
  check(`bpf_tc_hook_create ifindex ${ifindex}`, r);
  return true;
}

/** Remove the clsact qdisc and every filter on it. Only for a hook we created. */
export function tcHookDestroy(ifindex: number): void {
  const r = libbpf().bpf_tc_hook_destroy(hook(ifindex, POINT.ingress | POINT.egress)) as number;
  if (r === -ENOENT) return;
  check(`bpf_tc_hook_destroy ifindex ${ifindex}`, r);
}

export interface TcAttachOptions {
  /** Replace the program of an existing filter with this handle/priority (atomic swap). */
  replace?: { handle: number; priority: number };
  /** Priority for a new filter; 0 lets the kernel choose. */
  priority?: number;
  /** Handle for a new filter; 0 lets the kernel choose. */
  handle?: number;
}

/** Attach a program as a direct-action cls_bpf filter on the clsact hook (which must exist). */
export function tcAttach(progFd: number, ifindex: number, point: TcPoint, o: TcAttachOptions = {}): TcFilter {
  const opts = o.replace
    ? tcOpts({ progFd, flags: BPF_TC_F_REPLACE, handle: o.replace.handle, priority: o.replace.priority })
    : tcOpts({ progFd, handle: o.handle ?? 0, priority: o.priority ?? 0 });
  check(`bpf_tc_attach ${point} ifindex ${ifindex}`, libbpf().bpf_tc_attach(hook(ifindex, POINT[point]), opts) as number);
  return {
    ifindex,
    point,
    progId: opts.readUInt32LE(16),
    handle: opts.readUInt32LE(20),
    priority: opts.readUInt32LE(24),
  };
}

/** Program id of the filter with this handle/priority, or undefined when there is none (or no hook). */
export function tcQuery(ifindex: number, point: TcPoint, handle: number, priority: number): number | undefined {
  const opts = tcOpts({ handle, priority });
  const r = libbpf().bpf_tc_query(hook(ifindex, POINT[point]), opts) as number;
  if (r === -ENOENT || r === -constants.errno.EINVAL) return undefined;
  check(`bpf_tc_query ${point} ifindex ${ifindex}`, r);
  return opts.readUInt32LE(16);
}

/** Remove one filter. Returns false when it was already gone. */
export function tcDetach(f: Pick<TcFilter, 'ifindex' | 'point' | 'handle' | 'priority'>): boolean {
  const r = libbpf().bpf_tc_detach(hook(f.ifindex, POINT[f.point]), tcOpts({ handle: f.handle, priority: f.priority })) as number;
  if (r === -ENOENT || r === -constants.errno.EINVAL) return false;
  check(`bpf_tc_detach ${f.point} ifindex ${f.ifindex}`, r);
  return true;
}
