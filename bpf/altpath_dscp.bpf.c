/* altpath_dscp.bpf.c: TC egress (DESIGN §2.4, Edge Fabric §6.2.1). Marks a
 * configured share of flows with AltPath DSCP values, so peering routers send
 * them through alternate routing tables: every IPv4/IPv6 TCP or UDP packet is
 * hashed by its 5-tuple (helpers/altpath.h, the same choice conn_stats makes),
 * and a flow whose hash falls in a rule's share gets that rule's DSCP unless
 * it already carries one (only_unmarked) or its destination is excluded.
 * Anything else passes untouched. Returns TC_ACT_UNSPEC so filters after it
 * on the same hook (vxlan_sport) still run. */
#define PS_MAPS_ALTPATH
#include "helpers/common.h"
#include "pathsteer_maps.h"
#include "helpers/altpath.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PS_IP_CSUM_OFF (sizeof(struct ethhdr) + __builtin_offsetof(struct iphdr, check))

/* Source and destination port of the L4 header at l4off (both TCP and UDP
 * start with them), read directly when linear, else copied out. */
static __always_inline bool ps_ports(struct __sk_buff *skb, void *l4, void *data_end, __u32 l4off, __u32 *ports)
{
	__be16 p[2];

	if (l4 + 4 <= data_end) {
		__be16 *q = l4;

		*ports = ps_ports_word(q[0], q[1]);
		return true;
	}
	if (bpf_skb_load_bytes(skb, l4off, p, sizeof(p)))
		return false;
	*ports = ps_ports_word(p[0], p[1]);
	return true;
}

static __always_inline void ps_mark4(struct __sk_buff *skb, const struct ps_altpath *cfg, struct iphdr *ip, void *data_end)
{
	__u8 tos = ip->tos, cur = tos >> 2, dscp;
	__u32 ports, l4off;
	__be16 old, new;

	if (cur && cfg->only_unmarked) {
		ps_ap_count(PS_AP_STAT_PREMARKED);
		return;
	}
	if (ip->ihl < 5 || (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) ||
	    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)) {
		ps_ap_count(PS_AP_STAT_SKIPPED);
		return;
	}
	l4off = sizeof(struct ethhdr) + ip->ihl * 4;
	if (!ps_ports(skb, (void *)ip + ip->ihl * 4, data_end, l4off, &ports)) {
		ps_ap_count(PS_AP_STAT_SKIPPED);
		return;
	}
	dscp = ps_altpath_pick(cfg, ps_altpath_hash4(ip->saddr, ip->daddr, ports, ip->protocol, cfg->seed));
	if (!dscp) {
		ps_ap_count(PS_AP_STAT_UNSELECTED);
		return;
	}
	if (ps_altpath_excluded4(ip->daddr)) {
		ps_ap_count(PS_AP_STAT_EXCLUDED);
		return;
	}
	if (dscp != cur) {
		/* the first header word holds version/ihl and tos: change tos (ECN
		 * bits kept), then the header checksum by the word's difference.
		 * The new word is computed, not re-read: clang takes the u8 store
		 * and a u16 load of the same bytes for independent accesses. */
		__u8 ntos = (dscp << 2) | (tos & 3);

		old = *(__be16 *)ip;
		new = bpf_htons((bpf_ntohs(old) & 0xff00) | ntos);
		ip->tos = ntos;
		bpf_l3_csum_replace(skb, PS_IP_CSUM_OFF, old, new, sizeof(__u16));
	}
	ps_ap_count(PS_AP_STAT_MARKED);
}

static __always_inline void ps_mark6(struct __sk_buff *skb, const struct ps_altpath *cfg, struct ipv6hdr *ip6, void *data_end)
{
	__be32 *w = (__be32 *)ip6, old = *w;
	__u32 first = bpf_ntohl(old), ports;
	__u8 cur = (first >> 22) & 0x3f, dscp; /* traffic class is bits 20..27, DSCP its upper six */
	__u8 nexthdr = ip6->nexthdr;
	__be32 new;

	if (cur && cfg->only_unmarked) {
		ps_ap_count(PS_AP_STAT_PREMARKED);
		return;
	}
	/* only a TCP or UDP header right after the fixed header: with extension
	 * headers (fragments among them) the flow is left alone */
	if (nexthdr != IPPROTO_TCP && nexthdr != IPPROTO_UDP) {
		ps_ap_count(PS_AP_STAT_SKIPPED);
		return;
	}
	if (!ps_ports(skb, ip6 + 1, data_end, sizeof(struct ethhdr) + sizeof(*ip6), &ports)) {
		ps_ap_count(PS_AP_STAT_SKIPPED);
		return;
	}
	dscp = ps_altpath_pick(cfg, ps_altpath_hash6(ip6->saddr.in6_u.u6_addr32, ip6->daddr.in6_u.u6_addr32, ports,
						      nexthdr, cfg->seed));
	if (!dscp) {
		ps_ap_count(PS_AP_STAT_UNSELECTED);
		return;
	}
	if (ps_altpath_excluded6(ip6->daddr.in6_u.u6_addr32)) {
		ps_ap_count(PS_AP_STAT_EXCLUDED);
		return;
	}
	if (dscp != cur) {
		new = bpf_htonl((first & ~(0x3fu << 22)) | ((__u32)dscp << 22));
		*w = new;
		/* IPv6 has no header checksum; a CHECKSUM_COMPLETE skb's csum
		 * (ingress only) follows the changed bytes */
		bpf_csum_update(skb, (~(__u32)old & 0xffff) + (~(__u32)old >> 16) + (new & 0xffff) + (new >> 16));
	}
	ps_ap_count(PS_AP_STAT_MARKED);
}

SEC("tc")
int altpath_dscp(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ps_altpath *cfg;
	__u32 zero = 0;

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_UNSPEC;
	cfg = bpf_map_lookup_elem(&ps_altpath, &zero);
	if (!cfg || !cfg->nrules)
		return TC_ACT_UNSPEC;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end) {
			ps_ap_count(PS_AP_STAT_SKIPPED);
			return TC_ACT_UNSPEC;
		}
		ps_mark4(skb, cfg, ip, data_end);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end) {
			ps_ap_count(PS_AP_STAT_SKIPPED);
			return TC_ACT_UNSPEC;
		}
		ps_mark6(skb, cfg, ip6, data_end);
	}
	return TC_ACT_UNSPEC;
}
