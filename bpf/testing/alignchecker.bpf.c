/* alignchecker.bpf.c: puts every shared struct and enum of pathsteer_types.h
 * into BTF, and every map of pathsteer_maps.h, so the layout test
 * (test/unit/btf-layout.test.ts) can compare each src/maps codec with what the
 * compiler laid out. Never loaded. */
#define PS_MAPS_CORE
#define PS_MAPS_PATH
#define PS_MAPS_REFLECT
#define PS_MAPS_ALTPATH
#define PS_MAPS_ALTPATH_CACHE
#define PS_MAPS_CONN
#include "helpers/common.h"
#include "pathsteer_maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PS_BTF_ANCHOR(type, name) type name __attribute__((used))

PS_BTF_ANCHOR(struct ps_config, ps_anchor_config);
PS_BTF_ANCHOR(struct ps_path_entry, ps_anchor_path_entry);
PS_BTF_ANCHOR(struct ps_pin_key, ps_anchor_pin_key);
PS_BTF_ANCHOR(struct ps_pin_val, ps_anchor_pin_val);
PS_BTF_ANCHOR(struct ps_activity, ps_anchor_activity);
PS_BTF_ANCHOR(struct ps_flow_slot, ps_anchor_flow_slot);
PS_BTF_ANCHOR(struct ps_reflect_cfg, ps_anchor_reflect_cfg);
PS_BTF_ANCHOR(struct ps_reflect_src, ps_anchor_reflect_src);
PS_BTF_ANCHOR(struct ps_learn_key, ps_anchor_learn_key);
PS_BTF_ANCHOR(struct ps_learn_val, ps_anchor_learn_val);
PS_BTF_ANCHOR(struct ps_altpath_rule, ps_anchor_altpath_rule);
PS_BTF_ANCHOR(struct ps_altpath, ps_anchor_altpath);
PS_BTF_ANCHOR(struct ps_altpath_slot, ps_anchor_altpath_slot);
PS_BTF_ANCHOR(struct ps_lpm_key, ps_anchor_lpm_key);
PS_BTF_ANCHOR(struct ps_conn_config, ps_anchor_conn_config);
PS_BTF_ANCHOR(struct ps_conn_event, ps_anchor_conn_event);
PS_BTF_ANCHOR(struct ps_probe_hdr, ps_anchor_probe_hdr);
PS_BTF_ANCHOR(enum ps_stat, ps_anchor_stat);
PS_BTF_ANCHOR(enum ps_path_flags, ps_anchor_path_flags);
PS_BTF_ANCHOR(enum ps_altpath_stat, ps_anchor_altpath_stat);
PS_BTF_ANCHOR(enum ps_reflect_flags, ps_anchor_reflect_flags);
