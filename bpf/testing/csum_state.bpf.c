/* csum_state.bpf.c: for the probe_steer namespace test. A TC ingress observer
 * placed before probe_steer: counts pathsteer probes arriving on UDP port
 * watch_port by the skb's ip_summed (NONE, UNNECESSARY, COMPLETE, PARTIAL), so
 * the test can show which checksum state each case really produced, then lets
 * the next filter run (TC_ACT_UNSPEC). */
#include "helpers/common.h"
#include "pathsteer_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TC_ACT_UNSPEC (-1)

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);   /* ip_summed: 0 NONE, 1 UNNECESSARY, 2 COMPLETE, 3 PARTIAL */
	__type(value, __u64); /* probes seen */
} csum_states SEC(".maps");

const volatile __u16 watch_port = 4789;

SEC("tc")
int csum_state(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct sk_buff *k;
	struct udphdr *udp;
	struct iphdr *ip;
	__u8 *magic;
	__u32 state;
	__u64 *n;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_UNSPEC;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return TC_ACT_UNSPEC;
	udp = (void *)(ip + 1);
	magic = (void *)(udp + 1);
	if ((void *)(magic + 3) > data_end || udp->dest != bpf_htons(watch_port))
		return TC_ACT_UNSPEC;
	if (magic[0] != PS_MAGIC0 || magic[1] != PS_MAGIC1 || magic[2] != PS_MAGIC2)
		return TC_ACT_UNSPEC;
	k = bpf_cast_to_kern_ctx(skb);
	state = BPF_CORE_READ_BITFIELD(k, ip_summed) & 3;
	n = bpf_map_lookup_elem(&csum_states, &state);
	if (n)
		__sync_fetch_and_add(n, 1);
	return TC_ACT_UNSPEC;
}
