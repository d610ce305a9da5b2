// SPDX-License-Identifier: GPL-2.0
/*
 * Testbed element: TC ingress on a tenant VM's bridge port in the host
 * namespace. Invalidates the skb hash so the tunnel device computes the outer
 * source port from the inner headers, as it would for a packet arriving from a
 * real VM's virtio NIC. Without it the hash the VM's TCP socket chose crosses
 * the veth, and the guest's own rehash-on-RTO would steer the outer port.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int clear_hash(struct __sk_buff *skb)
{
	bpf_set_hash_invalid(skb);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
