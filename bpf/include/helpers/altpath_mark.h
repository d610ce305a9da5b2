/* helpers/altpath_mark.h: altpath_dscp's packet path (DESIGN §2.4): parse an
 * IPv4/IPv6 TCP or UDP packet, decide its flow's DSCP (helpers/altpath.h:
 * hash, rules, exclusions) or take the decision from the per-CPU flow cache
 * (ps_altpath_cache), respect only_unmarked, rewrite the DSCP bits with the
 * checksum kept right, count the outcome in ps_altpath_stats. Kept in a
 * header so the benchmark's test-only wrapper (bpf/testing/altpath_bench.bpf.c)
 * runs exactly this code. Needs PS_MAPS_ALTPATH, PS_MAPS_ALTPATH_CACHE,
 * helpers/altpath.h and helpers/csum.h; defines ps_altpath_no_cache. */
#ifndef PS_HELPERS_ALTPATH_MARK_H
#define PS_HELPERS_ALTPATH_MARK_H

/* Set by the loader before load: 1 = no flow cache (every packet is decided
 * afresh; the benchmark's uncached figure, and the tests of both builds). */
const volatile __u32 ps_altpath_no_cache = 0;

/* Cache slot of a flow: multiplicative hashing of a cheap fold of its words
 * (the slot only has to spread flows; the slot itself says whose it is). */
static __always_inline __u32 ps_altpath_slot_of(__u32 fold)
{
	return (fold * 0x9e3779b1u) >> (32 - 10) & (PS_ALTPATH_CACHE_SLOTS - 1);
}

/*
 * The flow's DSCP (0: leave its packets alone), counting MARKED, EXCLUDED or
 * UNSELECTED. gen is read before the rules and the trie, so a slot is never
 * tagged with a newer generation than what it was decided under (a change
 * landing during a miss leaves the slot stale, not wrong and current).
 */
static __always_inline __u8 ps_altpath_decide(const struct ps_altpath *cfg, __u8 family, const __be32 *s, const __be32 *d,
					      __be32 raw_ports, __u8 proto)
{
	__u32 gen = *(volatile const __u32 *)&cfg->gen;
	struct ps_altpath_slot *slot = NULL;
	__u8 dscp, outcome;
	__u32 h;

	if (!ps_altpath_no_cache && gen) {
		__u32 fold = s[0] ^ d[0] ^ raw_ports, idx;

		if (family == 6)
			fold ^= s[1] ^ s[2] ^ s[3] ^ d[1] ^ d[2] ^ d[3];
		idx = ps_altpath_slot_of(fold);
		slot = bpf_map_lookup_elem(&ps_altpath_cache, &idx);
		if (slot && slot->gen == gen && slot->ports == raw_ports && slot->saddr[0] == s[0] && slot->daddr[0] == d[0] &&
		    slot->family == family && slot->proto == proto &&
		    (family == 4 || (slot->saddr[1] == s[1] && slot->saddr[2] == s[2] && slot->saddr[3] == s[3] &&
				     slot->daddr[1] == d[1] && slot->daddr[2] == d[2] && slot->daddr[3] == d[3]))) {
			ps_ap_count(slot->outcome);
			return slot->dscp;
		}
		ps_ap_count(PS_AP_STAT_CACHE_MISS);
	}

	if (family == 4)
		h = ps_altpath_hash4(s[0], d[0], bpf_ntohl(raw_ports), proto, cfg->seed);
	else
		h = ps_altpath_hash6(s, d, bpf_ntohl(raw_ports), proto, cfg->seed);
	dscp = ps_altpath_pick(cfg, h);
	outcome = PS_AP_STAT_UNSELECTED;
	if (dscp) {
		if (family == 4 ? ps_altpath_excluded4(d[0]) : ps_altpath_excluded6(d)) {
			outcome = PS_AP_STAT_EXCLUDED;
			dscp = 0;
		} else {
			outcome = PS_AP_STAT_MARKED;
		}
	}
	if (slot) {
		slot->saddr[0] = s[0];
		slot->daddr[0] = d[0];
		if (family == 6) {
			slot->saddr[1] = s[1];
			slot->saddr[2] = s[2];
			slot->saddr[3] = s[3];
			slot->daddr[1] = d[1];
			slot->daddr[2] = d[2];
			slot->daddr[3] = d[3];
		}
		slot->ports = raw_ports;
		slot->gen = gen;
		slot->family = family;
		slot->proto = proto;
		slot->dscp = dscp;
		slot->outcome = outcome;
	}
	ps_ap_count(outcome);
	return dscp;
}

