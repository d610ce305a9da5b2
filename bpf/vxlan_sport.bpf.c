/* vxlan_sport.bpf.c: TC egress on the underlay NIC (DESIGN §2.2). Probe packets
 * get the outer source port their header asks for; tunnel packets get a healthy
 * port from the peer's ps_path window (pinned per flow), and the peer's
 * ps_activity is updated, both through a per-CPU flow cache (ps_flow_cache);
 * in the middlebox role, a tenant flow whose peer's port probe_steer learned
 * goes back on that port (helpers/learn.h). Anything else passes untouched.
 * Declares every map probe_steer uses, so attach pins them all from here. */
#define PS_MAPS_CORE
#define PS_MAPS_PATH
#define PS_MAPS_REFLECT
#include "helpers/common.h"
#include "pathsteer_maps.h"
#include "helpers/stats.h"
#include "helpers/flow_hash.h"
#include "helpers/select.h"
#include "helpers/csum.h"
#include "helpers/flow_cache.h"
#include "helpers/parse.h"
#include "helpers/learn.h"

/* GPL-compatible: kfuncs (bpf_cast_to_kern_ctx) need it. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set the outer source port (network order) and keep the checksum right. */
static __always_inline void ps_write_sport(struct __sk_buff *skb, const struct iphdr *ip, struct udphdr *udp, __u32 l4off,
					   __be16 sport, const bool precise)
{
	__u16 check = udp->check;

	if (!check) {
		ps_count(PS_STAT_CSUM_ZERO);
	} else if (ps_csum_is_seed(skb, ip, udp, l4off, precise, true)) {
		ps_count(PS_STAT_CSUM_SEED);
	} else {
		udp->check = ps_csum_replace16(check, udp->source, sport);
		ps_count(PS_STAT_CSUM_FIXED);
	}
	udp->source = sport;
	/* The skb still carries the hash the vxlan driver derived its port from
	 * (l4_hash). Anything that reuses it (ECMP in a forwarding namespace, bond
	 * encap3+4, XPS) would route by the old port; make it hash the headers. */
	bpf_set_hash_invalid(skb);
}

/* The window index chosen for flow h of peer, or -1 (packet unchanged);
 * *outcome gets the per-packet counter (NO_ENTRY, BAD_ENTRY, NO_HEALTHY or
 * STEERED), *base the entry's base port. Counts the per-decision counters. */
static __always_inline int ps_choose(__be32 peer, __u32 h, __u16 *base, __u8 *outcome)
{
	struct ps_path_entry *e = bpf_map_lookup_elem(&ps_path, &peer);
	struct ps_pin_val *pv = NULL;
	struct ps_pin_key pk = {};
	bool fallback = false;
	__u64 healthy, cand;
	__u32 n;
	int idx;

	if (!e) {
		*outcome = PS_STAT_NO_ENTRY;
		return -1;
	}
	n = e->nports;
	/* every port of the window must be a port number (base + n - 1 <= 65535) */
	if (n < 1 || n > PS_MAX_PORTS || (__u32)e->base_port + n - 1 > 0xffff) {
		*outcome = PS_STAT_BAD_ENTRY;
		return -1;
	}
	*base = e->base_port;
	healthy = e->healthy & ps_window_mask(n);

	if (e->flags & PS_F_PIN) {
		pk.peer = peer;
		pk.flow_hash = h;
		pv = bpf_map_lookup_elem(&ps_pin, &pk);
		if (pv) {
			__u32 p = pv->idx;

			if (p < n && ((healthy >> p) & 1)) {
				ps_count(PS_STAT_PIN_HIT);
				*outcome = PS_STAT_STEERED;
				return (int)p;
			}
		}
	}

	cand = ps_candidates(e, healthy, h, &fallback);
	if (fallback)
		ps_count(PS_STAT_GROUP_FALLBACK);
	idx = ps_first_set_from(cand, h % n, n);
	if (idx < 0) {
		*outcome = PS_STAT_NO_HEALTHY;
		return -1;
	}

	if (e->flags & PS_F_PIN) {
		if (pv) {
			pv->idx = (__u8)idx;
			ps_count(PS_STAT_PIN_MOVED);
		} else {
			struct ps_pin_val nv = { .idx = (__u8)idx };

			if (bpf_map_update_elem(&ps_pin, &pk, &nv, BPF_ANY))
				ps_count(PS_STAT_PIN_ERR);
			else
				ps_count(PS_STAT_PIN_NEW);
		}
	}
	*outcome = PS_STAT_STEERED;
	return idx;
}

/* Set by the loader before load: 1 = no flow cache (every packet takes the
 * full path, as before the cache; `pathsteer attach --no-flow-cache` and the
 * benchmark's uncached figure). The verifier drops the dead branch. */
const volatile __u32 ps_no_flow_cache = 0;

/*
 * A tunnel packet: the outer sport for flow h of peer (DESIGN §2.2). The
 * decision depends only on (ps_path[peer], ps_pin[peer, h], h), so it is
 * cached per CPU in ps_flow_cache until user space changes either table,
 * which it always follows by advancing ps_config.path_gen (src/maps does it
 * for every write; bpf/path_gen.bpf.c does it atomically). gen is read
 * before any table lookup, so a slot can be tagged with an older generation
 * than the tables it saw, never a newer one: a change that lands during a
 * miss makes the slot stale, not wrong-and-current.
 *
 * Hit: count the packet in the slot; when the tick (jiffies) moved on, flush
 * the slot's counts into ps_activity first (so ps_activity lags at most one
 * tick; src/maps adds the pending counts when it reads). Miss: the full path
 * (ps_path, ps_pin, choice, pin write, ps_activity), then take the slot.
 *
 * A flooded broadcast/multicast frame (bum): steered like any packet, but
 * neither cached nor counted as activity: flooding reaches every VTEP, and
 * the agent must probe only the peers a host really talks to (on-demand
 * probing, ZooRoute §4.1). It is looked for only on a miss (reading the
 * inner MAC costs a helper call, a third of a hit): a hit means a unicast
 * flow to this peer with the same outer port filled the slot, so the peer is
 * active anyway and a flooded frame that shares it is steered the same; its
 * one packet counted as activity changes nothing the agent decides.
 */
