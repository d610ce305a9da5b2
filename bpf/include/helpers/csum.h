/* helpers/csum.h: one's-complement helpers for rewriting the outer UDP source
 * port. All 16-bit values are raw (as loaded from the packet); one's-complement
 * sums do not care about byte order as long as every term uses the same one. */
#ifndef PS_HELPERS_CSUM_H
#define PS_HELPERS_CSUM_H

static __always_inline __u16 ps_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). A result of 0 is sent as 0xffff,
 * because 0 means "no checksum" in UDP (RFC 768). */
static __always_inline __u16 ps_csum_replace16(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u16)~old + (__u32)new;
	__u16 res = (__u16)~ps_csum_fold(sum);

	return res ? res : 0xffff;
}

/* The UDP pseudo-header sum the kernel stores in uh->check when it leaves the
 * rest of the checksum to the NIC or to GSO (~udp_v4_check(len, s, d, 0)). */
static __always_inline __u16 ps_udp_pseudo_seed(const struct iphdr *ip, const struct udphdr *udp)
{
	__u32 s = ip->saddr, d = ip->daddr;
	__u32 sum = (s & 0xffff) + (s >> 16) + (d & 0xffff) + (d >> 16) + (__u32)bpf_htons(IPPROTO_UDP) + (__u32)udp->len;

	return ps_csum_fold(sum);
}

#endif /* PS_HELPERS_CSUM_H */
