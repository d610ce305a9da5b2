/* ringbuf_test.bpf.c: for the loader's tests. Each run emits one ring buffer
 * record {tag, seq, len, first packet bytes}; tag is a const volatile the test
 * sets between open and load. */
#include "helpers/common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct rb_record {
	__u32 tag;
	__u32 len;
	__u64 seq;
	__u8 head[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} test_events SEC(".maps");

const volatile __u32 rb_tag = 0;
__u64 rb_seq = 0;

SEC("tc")
int ringbuf_test(struct __sk_buff *skb)
{
	struct rb_record *r = bpf_ringbuf_reserve(&test_events, sizeof(*r), 0);

	if (!r)
		return TC_ACT_OK;
	r->tag = rb_tag;
	r->len = skb->len;
	r->seq = __sync_fetch_and_add(&rb_seq, 1);
	if (bpf_skb_load_bytes(skb, 0, r->head, sizeof(r->head)))
		__builtin_memset(r->head, 0, sizeof(r->head));
	bpf_ringbuf_submit(r, 0);
	return TC_ACT_OK;
}