static __always_inline void ps_tunnel(struct __sk_buff *skb, const struct iphdr *ip, struct udphdr *udp, __u32 l4off,
				      const struct ps_config *cfg, const bool precise, const bool geneve)
{
	__u32 gen = *(volatile const __u32 *)&cfg->path_gen;
	__u32 h = ps_flow_hash(bpf_ntohs(udp->source), cfg->hash_seed);
	__be32 peer = ip->daddr;
	struct ps_flow_slot *s = NULL;
	__be16 sport = 0;
	__u8 outcome = 0;
	__u16 base = 0;
	bool bum;
	__u64 now;
	int idx;

	if (!ps_no_flow_cache) {
		__u32 slot = ps_flow_slot_of(peer, h);

		s = bpf_map_lookup_elem(&ps_flow_cache, &slot);
		if (s && s->outcome && s->peer == peer && s->flow_hash == h && s->gen == gen) {
			__u64 j = bpf_jiffies64();

			if (j != s->flushed_jiffies)
				ps_slot_flush(s, j);
			if (s->outcome) { /* still valid after the flush looked at the pin */
				s->pending_packets += 1;
				s->pending_bytes += skb->len;
				ps_count(PS_STAT_CACHE_HIT);
				ps_count(s->outcome);
				sport = s->sport;
				goto write;
			}
		}
	}

	bum = ps_inner_is_bum(skb, l4off, geneve);
	if (s) {
		if (bum)
			s = NULL; /* neither cached nor counted as a miss */
		else
			ps_count(PS_STAT_CACHE_MISS);
	}
	idx = ps_choose(peer, h, &base, &outcome);
	ps_count(outcome);
	if (idx >= 0)
		sport = bpf_htons((__u16)(base + idx));
	if (bum) {
		ps_count(PS_STAT_FLOOD);
		goto write;
	}
	/* coarse clock (tick resolution) is plenty for idle detection and costs
	 * about a fifth of ps_activity_add less than bpf_ktime_get_ns() */
	now = bpf_ktime_get_coarse_ns();
	ps_activity_add(peer, now, 1, skb->len, idx >= 0 ? 1ULL << (idx & 63) : 0);
	if (s)
		ps_slot_fill(s, peer, h, gen, sport, idx, outcome, now);

write:
	if (sport && sport != udp->source) {
		ps_write_sport(skb, ip, udp, l4off, sport, precise);
		ps_count(PS_STAT_REWRITTEN);
	}
}

static __always_inline int ps_sport_egress(struct __sk_buff *skb, const bool precise)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ps_tunnel_pkt t;
	struct ps_probe_hdr *ph;
	struct udphdr *udp;
	struct iphdr *ip;

	if (!ps_parse_tunnel(data, data_end, &t))
		return TC_ACT_OK;
	ip = t.ip;
	udp = t.udp;

	/* 1. probe: the header says which source port the packet must carry */
	ph = (void *)(udp + 1);
	if ((void *)ph + 3 <= data_end && ph->magic[0] == PS_MAGIC0 && ph->magic[1] == PS_MAGIC1 &&
	    ph->magic[2] == PS_MAGIC2) {
		if ((void *)(ph + 1) > data_end || !ph->tx_sport) {
			ps_count(PS_STAT_PROBE_INVALID);
			return TC_ACT_OK;
		}
		if (ph->tx_sport != udp->source)
			ps_write_sport(skb, ip, udp, t.l4off, ph->tx_sport, precise);
		ps_count(PS_STAT_PROBE_STAMPED);
		return TC_ACT_OK;
	}

	ps_count(PS_STAT_TUNNEL);

	/* middlebox role: the port the peer used for this flow (source-port learning) */
	if (udp->dest == bpf_htons(t.cfg->vxlan_port)) {
		struct ps_reflect_cfg *rc = ps_reflect_cfg();

		if (rc && (rc->flags & PS_RF_LEARN)) {
			__be16 learned = ps_learned_sport(skb, t.l4off, ip->daddr);

			if (learned) {
				if (learned != udp->source) {
					ps_write_sport(skb, ip, udp, t.l4off, learned, precise);
					ps_count(PS_STAT_REWRITTEN);
				}
				ps_count(PS_STAT_LEARNED_TX);
				return TC_ACT_OK;
			}
		}
	}

	/* 2. tunnel packet: a healthy port for this flow from the peer's window,
	 * 3. and the peer's activity (the agent learns active peers and ports) */
	ps_tunnel(skb, ip, udp, t.l4off, t.cfg, precise, udp->dest == bpf_htons(t.cfg->geneve_port));
	return TC_ACT_OK;
}

/* Reads the skb's checksum state from the kernel (Linux >= 6.2). */
SEC("tc")
int vxlan_sport(struct __sk_buff *skb)
{
	return ps_sport_egress(skb, true);
}

/* Same, for kernels without bpf_cast_to_kern_ctx (see ps_csum_is_seed). */
SEC("tc")
int vxlan_sport_compat(struct __sk_buff *skb)
{
	return ps_sport_egress(skb, false);
}
