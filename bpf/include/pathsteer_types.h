/* pathsteer_types.h: every struct and constant shared by the BPF programs and
 * user space (src/maps mirrors each one byte for byte); no logic. */
#ifndef PATHSTEER_TYPES_H
#define PATHSTEER_TYPES_H

/* Needs __u8..__u64 and __be16/__be32: vmlinux.h in BPF programs. Every struct
 * uses explicit padding and has its size asserted; host byte order unless the
 * member type says __be. Peer VTEP addresses are __be32 exactly as in the IPv4
 * header, so the data plane looks them up without swapping. */

#define PS_MAX_PORTS 64
#define PS_MAX_GROUPS 8
#define PS_ALTPATH_MAX_RULES 8

/* First three bytes of every pathsteer wire header (DESIGN §3). */
#define PS_MAGIC0 0xff
#define PS_MAGIC1 0xee
#define PS_MAGIC2 0xdd

/* ps_path_entry.flags */
enum ps_path_flags {
	PS_F_STATEFUL = 1 << 0, /* middlebox groups apply: a flow keeps to group h % ngroups */
	PS_F_PIN = 1 << 1,      /* pin flows: a flow changes port only when its port turns unhealthy */
	PS_F_PREFER = 1 << 2,   /* use preferred & healthy when non-empty */
};

/* ps_stats counter ids: one per branch the data plane can take (17..22 are
 * probe_steer's, on ingress; new ids are appended before PS_STAT_MAX).
 * Per packet, with or without the flow cache: TUNNEL, NO_ENTRY, BAD_ENTRY,
 * NO_HEALTHY, STEERED, REWRITTEN, CSUM_*. Per decision (cache misses only):
 * GROUP_FALLBACK, PIN_HIT, PIN_NEW, PIN_MOVED, PIN_ERR. */
enum ps_stat {
	PS_STAT_TUNNEL = 0,              /* tunnel packets (IPv4/UDP to a tunnel port, not probes) */
	PS_STAT_NO_ENTRY = 1,            /* no ps_path entry for the peer: left unchanged */
	PS_STAT_BAD_ENTRY = 2,           /* entry with nports 0 or > 64, or ports past 65535: left unchanged */
	PS_STAT_NO_HEALTHY = 3,          /* no healthy candidate port: left unchanged */
	PS_STAT_STEERED = 4,             /* a port was chosen from the path table */
	PS_STAT_REWRITTEN = 5,           /* ...and it differed from the kernel's, so sport was rewritten */
	PS_STAT_GROUP_FALLBACK = 6,      /* stateful: the flow's group had no healthy port, used any healthy */
	PS_STAT_PIN_HIT = 7,             /* kept the flow's pinned port */
	PS_STAT_PIN_NEW = 8,             /* first packet of a pinned flow: pin written */
	PS_STAT_PIN_MOVED = 9,           /* pinned port turned unhealthy: flow moved, pin rewritten */
	PS_STAT_PIN_ERR = 10,            /* pin could not be written */
	PS_STAT_PROBE_STAMPED = 11,      /* probe packet: sport set to the header's tx_sport */
	PS_STAT_PROBE_INVALID = 12,      /* magic but truncated header or tx_sport 0: left unchanged */
	PS_STAT_CSUM_FIXED = 13,         /* outer UDP checksum updated incrementally */
	PS_STAT_CSUM_SEED = 14,          /* outer checksum is a partial seed the stack/NIC completes later */
	PS_STAT_CSUM_ZERO = 15,          /* no outer checksum (vxlan noudpcsum): left zero */
	PS_STAT_ACTIVITY_ERR = 16,       /* ps_activity insert failed */
	PS_STAT_PROBE_RX = 17,           /* ingress: probe on a tunnel port delivered to agent_port, arrival TTL stashed */
	PS_STAT_PROBE_RX_SHORT = 18,     /* ingress: magic but shorter than the 28-byte header: left to the tunnel driver */
	PS_STAT_PROBE_RX_NO_AGENT = 19,  /* ingress: probe but ps_config.agent_port is 0 or a tunnel port: left unchanged */
	PS_STAT_RX_CSUM_FIXED = 20,      /* ingress: UDP checksum of a delivered probe updated incrementally */
	PS_STAT_RX_CSUM_SEED = 21,       /* ingress: probe checksum is a partial seed (CHECKSUM_PARTIAL from a local sender): kept */
	PS_STAT_RX_CSUM_ZERO = 22,       /* ingress: probe without a UDP checksum: left zero */
	PS_STAT_CACHE_HIT = 23,          /* tunnel packet answered by its ps_flow_cache slot */
	PS_STAT_CACHE_MISS = 24,         /* tunnel packet that took the full path and filled its slot */
	PS_STAT_CACHE_FLUSH = 25,        /* a slot's pending packets/bytes added to ps_activity (once per tick and slot) */
	PS_STAT_CACHE_REPIN = 26,        /* a flush found the flow's pin evicted from ps_pin (LRU) and wrote it back */
	PS_STAT_REFLECT_TX = 27,         /* ingress: telemetry request answered in the kernel (redirected out, any CTL) */
	PS_STAT_REFLECT_BP = 28,         /* ...of them answered with CTL=BP (the source's token bucket was empty) */
	PS_STAT_REFLECT_NO_SESSION = 29, /* ingress: telemetry request from a source without a negotiated session: to the agent (RST) */
	PS_STAT_REFLECT_FALLBACK = 30,   /* ingress: telemetry request left to the agent (IP options, bad length or version, source mismatch, tx_sport 0) */
	PS_STAT_LEARN = 31,              /* ingress (middlebox role): a tunnel flow's outer source port recorded in ps_learn */
	PS_STAT_LEARNED_TX = 32,         /* egress (middlebox role): tunnel packet sent on the source port its peer used (ps_learn) */
	PS_STAT_FLOOD = 33,              /* tunnel packet to a broadcast/multicast inner MAC (flooded to every VTEP): steered, not activity */
	PS_STAT_MAX = 34,
};

