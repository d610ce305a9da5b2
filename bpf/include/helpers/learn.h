/* helpers/learn.h: the middlebox role's source-port learning (ZooRoute §4.1):
 * probe_steer records, per peer and tenant flow, the outer source port the
 * peer's VXLAN packets arrived with (ps_learn); vxlan_sport sends the flow's
 * packets back to that peer on the same port, so the return path follows
 * every port switch of the peer without probing. Needs PS_MAPS_CORE,
 * PS_MAPS_REFLECT and helpers/stats.h. VXLAN only (Geneve's options make the
 * inner header's offset variable). */
#ifndef PS_HELPERS_LEARN_H
#define PS_HELPERS_LEARN_H

#define PS_VXLAN_HDR_LEN 8
#define PS_ETH_P_IP 0x0800
/* A learned entry's time is refreshed at most this often while its port stays the same. */
#define PS_LEARN_REFRESH_NS 1000000000ULL

/* The agent's switches (ps_reflect[0]); NULL only if the map is missing. */
static __always_inline struct ps_reflect_cfg *ps_reflect_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ps_reflect, &zero);
}

/*
 * The direction-free key of the tenant flow inside the VXLAN packet whose
 * outer UDP header is at l4off: inner IPv4 TCP/UDP only (not fragments).
 * Copied out with bpf_skb_load_bytes, so a non-linear inner header is fine.
 */
static __always_inline bool ps_learn_key_of(struct __sk_buff *skb, __u32 l4off, __be32 peer, struct ps_learn_key *k)
{
	__u32 in = l4off + sizeof(struct udphdr) + PS_VXLAN_HDR_LEN;
	struct iphdr iph;
	__be16 ports[2];
	__be16 proto;
	__u32 l4;

	if (bpf_skb_load_bytes(skb, in + 12, &proto, sizeof(proto)) || proto != bpf_htons(PS_ETH_P_IP))
		return false;
	if (bpf_skb_load_bytes(skb, in + sizeof(struct ethhdr), &iph, sizeof(iph)))
		return false;
	if (iph.ihl < 5 || (iph.frag_off & bpf_htons(IP_MF | IP_OFFSET)))
		return false;
	if (iph.protocol != IPPROTO_TCP && iph.protocol != IPPROTO_UDP)
		return false;
	l4 = in + sizeof(struct ethhdr) + iph.ihl * 4;
	if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)))
		return false;

	k->peer = peer;
	k->proto = iph.protocol;
	if (bpf_ntohl(iph.saddr) < bpf_ntohl(iph.daddr) ||
	    (iph.saddr == iph.daddr && bpf_ntohs(ports[0]) <= bpf_ntohs(ports[1]))) {
		k->addr_lo = iph.saddr;
		k->addr_hi = iph.daddr;
		k->port_lo = ports[0];
		k->port_hi = ports[1];
	} else {
		k->addr_lo = iph.daddr;
		k->addr_hi = iph.saddr;
		k->port_lo = ports[1];
		k->port_hi = ports[0];
	}
	return true;
}

/* Ingress: remember the outer source port a peer's tenant flow arrived on. */
static __always_inline void ps_learn_ingress(struct __sk_buff *skb, __u32 l4off, __be32 peer, __be16 sport)
{
	struct ps_learn_key k = {};
	struct ps_learn_val *v;
	__u64 now;

	if (!ps_learn_key_of(skb, l4off, peer, &k))
		return;
	now = bpf_ktime_get_coarse_ns();
	v = bpf_map_lookup_elem(&ps_learn, &k);
	if (v && v->sport == sport) {
		if (now - v->seen_ns > PS_LEARN_REFRESH_NS)
			v->seen_ns = now;
		return;
	}
	struct ps_learn_val nv = { .seen_ns = now, .sport = sport };

	if (!bpf_map_update_elem(&ps_learn, &k, &nv, BPF_ANY))
		ps_count(PS_STAT_LEARN);
}

/* Egress: the outer source port the peer used for this tenant flow, or 0. */
static __always_inline __be16 ps_learned_sport(struct __sk_buff *skb, __u32 l4off, __be32 peer)
{
	struct ps_learn_key k = {};
	struct ps_learn_val *v;

	if (!ps_learn_key_of(skb, l4off, peer, &k))
		return 0;
	v = bpf_map_lookup_elem(&ps_learn, &k);
	return v ? v->sport : 0;
}

#endif /* PS_HELPERS_LEARN_H */
