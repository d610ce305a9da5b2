/* helpers/select.h: O(1) port choice over a 64-bit window (DESIGN §2.2):
 * rotate the candidate bitmap so bit `start` is bit 0, take the lowest set bit.
 * No loops: clang 14 cannot lower __builtin_ctzll for BPF (it crashes), so
 * count-trailing-zeros is popcount(lowest_bit - 1) with a SWAR popcount. */
#ifndef PS_HELPERS_SELECT_H
#define PS_HELPERS_SELECT_H

static __always_inline __u64 ps_window_mask(__u32 nports)
{
	return nports >= 64 ? ~0ULL : ((1ULL << nports) - 1);
}

static __always_inline __u32 ps_popcount64(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (__u32)((x * 0x0101010101010101ULL) >> 56);
}

/* Number of trailing zero bits; x must be non-zero. */
static __always_inline __u32 ps_ctz64(__u64 x)
{
	return ps_popcount64((x & (~x + 1)) - 1);
}

/* First set bit of `bits` (within the n-bit window) at or after `start`,
 * cyclically; -1 when bits is 0. 1 <= n <= 64, start < n. */
static __always_inline int ps_first_set_from(__u64 bits, __u32 start, __u32 n)
{
	__u64 rot = bits;
	__u32 idx;

	if (!bits)
		return -1;
	/* both shift counts are in 1..63 here */
	if (start)
		rot = ((bits >> start) | (bits << (n - start))) & ps_window_mask(n);
	idx = start + ps_ctz64(rot);
	if (idx >= n)
		idx -= n;
	return (int)idx;
}

/* Candidate ports for flow hash h before pinning: stateful -> the flow's group
 * (falling back to all healthy), else preferred & healthy when PS_F_PREFER and
 * non-empty, else healthy. *fallback is set when a stateful group was empty. */
static __always_inline __u64 ps_candidates(const struct ps_path_entry *e, __u64 healthy, __u32 h, bool *fallback)
{
	__u32 ngroups = e->ngroups;

	if ((e->flags & PS_F_STATEFUL) && ngroups > 0) {
		__u64 c;
		__u32 g;

		if (ngroups > PS_MAX_GROUPS)
			ngroups = PS_MAX_GROUPS;
		g = h % ngroups;
		/* g < ngroups <= 8 already; hide that from clang so the mask that
		 * tells the verifier survives optimisation */
		ps_barrier_var(g);
		g &= PS_MAX_GROUPS - 1;
		c = healthy & e->group_mask[g];
		if (c)
			return c;
		*fallback = true;
		return healthy;
	}
	if (e->flags & PS_F_PREFER) {
		__u64 p = healthy & e->preferred;

		if (p)
			return p;
	}
	return healthy;
}

#endif /* PS_HELPERS_SELECT_H */