/* ps_config[0]: run-time configuration written by `pathsteer attach`. */
struct ps_config {
	__u16 vxlan_port;  /* tunnel UDP destination port (4789, 8472 for flannel); 0 = off */
	__u16 geneve_port; /* 6081; 0 = off */
	__u16 agent_port;  /* where probe_steer delivers probes */
	__u16 flags;       /* reserved, 0 */
	__u32 hash_seed;   /* mixed into the flow hash (ps_flow_hash) */
	__u32 path_gen;    /* advanced (atomically, bpf/path_gen.bpf.c) after every change to ps_path
			    * or ps_pin from user space; ps_flow_cache slots of another value are stale */
};
_Static_assert(sizeof(struct ps_config) == 16, "ps_config size");

/* ps_reflect[0]: the agent's switches for what probe_steer and vxlan_sport
 * do on its behalf (written by the agent at start and every second). */
enum ps_reflect_flags {
	PS_RF_REFLECT = 1 << 0, /* answer telemetry requests of negotiated sources in the kernel */
	PS_RF_LEARN = 1 << 1,   /* middlebox role: record peers' outer sports per tenant flow, answer on them */
};

struct ps_reflect_cfg {
	__u8 backend_id[6]; /* filled into every response (middlebox sensing): the interface MAC or a configured id */
	__u8 flags;         /* enum ps_reflect_flags */
	__u8 pad;
	__u32 rate;         /* tokens added per second to each source's bucket */
	__u32 burst;        /* bucket size (tokens); the agent scales rate and burst with local CPU */
};
_Static_assert(sizeof(struct ps_reflect_cfg) == 16, "ps_reflect_cfg size");

/* ps_reflect_src[source VTEP]: a requester that negotiated with this agent
 * (the agent adds it on the negotiation request and removes it when it goes
 * quiet), with its token bucket. lock (struct bpf_spin_lock, 4 bytes) is the
 * one member that is not a plain integer: two CPUs answering the same source
 * must not both spend the last token. */
