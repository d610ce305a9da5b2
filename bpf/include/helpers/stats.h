/* helpers/stats.h: bump a ps_stats counter (per-CPU, no atomics needed). */
#ifndef PS_HELPERS_STATS_H
#define PS_HELPERS_STATS_H

static __always_inline void ps_count(__u32 id)
{
	__u64 *c = bpf_map_lookup_elem(&ps_stats, &id);

	if (c)
		*c += 1;
}

#endif /* PS_HELPERS_STATS_H */
