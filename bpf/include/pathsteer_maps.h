/* pathsteer_maps.h: every BPF map, typed with its key/value struct. A program
 * defines the groups it uses before including this header (PS_MAPS_CORE,
 * PS_MAPS_PATH, PS_MAPS_REFLECT, PS_MAPS_ALTPATH, PS_MAPS_ALTPATH_CACHE, PS_MAPS_CONN), so an object
 * creates only its
 * own maps; maps of the same name are shared between objects through pins. */
#ifndef PATHSTEER_MAPS_H
#define PATHSTEER_MAPS_H

#include "pathsteer_types.h"

#define PS_PATH_MAX_PEERS 65536
#define PS_PIN_MAX_FLOWS 262144
#define PS_ACTIVITY_MAX_PEERS 65536
#define PS_FLOW_CACHE_SLOTS 1024 /* per CPU; a power of two */
#define PS_REFLECT_MAX_SOURCES 65536
#define PS_LEARN_MAX_FLOWS 262144
#define PS_ALTPATH_EXCLUDE_MAX 4096
#define PS_ALTPATH_CACHE_SLOTS 1024 /* per CPU; a power of two */
#define PS_CONN_EVENTS_BYTES (1 << 20)
#define PS_CONN_START_MAX 65536 /* sampled connections open at once */

#ifdef PS_MAPS_CORE
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_config);
} ps_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_STAT_MAX);
	__type(key, __u32); /* enum ps_stat */
	__type(value, __u64);
} ps_stats SEC(".maps");
#endif

#ifdef PS_MAPS_PATH
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_PATH_MAX_PEERS);
	__type(key, __be32); /* peer VTEP */
	__type(value, struct ps_path_entry);
} ps_path SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PS_PIN_MAX_FLOWS);
	__type(key, struct ps_pin_key);
	__type(value, struct ps_pin_val);
} ps_pin SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, PS_ACTIVITY_MAX_PEERS);
	__type(key, __be32); /* peer VTEP */
	__type(value, struct ps_activity);
} ps_activity SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_FLOW_CACHE_SLOTS);
	__type(key, __u32); /* ps_flow_slot_of(peer, flow_hash) */
	__type(value, struct ps_flow_slot);
} ps_flow_cache SEC(".maps");
#endif

/* The agent's in-kernel helpers: the reflector (probe_steer answers telemetry
 * requests) and the middlebox role's source-port learning (probe_steer records,
 * vxlan_sport answers). vxlan_sport declares them too, so attach pins them with
 * the rest and probe_steer adopts the pins. */
#ifdef PS_MAPS_REFLECT
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_reflect_cfg);
} ps_reflect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PS_REFLECT_MAX_SOURCES);
	__type(key, __be32); /* requester's VTEP */
	__type(value, struct ps_reflect_src);
} ps_reflect_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PS_LEARN_MAX_FLOWS);
	__type(key, struct ps_learn_key);
	__type(value, struct ps_learn_val);
} ps_learn SEC(".maps");
#endif

#ifdef PS_MAPS_ALTPATH
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_altpath);
} ps_altpath SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, PS_ALTPATH_EXCLUDE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ps_lpm_key);
	__type(value, __u8);
} ps_altpath_exclude SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_AP_STAT_MAX);
	__type(key, __u32); /* enum ps_altpath_stat */
	__type(value, __u64);
} ps_altpath_stats SEC(".maps");
#endif

#ifdef PS_MAPS_ALTPATH_CACHE
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PS_ALTPATH_CACHE_SLOTS);
	__type(key, __u32); /* ps_altpath_slot_of(flow) */
	__type(value, struct ps_altpath_slot);
} ps_altpath_cache SEC(".maps");
#endif

#ifdef PS_MAPS_CONN
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ps_conn_config);
} ps_conn_config SEC(".maps");

/* Sampled connections still open: socket address -> bpf_ktime_get_ns() at
 * ESTABLISHED. LRU, so sockets that never close cleanly cannot fill it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PS_CONN_START_MAX);
	__type(key, __u64);
	__type(value, __u64);
} ps_conn_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PS_CONN_EVENTS_BYTES); /* records: struct ps_conn_event */
} ps_conn_events SEC(".maps");
#endif

#endif /* PATHSTEER_MAPS_H */