struct ps_reflect_src {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tokens_milli; /* tokens x 1000 */
	__u64 refill_ns;    /* bpf_ktime_get_ns() of the last refill; 0: full bucket at the next request */
	__u64 answered;     /* responses the kernel sent to this source */
	__u64 bp;           /* ...of them with CTL=BP */
};
_Static_assert(sizeof(struct ps_reflect_src) == 40, "ps_reflect_src size");

/* ps_learn key (middlebox role): a tenant flow of a peer VTEP, direction-free
 * (the lower address/port first), so a request and its reply find the same entry. */
struct ps_learn_key {
	__be32 peer;    /* outer address of the peer VTEP */
	__be32 addr_lo; /* inner IPv4 addresses, lower first */
	__be32 addr_hi;
	__be16 port_lo; /* their ports (TCP/UDP), in the same order */
	__be16 port_hi;
	__u8 proto;
	__u8 pad[3];
};
_Static_assert(sizeof(struct ps_learn_key) == 20, "ps_learn_key size");

struct ps_learn_val {
	__u64 seen_ns; /* coarse CLOCK_MONOTONIC of the last packet that set or confirmed sport */
	__be16 sport;  /* the outer source port the peer used for this flow */
	__u8 pad[6];
};
_Static_assert(sizeof(struct ps_learn_val) == 16, "ps_learn_val size");

/* ps_path[peer]: the candidate source-port window of one peer VTEP. */
struct ps_path_entry {
	__u16 base_port;  /* port of bit 0 */
	__u8 nports;      /* window size, 1..64 */
	__u8 flags;       /* enum ps_path_flags */
	__u8 ngroups;     /* middlebox groups in use, 0..8 */
	__u8 pad[3];
	__u64 healthy;    /* bit i: base_port + i is healthy */
	__u64 preferred;  /* bit i: base_port + i is preferred (PS_F_PREFER) */
	__u64 group_mask[PS_MAX_GROUPS];
};
_Static_assert(sizeof(struct ps_path_entry) == 88, "ps_path_entry size");

/* ps_pin key: a flow of a peer (flow_hash = ps_flow_hash of the kernel's sport). */
struct ps_pin_key {
	__be32 peer;
	__u32 flow_hash;
};
_Static_assert(sizeof(struct ps_pin_key) == 8, "ps_pin_key size");

struct ps_pin_val {
	__u8 idx; /* pinned bit (port base_port + idx) */
	__u8 pad[7];
};
_Static_assert(sizeof(struct ps_pin_val) == 8, "ps_pin_val size");

/* ps_activity[peer], per CPU: user space sums packets/bytes, ORs ports_in_use
 * and takes the largest last_seen_ns. */
struct ps_activity {
	__u64 last_seen_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last tunnel packet */
	__u64 packets;
	__u64 bytes;
	__u64 ports_in_use; /* bit i: a flow left on base_port + i */
};
_Static_assert(sizeof(struct ps_activity) == 32, "ps_activity size");

/* ps_flow_cache[slot], per CPU: the last port decision for one (peer, flow)
 * and the activity counted since the last flush into ps_activity. Valid while
 * gen == ps_config.path_gen (the decision depends only on ps_path, ps_pin and
 * the flow hash). Slot = ps_flow_slot_of(peer, flow_hash). */
struct ps_flow_slot {
	__be32 peer;              /* outer destination (key of ps_path) */
	__u32 flow_hash;          /* ps_flow_hash of the kernel's sport */
	__u32 gen;                /* ps_config.path_gen the decision was taken under */
	__be16 sport;             /* outer sport to write (network order); 0: leave the packet's */
	__u8 idx;                 /* window index of sport: its ports_in_use bit (outcome STEERED) */
	__u8 outcome;             /* enum ps_stat of the decision: NO_ENTRY, BAD_ENTRY, NO_HEALTHY
				   * or STEERED, counted for every packet; 0 = empty slot */
	__u64 flushed_jiffies;    /* jiffies of the last flush: packets of a later tick flush again */
	__u64 flushed_ns;         /* coarse CLOCK_MONOTONIC of that flush: the pending packets' last_seen */
	__u64 pending_packets;    /* counted since the last flush, not yet in ps_activity */
	__u64 pending_bytes;
};
_Static_assert(sizeof(struct ps_flow_slot) == 48, "ps_flow_slot size");

