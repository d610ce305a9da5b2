/* altpath_dscp.bpf.c: TC egress (DESIGN §2.4, Edge Fabric §6.2.1). Marks a
 * configured share of flows with AltPath DSCP values, so peering routers send
 * them through alternate routing tables: every IPv4/IPv6 TCP or UDP packet is
 * hashed by its 5-tuple (helpers/altpath.h, the same choice conn_stats makes),
 * and a flow whose hash falls in a rule's share gets that rule's DSCP unless
 * it already carries one (only_unmarked) or its destination is excluded.
 * Anything else passes untouched. Returns TC_ACT_UNSPEC so filters after it
 * on the same hook (vxlan_sport) still run. */
#define PS_MAPS_ALTPATH
#define PS_MAPS_ALTPATH_CACHE
#include "helpers/common.h"
#include "pathsteer_maps.h"
#include "helpers/altpath.h"
#include "helpers/csum.h"
#include "helpers/altpath_mark.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The packet path is helpers/altpath_mark.h. */
SEC("tc")
int altpath_dscp(struct __sk_buff *skb)
{
	ps_altpath_mark(skb);
	return TC_ACT_UNSPEC;
}
