/* helpers/altpath.h: AltPath's per-flow choice (DESIGN §2.4), shared by
 * altpath_dscp (marks packets) and conn_stats (tells which DSCP a closing
 * connection carried): Bob Jenkins' jhash (lookup3's hashword, as in the
 * kernel's jhash2) over the flow's 5-tuple with ps_altpath.seed, then
 * `h % 10000` against the rules' cumulative basis points, then the exclusion
 * trie. src/altpath/flow-hash.ts mirrors it bit for bit (the differential test
 * holds the two together); change both or neither.
 *
 * Flow words, each a host-order u32 (addresses and ports as read from the
 * header, byte-swapped from network order):
 *   IPv4: saddr, daddr, sport << 16 | dport, protocol             (4 words)
 *   IPv6: saddr[0..3], daddr[0..3], sport << 16 | dport, protocol (10 words)
 * saddr/sport are the sender's: the local side for a packet leaving the host
 * (altpath_dscp on egress) and for a socket (conn_stats). Needs PS_MAPS_ALTPATH
 * for ps_altpath_excluded. */
#ifndef PS_HELPERS_ALTPATH_H
#define PS_HELPERS_ALTPATH_H

#define PS_JHASH_INITVAL 0xdeadbeefu
#define PS_ALTPATH_BUCKETS 10000 /* rules are in basis points */

static __always_inline __u32 ps_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> (32 - s));
}

/* lookup3's mix() of three words */
#define PS_JHASH_MIX(a, b, c)                                                                                          \
	do {                                                                                                           \
		a -= c; a ^= ps_rol32(c, 4);  c += b;                                                                  \
		b -= a; b ^= ps_rol32(a, 6);  a += c;                                                                  \
		c -= b; c ^= ps_rol32(b, 8);  b += a;                                                                  \
		a -= c; a ^= ps_rol32(c, 16); c += b;                                                                  \
		b -= a; b ^= ps_rol32(a, 19); a += c;                                                                  \
		c -= b; c ^= ps_rol32(b, 4);  b += a;                                                                  \
	} while (0)

/* lookup3's final() */
#define PS_JHASH_FINAL(a, b, c)                                                                                        \
	do {                                                                                                           \
		c ^= b; c -= ps_rol32(b, 14);                                                                          \
		a ^= c; a -= ps_rol32(c, 11);                                                                          \
		b ^= a; b -= ps_rol32(a, 25);                                                                          \
		c ^= b; c -= ps_rol32(b, 16);                                                                          \
		a ^= c; a -= ps_rol32(c, 4);                                                                           \
		b ^= a; b -= ps_rol32(a, 14);                                                                          \
		c ^= b; c -= ps_rol32(b, 24);                                                                          \
	} while (0)

static __always_inline __u32 ps_ports_word(__be16 sport, __be16 dport)
{
	return ((__u32)bpf_ntohs(sport) << 16) | bpf_ntohs(dport);
}

/* jhash2 of the 4 IPv4 flow words (addresses as in the header). */
static __always_inline __u32 ps_altpath_hash4(__be32 saddr, __be32 daddr, __u32 ports, __u32 proto, __u32 seed)
{
	__u32 a, b, c;

	a = b = c = PS_JHASH_INITVAL + (4 << 2) + seed;
	a += bpf_ntohl(saddr);
	b += bpf_ntohl(daddr);
	c += ports;
	PS_JHASH_MIX(a, b, c);
	a += proto;
	PS_JHASH_FINAL(a, b, c);
	return c;
}

/* jhash2 of the 10 IPv6 flow words (s and d: the 4 address words as in the header). */
static __always_inline __u32 ps_altpath_hash6(const __be32 *s, const __be32 *d, __u32 ports, __u32 proto, __u32 seed)
{
	__u32 a, b, c;

	a = b = c = PS_JHASH_INITVAL + (10 << 2) + seed;
	a += bpf_ntohl(s[0]);
	b += bpf_ntohl(s[1]);
	c += bpf_ntohl(s[2]);
	PS_JHASH_MIX(a, b, c);
	a += bpf_ntohl(s[3]);
	b += bpf_ntohl(d[0]);
	c += bpf_ntohl(d[1]);
	PS_JHASH_MIX(a, b, c);
	a += bpf_ntohl(d[2]);
	b += bpf_ntohl(d[3]);
	c += ports;
	PS_JHASH_MIX(a, b, c);
	a += proto;
	PS_JHASH_FINAL(a, b, c);
	return c;
}

/* The DSCP of the first rule whose cumulative share covers h % 10000, or 0
 * (flow not selected). Shares past 10000 in total never match beyond it. */
static __always_inline __u8 ps_altpath_pick(const struct ps_altpath *cfg, __u32 h)
{
	__u32 bucket = h % PS_ALTPATH_BUCKETS;
	__u32 n = cfg->nrules, cum = 0;

#pragma unroll
	for (int i = 0; i < PS_ALTPATH_MAX_RULES; i++) {
		if (i >= n)
			break;
		cum += cfg->rule[i].basis_points;
		if (bucket < cum)
			return cfg->rule[i].dscp & 0x3f;
	}
	return 0;
}

/* Is the destination excluded? IPv4 looks up ::ffff:daddr/128. */
static __always_inline bool ps_altpath_excluded4(__be32 daddr)
{
	struct ps_lpm_key k = { .prefixlen = 128 };
	__u32 *w = (__u32 *)k.addr;

	w[2] = bpf_htonl(0x0000ffff);
	w[3] = daddr;
	return bpf_map_lookup_elem(&ps_altpath_exclude, &k) != NULL;
}

static __always_inline bool ps_altpath_excluded6(const __be32 *daddr)
{
	struct ps_lpm_key k = { .prefixlen = 128 };
	__u32 *w = (__u32 *)k.addr;

	w[0] = daddr[0];
	w[1] = daddr[1];
	w[2] = daddr[2];
	w[3] = daddr[3];
	return bpf_map_lookup_elem(&ps_altpath_exclude, &k) != NULL;
}

/* Bump a ps_altpath_stats counter (per CPU). */
static __always_inline void ps_ap_count(__u32 id)
{
	__u64 *c = bpf_map_lookup_elem(&ps_altpath_stats, &id);

	if (c)
		*c += 1;
}

#endif /* PS_HELPERS_ALTPATH_H */