/* ps_altpath_stats counter ids (per CPU), shared by altpath_dscp (per packet,
 * exactly one of MARKED..SKIPPED for every IPv4/IPv6 packet while rules are
 * configured) and conn_stats (per TCP connection). New ids are appended before
 * PS_AP_STAT_MAX. */
enum ps_altpath_stat {
	PS_AP_STAT_MARKED = 0,        /* selected flow: DSCP written (or already the rule's value) */
	PS_AP_STAT_EXCLUDED = 1,      /* selected flow, destination in ps_altpath_exclude: untouched */
	PS_AP_STAT_UNSELECTED = 2,    /* TCP/UDP flow outside every rule's share: untouched */
	PS_AP_STAT_PREMARKED = 3,     /* DSCP already set by the sender (only_unmarked): untouched */
	PS_AP_STAT_SKIPPED = 4,       /* IP but no flow to hash (fragment, other protocol, IPv6 extension header, truncated): untouched */
	PS_AP_STAT_CONN_OPENED = 5,   /* conn_stats: TCP connection of the watched namespace (not loopback) reached ESTABLISHED */
	PS_AP_STAT_CONN_SAMPLED = 6,  /* ...and was chosen for a sample (1/N, M/N when AltPath-marked) */
	PS_AP_STAT_CONN_EMITTED = 7,  /* sampled connection closed: event written to ps_conn_events */
	PS_AP_STAT_CONN_RB_FULL = 8,  /* sampled connection closed but ps_conn_events was full: event lost */
	PS_AP_STAT_CONN_START_ERR = 9, /* ps_conn_start could not take a sampled connection (not sampled) */
	PS_AP_STAT_CACHE_MISS = 10,   /* altpath_dscp: flow decided afresh (hash, rules, exclusions) and cached */
	PS_AP_STAT_MAX = 11,
};

/* AltPath (DESIGN §2.4): a rule marks basis_points/10000 of flows with dscp. */
struct ps_altpath_rule {
	__u8 dscp;
	__u8 pad;
	__u16 basis_points;
};
_Static_assert(sizeof(struct ps_altpath_rule) == 4, "ps_altpath_rule size");

/* ps_altpath[0]. gen changes after every change to the rules, seed or
 * ps_altpath_exclude (never 0 once configured); ps_altpath_cache slots of
 * another gen are stale. User space writes a new configuration with the old
 * gen first and then again with the next one, so a reader that sees the new
 * gen also sees the new rules (an array value is copied, not swapped). */
struct ps_altpath {
	__u32 seed;
	__u32 gen;
	__u8 nrules;
	__u8 only_unmarked; /* 1: mark only flows whose DSCP is 0 */
	__u8 pad[2];
	struct ps_altpath_rule rule[PS_ALTPATH_MAX_RULES];
};
_Static_assert(sizeof(struct ps_altpath) == 44, "ps_altpath size");

/* ps_altpath_cache[slot], per CPU: the last decision for one flow, so its
 * further packets skip the hash, the rules and the exclusion trie. */
struct ps_altpath_slot {
	__be32 saddr[4]; /* as in the header; IPv4 in saddr[0], the rest 0 */
	__be32 daddr[4];
	__be32 ports;    /* the L4 header's first 4 bytes (sport, dport) as in the packet */
	__u32 gen;       /* ps_altpath.gen of the decision; 0 = empty slot */
	__u8 family;     /* 4 or 6 */
	__u8 proto;      /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 dscp;       /* the flow's DSCP: 0 = leave its packets alone */
	__u8 outcome;    /* enum ps_altpath_stat: MARKED, EXCLUDED or UNSELECTED */
	__u32 pad;
};
_Static_assert(sizeof(struct ps_altpath_slot) == 48, "ps_altpath_slot size");

