/* helpers/flow_cache.h: per-peer activity (ps_activity) and the per-CPU flow
 * cache (ps_flow_cache) that lets vxlan_sport skip the ps_path/ps_pin lookups
 * and the ps_activity update for every packet of a flow after the first.
 * Needs PS_MAPS_PATH and helpers/stats.h. */
#ifndef PS_HELPERS_FLOW_CACHE_H
#define PS_HELPERS_FLOW_CACHE_H

/* Add packets/bytes/ports seen at time ts to peer's ps_activity (this CPU's
 * copy). last_seen_ns only moves forward (a flush of older pending counts
 * does not make an idle peer look active). */
static __always_inline void ps_activity_add(__be32 peer, __u64 ts, __u64 packets, __u64 bytes, __u64 ports)
{
	struct ps_activity *a = bpf_map_lookup_elem(&ps_activity, &peer);

	if (a) {
		if (ts > a->last_seen_ns)
			a->last_seen_ns = ts;
		a->packets += packets;
		a->bytes += bytes;
		a->ports_in_use |= ports;
		return;
	}
	struct ps_activity fresh = { .last_seen_ns = ts, .packets = packets, .bytes = bytes, .ports_in_use = ports };

	if (bpf_map_update_elem(&ps_activity, &peer, &fresh, BPF_ANY))
		ps_count(PS_STAT_ACTIVITY_ERR);
}

/* h is already a well-mixed 32-bit hash; fold the peer in so that one flow
 * hash of many peers does not crowd into one slot. */
static __always_inline __u32 ps_flow_slot_of(__be32 peer, __u32 h)
{
	return (h ^ (((__u32)peer * 0x9e3779b1u) >> 16)) & (PS_FLOW_CACHE_SLOTS - 1);
}

static __always_inline __u64 ps_slot_ports(const struct ps_flow_slot *s)
{
	return s->outcome == PS_STAT_STEERED ? 1ULL << (s->idx & 63) : 0;
}

/*
 * Once per tick and active slot: hand the pending counts to ps_activity, and
 * keep the flow's pin alive. Cache hits do not touch ps_pin, so without this a
 * long-lived pinned flow's pin would age out of the LRU and the next miss
 * (after any table change) would choose afresh. The pin found there is the
 * one every CPU follows: if it names another port (evicted and re-chosen by a
 * CPU without this slot), this slot is dropped and the next packet follows
 * the pin; if it is gone, it is written back (BPF_NOEXIST: a fresher one wins).
 */
static __always_inline void ps_slot_flush(struct ps_flow_slot *s, __u64 jiffies)
{
	__u64 now = bpf_ktime_get_coarse_ns();

	ps_activity_add(s->peer, now, s->pending_packets, s->pending_bytes, ps_slot_ports(s));
	s->pending_packets = 0;
	s->pending_bytes = 0;
	s->flushed_jiffies = jiffies;
	s->flushed_ns = now;
	ps_count(PS_STAT_CACHE_FLUSH);

	if (s->outcome == PS_STAT_STEERED) {
		__be32 peer = s->peer;
		struct ps_path_entry *e = bpf_map_lookup_elem(&ps_path, &peer);

		if (e && (e->flags & PS_F_PIN)) {
			struct ps_pin_key pk = { .peer = peer, .flow_hash = s->flow_hash };
			struct ps_pin_val *pv = bpf_map_lookup_elem(&ps_pin, &pk);

			if (!pv) {
				struct ps_pin_val nv = { .idx = s->idx };

				if (!bpf_map_update_elem(&ps_pin, &pk, &nv, BPF_NOEXIST))
					ps_count(PS_STAT_CACHE_REPIN);
			} else if (pv->idx != s->idx) {
				s->outcome = 0;
			}
		}
	}
}

/* A miss: take over the slot for (peer, h) with the decision just made. The
 * previous occupant's pending counts (another flow, or this flow under an
 * older path_gen) go to its own peer first, stamped with the tick they were
 * counted in. */
static __always_inline void ps_slot_fill(struct ps_flow_slot *s, __be32 peer, __u32 h, __u32 gen, __be16 sport, int idx,
					 __u8 outcome, __u64 now)
{
	if (s->outcome && s->pending_packets)
		ps_activity_add(s->peer, s->flushed_ns, s->pending_packets, s->pending_bytes, ps_slot_ports(s));
	s->peer = peer;
	s->flow_hash = h;
	s->gen = gen;
	s->sport = sport;
	s->idx = idx >= 0 ? (__u8)idx : 0;
	s->outcome = outcome;
	s->flushed_jiffies = bpf_jiffies64();
	s->flushed_ns = now;
	s->pending_packets = 0;
	s->pending_bytes = 0;
}

#endif /* PS_HELPERS_FLOW_CACHE_H */
