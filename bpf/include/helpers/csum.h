/* helpers/csum.h: one's-complement helpers for rewriting header and payload
 * words in place (vxlan_sport's source port, probe_steer's destination port
 * and TTL stash, altpath_dscp's IPv4 TOS), and telling a full checksum from a
 * partial seed. All 16-bit values are raw (as loaded from the packet);
 * one's-complement sums do not care about byte order as long as every term
 * uses the same one. */
#ifndef PS_HELPERS_CSUM_H
#define PS_HELPERS_CSUM_H

static __always_inline __u16 ps_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a checksum where 0 is an
 * ordinary value (the IPv4 header's). */
static __always_inline __u16 ps_csum_update16(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u16)~old + (__u32)new;

	return (__u16)~ps_csum_fold(sum);
}

/* The same for UDP: a result of 0 is sent as 0xffff, because 0 means "no
 * checksum" in UDP (RFC 768). */
static __always_inline __u16 ps_csum_replace16(__u16 check, __u16 old, __u16 new)
{
	__u16 res = ps_csum_update16(check, old, new);

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

/* One's-complement difference of replacing 16-bit word old by new, unfolded
 * (sum several, fold once); what bpf_csum_update() adds to skb->csum. */
static __always_inline __u32 ps_csum_diff16(__u16 old, __u16 new)
{
	return (__u16)~old + (__u32)new;
}

/* Linux >= 6.2. Weak: the *_compat programs never call it, so they load on
 * older kernels (the loader picks the build, see src/maps/dataplane.ts). */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

/*
 * Does uh->check hold a partial seed (pseudo-header sum) that the NIC, the
 * stack's checksum fallback or GSO completes over the UDP header later? Then
 * the header is simply written. Otherwise it is a full checksum (computed in
 * software, or by local checksum offload when the *inner* packet is the one
 * left CHECKSUM_PARTIAL) and must be updated, which bpf_l4_csum_replace() does
 * not do for CHECKSUM_PARTIAL skbs.
 *
 * precise: read ip_summed/csum_start from the kernel sk_buff; on egress a GSO
 * packet's outer checksum is also finished by segmentation (on ingress a GSO
 * skb is a GRO aggregate whose field is not a seed). compat (kernels without
 * bpf_cast_to_kern_ctx): a seed equals the pseudo-header sum; a full checksum
 * matches it by chance with probability 2^-16.
 */
static __always_inline bool ps_csum_is_seed(struct __sk_buff *skb, const struct iphdr *ip, const struct udphdr *udp,
					    __u32 l4off, const bool precise, const bool egress)
{
	if (precise) {
		struct sk_buff *k;

		if (egress && skb->gso_size)
			return true; /* GSO: segmentation finishes the outer checksum */
		k = bpf_cast_to_kern_ctx(skb);
		if (BPF_CORE_READ_BITFIELD(k, ip_summed) != PS_CHECKSUM_PARTIAL)
			return false;
		return k->csum_start == (__u16)((long)k->data - (long)k->head + l4off);
	}
	return udp->check == ps_udp_pseudo_seed(ip, udp);
}

#endif /* PS_HELPERS_CSUM_H */
