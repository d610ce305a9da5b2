/* helpers/parse.h: the parse both TC programs start with: Ethernet, IPv4 (not
 * a fragment), UDP to one of ps_config's tunnel ports. Needs PS_MAPS_CORE. */
#ifndef PS_HELPERS_PARSE_H
#define PS_HELPERS_PARSE_H

/* What ps_parse_tunnel found: pointers into the linear data it was given. */
struct ps_tunnel_pkt {
	struct iphdr *ip;
	struct udphdr *udp;
	struct ps_config *cfg;
	__u32 l4off; /* offset of the UDP header from the start of the frame */
};

/*
 * Is the frame in [data, data_end) IPv4/UDP (not a fragment, whole UDP header
 * linear) to ps_config's vxlan_port or geneve_port? Then fill *t and return
 * true; otherwise (or with no ps_config) the packet is not ours: false.
 */
static __always_inline bool ps_parse_tunnel(void *data, void *data_end, struct ps_tunnel_pkt *t)
{
	struct ethhdr *eth = data;
	struct ps_config *cfg;
	struct udphdr *udp;
	struct iphdr *ip;
	__u32 l4off, zero = 0;
	__u16 dport;

	if ((void *)(eth + 1) > data_end)
		return false;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return false;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return false;
	if (ip->protocol != IPPROTO_UDP || ip->ihl < 5 || (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
		return false;
	l4off = sizeof(*eth) + ip->ihl * 4;
	udp = data + l4off;
	if ((void *)(udp + 1) > data_end)
		return false;

	cfg = bpf_map_lookup_elem(&ps_config, &zero);
	if (!cfg)
		return false;
	dport = bpf_ntohs(udp->dest);
	if (!dport || (dport != cfg->vxlan_port && dport != cfg->geneve_port))
		return false;

	t->ip = ip;
	t->udp = udp;
	t->cfg = cfg;
	t->l4off = l4off;
	return true;
}

/*
 * Does the tunnel packet whose outer UDP header is at l4off carry a frame to
 * a broadcast or multicast MAC (bit 0 of the first destination byte)? Such
 * frames (ARP requests, unknown unicast is not among them) are flooded to
 * every VTEP by head-end replication, so they say nothing about which peers a
 * host really talks to. VXLAN: inner frame after the 8-byte header; Geneve:
 * after 8 bytes plus opt_len * 4 of options. Unreadable: false.
 */
static __always_inline bool ps_inner_is_bum(struct __sk_buff *skb, __u32 l4off, bool geneve)
{
	__u32 off = l4off + sizeof(struct udphdr) + 8;
	__u8 b;

	if (geneve) {
		if (bpf_skb_load_bytes(skb, l4off + sizeof(struct udphdr), &b, 1))
			return false;
		off += (b & 0x3f) * 4;
	}
	if (bpf_skb_load_bytes(skb, off, &b, 1))
		return false;
	return b & 1;
}

#endif /* PS_HELPERS_PARSE_H */
