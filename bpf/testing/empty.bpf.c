/* empty.bpf.c: a TC program that does nothing; the baseline of `pathsteer bench dataplane`. */
#include "helpers/common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}