/* The first four bytes of the L4 header at l4 / l4off (source and
 * destination port for both TCP and UDP) as they are in the packet, read
 * directly when linear, else copied out. bpf_ntohl() of it is the flow's
 * `sport << 16 | dport` word; the cache compares it raw. */
static __always_inline bool ps_l4_ports(struct __sk_buff *skb, void *l4, void *data_end, __u32 l4off, __be32 *raw)
{
	if (l4 + 4 <= data_end) {
		*raw = *(__be32 *)l4;
		return true;
	}
	return bpf_skb_load_bytes(skb, l4off, raw, sizeof(*raw)) == 0;
}

static __always_inline void ps_mark4(struct __sk_buff *skb, const struct ps_altpath *cfg, struct iphdr *ip, void *data_end)
{
	__u8 tos = ip->tos, cur = tos >> 2, dscp, ntos;
	__be32 s[1], d[1], ports;
	__be16 old, new;

	if (cur && cfg->only_unmarked) {
		ps_ap_count(PS_AP_STAT_PREMARKED);
		return;
	}
	if (ip->ihl < 5 || (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) ||
	    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) ||
	    !ps_l4_ports(skb, (void *)ip + ip->ihl * 4, data_end, sizeof(struct ethhdr) + ip->ihl * 4, &ports)) {
		ps_ap_count(PS_AP_STAT_SKIPPED);
		return;
	}
	s[0] = ip->saddr;
	d[0] = ip->daddr;
	dscp = ps_altpath_decide(cfg, 4, s, d, ports, ip->protocol);
	if (!dscp || dscp == cur)
		return;
	/* The first header word holds version/ihl and tos: change tos (ECN bits
	 * kept) and update the header checksum by the word's difference (RFC
	 * 1624; the IPv4 header checksum is always complete, never offloaded).
	 * The new word is computed, not re-read: clang takes the u8 store and a
	 * u16 load of the same bytes for independent accesses. */
	ntos = (dscp << 2) | (tos & 3);
	old = *(__be16 *)ip;
	new = bpf_htons((bpf_ntohs(old) & 0xff00) | ntos);
	ip->tos = ntos;
	ip->check = ps_csum_update16(ip->check, old, new);
}

static __always_inline void ps_mark6(struct __sk_buff *skb, const struct ps_altpath *cfg, struct ipv6hdr *ip6, void *data_end)
{
	__be32 *w = (__be32 *)ip6, old = *w, new, ports;
	__u32 first = bpf_ntohl(old);
	__u8 cur = (first >> 22) & 0x3f, dscp; /* traffic class is bits 20..27, DSCP its upper six */
	__u8 nexthdr = ip6->nexthdr;

	if (cur && cfg->only_unmarked) {
		ps_ap_count(PS_AP_STAT_PREMARKED);
		return;
	}
	/* only a TCP or UDP header right after the fixed header: with extension
	 * headers (fragments among them) the flow is left alone */
	if ((nexthdr != IPPROTO_TCP && nexthdr != IPPROTO_UDP) ||
	    !ps_l4_ports(skb, ip6 + 1, data_end, sizeof(struct ethhdr) + sizeof(*ip6), &ports)) {
		ps_ap_count(PS_AP_STAT_SKIPPED);
		return;
	}
	dscp = ps_altpath_decide(cfg, 6, ip6->saddr.in6_u.u6_addr32, ip6->daddr.in6_u.u6_addr32, ports, nexthdr);
	if (!dscp || dscp == cur)
		return;
	new = bpf_htonl((first & ~(0x3fu << 22)) | ((__u32)dscp << 22));
	*w = new;
	/* IPv6 has no header checksum; a CHECKSUM_COMPLETE skb's csum (ingress
	 * only) follows the changed bytes */
	bpf_csum_update(skb, (~(__u32)old & 0xffff) + (~(__u32)old >> 16) + (new & 0xffff) + (new >> 16));
}

/* The whole of altpath_dscp: mark the packet in skb if its flow is selected
 * (altpath_dscp.bpf.c is this and nothing else). */
static __always_inline void ps_altpath_mark(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ps_altpath *cfg;
	__u32 zero = 0;

	if ((void *)(eth + 1) > data_end)
		return;
	cfg = bpf_map_lookup_elem(&ps_altpath, &zero);
	if (!cfg || !cfg->nrules)
		return;

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end) {
			ps_ap_count(PS_AP_STAT_SKIPPED);
			return;
		}
		ps_mark4(skb, cfg, ip, data_end);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end) {
			ps_ap_count(PS_AP_STAT_SKIPPED);
			return;
		}
		ps_mark6(skb, cfg, ip6, data_end);
	}
}

#endif /* PS_HELPERS_ALTPATH_MARK_H */
