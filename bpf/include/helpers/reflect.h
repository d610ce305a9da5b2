/* helpers/reflect.h: the in-kernel reflector (DESIGN §2.3): probe_steer turns
 * a telemetry request (0x7E) from a negotiated source into its response (0x7F)
 * in place and sends it back out of the interface it arrived on, so probes are
 * answered without waking the agent. The agent keeps negotiation, sessions and
 * the bucket sizes (ps_reflect, ps_reflect_src), and answers whatever the
 * kernel leaves to it. Needs PS_MAPS_CORE, PS_MAPS_PATH, PS_MAPS_REFLECT and
 * helpers/{stats,csum,select,learn}.h. */
#ifndef PS_HELPERS_REFLECT_H
#define PS_HELPERS_REFLECT_H

#define TC_ACT_REDIRECT 7
#define PS_ETH_ALEN 6
#define PS_AF_INET 2
/* TTL of a response, as the agent's socket would send it (Linux default). */
#define PS_REFLECT_TTL 64
/* A bucket refills at most this long at once (keeps elapsed * rate inside 64 bits). */
#define PS_REFLECT_MAX_REFILL_NS 10000000000ULL
/* rate is validated by the agent to at most this many tokens per second. */
#define PS_REFLECT_MAX_RATE 100000000U

/* Fold a 64-bit one's-complement sum to 16 bits. */
static __always_inline __u16 ps_csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return ps_csum_fold((__u32)sum);
}

/*
 * Take a token from the source's bucket: CTL default when there was one, BP
 * when it was empty. The bucket holds `burst` tokens and refills at `rate`
 * per second (both from ps_reflect, sized by the agent from local CPU).
 */
static __always_inline __u8 ps_reflect_take(struct ps_reflect_src *b, __u32 rate, __u32 burst, __u64 now)
{
	__u64 cap = (__u64)burst * 1000, elapsed;
	__u8 ctl = PS_CTL_BP;

	if (rate > PS_REFLECT_MAX_RATE)
		rate = PS_REFLECT_MAX_RATE;
	bpf_spin_lock(&b->lock);
	if (!b->refill_ns || now < b->refill_ns) {
		b->tokens_milli = cap;
	} else {
		elapsed = now - b->refill_ns;
		if (elapsed > PS_REFLECT_MAX_REFILL_NS)
			elapsed = PS_REFLECT_MAX_REFILL_NS;
		/* milli-tokens: rate tokens/s = rate / 1e6 milli-tokens per ns */
		b->tokens_milli += elapsed * rate / 1000000;
		if (b->tokens_milli > cap)
			b->tokens_milli = cap;
	}
	b->refill_ns = now;
	if (b->tokens_milli >= 1000) {
		b->tokens_milli -= 1000;
		ctl = PS_CTL_DEFAULT;
	}
	b->answered += 1;
	if (ctl == PS_CTL_BP)
		b->bp += 1;
	bpf_spin_unlock(&b->lock);
	return ctl;
}

/*
 * The outer source port of the response to a request from `peer` that was
 * probed on tx_sport (host order): the port the requester asks for
 * (REPLY_PORT), else the port the data plane's own choice gives for the
 * requester's ps_path entry keyed by the probed port (as the agent's
 * Responder.returnPort does with selectPort: no pin), else the probed port
 * itself (no entry or no healthy port: source-port learning).
 */
static __always_inline __u16 ps_reflect_port(__be32 peer, __u16 tx_sport, __u8 flags, __u16 reply_port)
{
	struct ps_path_entry *e;
	bool fallback = false;
	__u64 healthy, cand;
	__u32 n;
	int idx;

	if ((flags & PS_HDR_F_REPLY_PORT) && reply_port)
		return reply_port;
	e = bpf_map_lookup_elem(&ps_path, &peer);
	if (!e)
		return tx_sport;
	n = e->nports;
	if (n < 1 || n > PS_MAX_PORTS || (__u32)e->base_port + n - 1 > 0xffff)
		return tx_sport;
	healthy = e->healthy & ps_window_mask(n);
	cand = ps_candidates(e, healthy, tx_sport, &fallback);
	idx = ps_first_set_from(cand, tx_sport % n, n);
	if (idx < 0)
		return tx_sport;
	return (__u16)(e->base_port + idx);
}

/*
 * Answer the telemetry request ph (whole header linear, in the packet at
 * data) in place and redirect it out of skb's interface: TC_ACT_REDIRECT.
 * -1: not answered here (reflector off, a request the agent must see, no
 * session); the caller delivers it to the agent as before.
 *
 * Addresses: Ethernet from the route back to the requester when it leaves by
 * this interface (bpf_fib_lookup), else swapped (the request came from that
 * next hop), IPv4 swapped, TTL
 * PS_REFLECT_TTL (header checksum updated), UDP destination kept (the
 * requester's tunnel port), source = the return port. Header: type 0x7F, CTL
 * from the bucket, REPLY_PORT cleared, mode kept to full/partial, tx_sport =
 * the return port, source VTEP = this host, backend id from ps_reflect,
 * reserved 0; sequence id, data length and reflect data untouched. UDP
 * checksum: the pseudo-header is unchanged by the swap, so a zero checksum
 * stays zero and a partial seed stays valid; a full checksum gets the one's-
 * complement difference of every changed word (RFC 1624); skb->csum of a
 * CHECKSUM_COMPLETE skb follows the bytes (bpf_csum_update), as in ps_deliver.
 */
