/* altpath_bench.bpf.c: `pathsteer bench altpath-dscp` only. BPF_PROG_TEST_RUN
 * runs a program `repeat` times on one skb, so after the first run a marked
 * packet already carries its DSCP; to time the marking path of every packet
 * of a selected flow (which leaves the host unmarked), altpath_remark first
 * clears the DSCP (IPv4, checksum kept right) and then runs altpath_dscp's
 * own code (helpers/altpath_mark.h); altpath_unmark does only the clearing,
 * so remark - unmark is what altpath_dscp adds. */
#define PS_MAPS_ALTPATH
#define PS_MAPS_ALTPATH_CACHE
#include "helpers/common.h"
#include "pathsteer_maps.h"
#include "helpers/altpath.h"
#include "helpers/csum.h"
#include "helpers/altpath_mark.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A subprogram (not inlined, called by both programs alike): inlined next
 * to ps_altpath_mark, clang merges the two skb->data loads into a moved ctx
 * pointer, which the verifier refuses. */
static __attribute__((noinline)) int ps_unmark4(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__be16 old, new;

	if ((void *)(ip + 1) > data_end)
		return 0;
	old = *(__be16 *)ip;
	new = bpf_htons(bpf_ntohs(old) & 0xff03);
	ip->tos &= 3;
	ip->check = ps_csum_update16(ip->check, old, new);
	return 0;
}

SEC("tc")
int altpath_unmark(struct __sk_buff *skb)
{
	ps_unmark4(skb);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int altpath_remark(struct __sk_buff *skb)
{
	ps_unmark4(skb);
	ps_altpath_mark(skb);
	return TC_ACT_UNSPEC;
}
