/* helpers/flow_hash.h: the flow hash h that picks a tunnel flow's port, mixed
 * from the kernel-chosen outer source port (already a hash of the inner flow)
 * and the configured seed. src/agent/select-port.ts flowHash() mirrors it bit
 * for bit; change both or neither. */
#ifndef PS_HELPERS_FLOW_HASH_H
#define PS_HELPERS_FLOW_HASH_H

/* Golden-ratio multiply, xor the seed, then murmur3's fmix32 finalizer. */
static __always_inline __u32 ps_flow_hash(__u16 sport, __u32 seed)
{
	__u32 h = ((__u32)sport * 0x9e3779b1u) ^ seed;

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

#endif /* PS_HELPERS_FLOW_HASH_H */
