/* path_gen.bpf.c: syscall programs user space runs (BPF_PROG_TEST_RUN) to
 * change ps_config in the kernel, so that advancing path_gen is one atomic
 * add even with several writers (the agent and a `pathsteer path set` at the
 * same time). A read-modify-write from user space could lose an increment or
 * move path_gen back to a value that ps_flow_cache slots were filled under,
 * reviving stale decisions. Loaded next to the pinned ps_config
 * (src/maps/path-gen.ts), never attached. */
#define PS_MAPS_CORE
#include "helpers/common.h"
#include "pathsteer_maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Every ps_flow_cache slot taken under the current generation is stale from
 * now on. Call after each change to ps_path or ps_pin. */
SEC("syscall")
int bump_path_gen(void *ctx)
{
	__u32 zero = 0;
	struct ps_config *c = bpf_map_lookup_elem(&ps_config, &zero);

	if (!c)
		return 1;
	__sync_fetch_and_add(&c->path_gen, 1);
	return 0;
}

/* ps_config := *in, except path_gen, which advances (attach writes the
 * configuration while an agent may be bumping). */
SEC("syscall")
int write_config(struct ps_config *in)
{
	__u32 zero = 0;
	struct ps_config *c = bpf_map_lookup_elem(&ps_config, &zero);

	if (!c)
		return 1;
	c->vxlan_port = in->vxlan_port;
	c->geneve_port = in->geneve_port;
	c->agent_port = in->agent_port;
	c->flags = in->flags;
	c->hash_seed = in->hash_seed;
	__sync_fetch_and_add(&c->path_gen, 1);
	return 0;
}