static __always_inline int ps_reflect_request(struct __sk_buff *skb, void *data, struct iphdr *ip, struct udphdr *udp,
				      struct ps_probe_hdr *ph, __u32 l4off, const bool precise)
{
	struct ps_reflect_cfg *rc = ps_reflect_cfg();
	struct ps_probe_hdr old, nh;
	struct ps_reflect_src *src;
	struct ethhdr *eth = data;
	__u16 ret, tx, check, old_ttl_w, new_ttl_w, fixed;
	__u8 mac[PS_ETH_ALEN];
	__u32 rate, burst;
	__be32 saddr, daddr;
	__u64 diff;
	bool seed;
	__u8 ctl;

	if (!rc || !(rc->flags & PS_RF_REFLECT))
		return -1;
	__builtin_memcpy(&old, ph, sizeof(old));
	tx = bpf_ntohs(old.tx_sport);
	if (ip->ihl != 5 || old.version != PS_PROTO_VERSION || !tx || old.src_vtep != ip->saddr ||
	    bpf_ntohs(old.data_len) + sizeof(*udp) != bpf_ntohs(udp->len) ||
	    bpf_ntohs(ip->tot_len) != sizeof(*ip) + bpf_ntohs(udp->len)) {
		ps_count(PS_STAT_REFLECT_FALLBACK);
		return -1;
	}
	saddr = ip->saddr;
	daddr = ip->daddr;
	src = bpf_map_lookup_elem(&ps_reflect_src, &saddr);
	if (!src) {
		ps_count(PS_STAT_REFLECT_NO_SESSION);
		return -1;
	}
	rate = rc->rate;
	burst = rc->burst;
	ctl = ps_reflect_take(src, rate, burst, bpf_ktime_get_ns());
	ret = ps_reflect_port(saddr, tx, old.flags, bpf_ntohs(*(__be16 *)old.reserved));

	/* the seed test reads the addresses and length, which the swap keeps */
	seed = ps_csum_is_seed(skb, ip, udp, l4off, precise, false);

	__builtin_memcpy(&nh, &old, sizeof(nh));
	nh.type = PS_TYPE_TELEMETRY_RESPONSE;
	nh.mode = old.mode & PS_MODE_PROBE_MASK;
	nh.ctl = ctl;
	nh.flags = old.flags & ~PS_HDR_F_REPLY_PORT;
	nh.tx_sport = bpf_htons(ret);
	nh.src_vtep = daddr;
	__builtin_memcpy(nh.backend_id, rc->backend_id, sizeof(nh.backend_id));
	nh.reserved[0] = 0;
	nh.reserved[1] = 0;

	/* Ethernet: the next hop the routing table gives for the requester when it
	 * is on this interface (and its neighbour entry is resolved), else the next
	 * hop the request came from */
	struct bpf_fib_lookup fib = {
		.family = PS_AF_INET,
		.l4_protocol = IPPROTO_UDP,
		.tot_len = bpf_ntohs(ip->tot_len),
		.ifindex = skb->ifindex,
		.ipv4_src = daddr,
		.ipv4_dst = saddr,
	};
	if (bpf_fib_lookup(skb, &fib, sizeof(fib), 0) == BPF_FIB_LKUP_RET_SUCCESS && fib.ifindex == skb->ifindex) {
		__builtin_memcpy(eth->h_dest, fib.dmac, PS_ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib.smac, PS_ETH_ALEN);
	} else {
		__builtin_memcpy(mac, eth->h_source, PS_ETH_ALEN);
		__builtin_memcpy(eth->h_source, eth->h_dest, PS_ETH_ALEN);
		__builtin_memcpy(eth->h_dest, mac, PS_ETH_ALEN);
	}

	/* IPv4: swap, fresh TTL; the header sum only changes with the TTL word */
	old_ttl_w = *(__u16 *)&ip->ttl;
	ip->ttl = PS_REFLECT_TTL;
	new_ttl_w = *(__u16 *)&ip->ttl;
	ip->saddr = daddr;
	ip->daddr = saddr;
	ip->check = (__u16)~ps_csum_fold(ps_csum_diff16(old_ttl_w, new_ttl_w) + (__u16)~ip->check);

	/* UDP and the pathsteer header */
	diff = (__u32)bpf_csum_diff((__be32 *)&old, sizeof(old), (__be32 *)&nh, sizeof(nh), 0);
	diff += ps_csum_diff16(udp->source, nh.tx_sport);
	check = udp->check;
	if (check && !seed) {
		fixed = (__u16)~ps_csum_fold64((__u64)(__u16)~check + diff);
		if (!fixed)
			fixed = 0xffff;
		udp->check = fixed;
		diff += ps_csum_diff16(check, fixed);
	}
	udp->source = nh.tx_sport;
	__builtin_memcpy(ph, &nh, sizeof(nh));
	fixed = ps_csum_fold64(diff);
	if (fixed && fixed != 0xffff)
		bpf_csum_update(skb, fixed);

	ps_count(PS_STAT_REFLECT_TX);
	if (ctl == PS_CTL_BP)
		ps_count(PS_STAT_REFLECT_BP);
	return bpf_redirect(skb->ifindex, 0);
}

#endif /* PS_HELPERS_REFLECT_H */