/* ps_altpath_exclude LPM key: IPv6, or IPv4 mapped as ::ffff:a.b.c.d (prefixlen + 96). */
struct ps_lpm_key {
	__u32 prefixlen;
	__u8 addr[16]; /* network byte order */
};
_Static_assert(sizeof(struct ps_lpm_key) == 20, "ps_lpm_key size");

/* ps_conn_config[0]: conn_stats' run-time configuration. */
struct ps_conn_config {
	__u32 sample_rate;       /* N: sample 1 in N connections (0 = sample none) */
	__u32 marked_multiplier; /* M: AltPath-marked connections are sampled M in N */
	__u32 netns_ino;         /* only sockets of this network namespace (inode of /proc/self/ns/net); 0 = any */
	__u32 flags;             /* reserved, 0 */
};
_Static_assert(sizeof(struct ps_conn_config) == 16, "ps_conn_config size");

/* ps_conn_events record: one sampled TCP connection at close (DESIGN §2.4). */
struct ps_conn_event {
	__u64 ts_ns;
	__u64 bytes_acked;
	__u64 bytes_received;
	__u64 duration_us;
	__u8 saddr[16]; /* network order; IPv4 in the first 4 bytes when family is AF_INET */
	__u8 daddr[16];
	__u32 srtt_us;
	__u32 rttvar_us;
	__u32 rto_us;
	__u32 total_retrans;
	__u32 segs_out;
	__u32 segs_in;
	__u16 sport; /* host byte order */
	__u16 dport; /* host byte order */
	__u16 family; /* AF_INET 2, AF_INET6 10 */
	__u8 dscp;
	__u8 pad;
};
_Static_assert(sizeof(struct ps_conn_event) == 96, "ps_conn_event size");

/* The pathsteer wire header (DESIGN §3), network byte order.
 *
 * reserved[] is zero on the wire, except in requests with the REPLY_PORT flag
 * (0x01), where it is the outer source port the response must use. On local
 * delivery of a response, probe_steer (TC ingress) writes the IPv4 TTL the
 * packet arrived with into reserved[0] and
 * PS_PROBE_TTL_VALID into reserved[1] (UDP checksum kept right), because the
 * agent reads probes from an ordinary UDP socket, which cannot see the TTL,
 * and needs it for the hop count of negotiation responses (ZooRoute: inter-AZ
 * peers are told apart by TTL). reserved[1] != PS_PROBE_TTL_VALID: no TTL. */
#define PS_PROBE_TTL_VALID 0x01

/* Wire header types (DESIGN §3) the data plane tells apart. */
#define PS_TYPE_NEGOTIATION_RESPONSE 0x18
#define PS_TYPE_TELEMETRY_REQUEST 0x7e
#define PS_TYPE_TELEMETRY_RESPONSE 0x7f
/* The protocol version the in-kernel reflector speaks (PS_VERSION in src/protocol). */
#define PS_PROTO_VERSION 1
/* Header flag: answer on the port in reserved[] (src/protocol Flag.REPLY_PORT). */
#define PS_HDR_F_REPLY_PORT 0x01
/* Mode bits a telemetry response keeps (full / partial probe). */
#define PS_MODE_PROBE_MASK 0x03
/* CTL values. */
#define PS_CTL_DEFAULT 0
#define PS_CTL_BP 2

struct ps_probe_hdr {
	__u8 magic[3];
	__u8 type;
	__u8 version;
	__u8 mode;
	__u8 ctl;
	__u8 flags;
	__be16 data_len;
	__be16 tx_sport; /* the outer source port this packet must carry */
	__be32 seq;
	__be32 src_vtep;
	__u8 backend_id[6];
	__u8 reserved[2]; /* wire: 0 or a request's reply port; responses delivered by probe_steer: {arrival TTL, PS_PROBE_TTL_VALID} */
};
_Static_assert(sizeof(struct ps_probe_hdr) == 28, "ps_probe_hdr size");

#endif /* PATHSTEER_TYPES_H */
