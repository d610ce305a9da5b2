/* conn_stats.bpf.c: tracepoint sock/inet_sock_set_state (DESIGN §2.4, Edge
 * Fabric §6.2.3), attached as a BTF tracepoint (tp_btf: typed arguments, and
 * no tracefs needed). Samples TCP connections of one network namespace: the
 * choice is made when a connection reaches ESTABLISHED (1 in N, M in N for a
 * flow AltPath marks), which also starts its clock in ps_conn_start; when a
 * sampled connection reaches TCP_CLOSE its tcp_sock statistics (CO-RE reads)
 * and the DSCP it carried go to the ps_conn_events ring buffer. The DSCP is
 * recomputed with altpath_dscp's own choice (helpers/altpath.h) under the
 * ps_altpath configuration of the moment; packets are marked on egress, the
 * socket never sees the mark, so its tos only tells a DSCP the application
 * set itself. */
#define PS_MAPS_ALTPATH
#define PS_MAPS_CONN
#include "helpers/common.h"
#include <bpf/bpf_tracing.h>
#include "pathsteer_maps.h"
#include "helpers/altpath.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PS_AF_INET 2
#define PS_AF_INET6 10

/* Kernel tick rate, from the kernel config libbpf reads (/proc/config.gz or
 * /boot/config-*); 0 when neither exists, and then rto_us is reported as 0. */
extern unsigned int CONFIG_HZ __kconfig __weak;

/* One connection as altpath_dscp sees its packets leave: local -> remote. */
struct ps_sock_flow {
	__be32 saddr[4];
	__be32 daddr[4];
	__u32 ports; /* local << 16 | remote, host order */
	__u16 family; /* PS_AF_INET (also for IPv4-mapped IPv6 sockets) or PS_AF_INET6 */
};

static __always_inline void ps_sock_flow(const struct sock *sk, struct ps_sock_flow *f)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	/* inet_sport, not skc_num: by the time the state becomes TCP_CLOSE the
	 * port is released and skc_num (inet_num) is 0 */
	f->ports = ((__u32)bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport)) << 16) |
		   bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == PS_AF_INET6) {
		BPF_CORE_READ_INTO(&f->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32);
		BPF_CORE_READ_INTO(&f->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
		if (!(f->daddr[0] == 0 && f->daddr[1] == 0 && f->daddr[2] == bpf_htonl(0x0000ffff))) {
			f->family = PS_AF_INET6;
			return;
		}
		/* an IPv6 socket talking to an IPv4-mapped peer: its packets leave as IPv4 */
		f->saddr[0] = f->saddr[3];
		f->daddr[0] = f->daddr[3];
		f->saddr[1] = f->saddr[2] = f->saddr[3] = 0;
		f->daddr[1] = f->daddr[2] = f->daddr[3] = 0;
	} else {
		f->saddr[0] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		f->daddr[0] = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	}
	f->family = PS_AF_INET;
}

/*
 * The DSCP the connection's packets carry: the AltPath rule's value when
 * altpath_dscp marks the flow (*marked), otherwise whatever the socket itself
 * set (IP_TOS / IPV6_TCLASS; 0 for nearly every socket).
 */
static __always_inline __u8 ps_sock_dscp(const struct sock *sk, const struct ps_sock_flow *f, bool *marked)
{
	struct inet_sock *inet = (struct inet_sock *)sk;
	struct ps_altpath *cfg;
	__u32 zero = 0, h;
	__u8 own, pick;

	if (f->family == PS_AF_INET)
		own = BPF_CORE_READ(inet, tos) >> 2;
	else
		own = BPF_CORE_READ(inet, pinet6, tclass) >> 2;
	*marked = false;
	cfg = bpf_map_lookup_elem(&ps_altpath, &zero);
	if (!cfg || !cfg->nrules || (own && cfg->only_unmarked))
		return own;
	if (f->family == PS_AF_INET)
		h = ps_altpath_hash4(f->saddr[0], f->daddr[0], f->ports, IPPROTO_TCP, cfg->seed);
	else
		h = ps_altpath_hash6(f->saddr, f->daddr, f->ports, IPPROTO_TCP, cfg->seed);
	pick = ps_altpath_pick(cfg, h);
	if (!pick)
		return own;
	if (f->family == PS_AF_INET ? ps_altpath_excluded4(f->daddr[0]) : ps_altpath_excluded6(f->daddr))
		return own;
	*marked = true;
	return pick;
}

/* ESTABLISHED: count the connection and maybe choose it for a sample. */
static __always_inline void ps_conn_open(const struct sock *sk)
{
	struct ps_conn_config *cfg;
	struct ps_sock_flow f = {};
	__u32 zero = 0, weight;
	__u64 key, now;
	bool marked;

	cfg = bpf_map_lookup_elem(&ps_conn_config, &zero);
	if (!cfg || !cfg->sample_rate)
		return;
	if (cfg->netns_ino && BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) != cfg->netns_ino)
		return;
	ps_sock_flow(sk, &f);
	/* loopback connections never leave the host: no route to measure */
	if (f.family == PS_AF_INET ? (bpf_ntohl(f.daddr[0]) >> 24) == 127
				   : (f.daddr[0] == 0 && f.daddr[1] == 0 && f.daddr[2] == 0 && f.daddr[3] == bpf_htonl(1)))
		return;
	ps_ap_count(PS_AP_STAT_CONN_OPENED);
	ps_sock_dscp(sk, &f, &marked);
	weight = marked ? cfg->marked_multiplier : 1;
	if (bpf_get_prandom_u32() % cfg->sample_rate >= weight)
		return;
	key = (__u64)(long)sk;
	now = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&ps_conn_start, &key, &now, BPF_ANY)) {
		ps_ap_count(PS_AP_STAT_CONN_START_ERR);
		return;
	}
	ps_ap_count(PS_AP_STAT_CONN_SAMPLED);
}

/* TCP_CLOSE of a sampled connection: its statistics to the ring buffer. */
static __always_inline void ps_conn_close(const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 key = (__u64)(long)sk, *start, t0, now;
	struct ps_sock_flow f = {};
	struct ps_conn_event *e;
	__u32 hz = CONFIG_HZ;
	bool marked;

	start = bpf_map_lookup_elem(&ps_conn_start, &key);
	if (!start)
		return;
	t0 = *start;
	bpf_map_delete_elem(&ps_conn_start, &key);

	e = bpf_ringbuf_reserve(&ps_conn_events, sizeof(*e), 0);
	if (!e) {
		ps_ap_count(PS_AP_STAT_CONN_RB_FULL);
		return;
	}
	now = bpf_ktime_get_ns();
	ps_sock_flow(sk, &f);
	e->ts_ns = now;
	e->duration_us = (now - t0) / 1000;
	e->family = f.family;
	__builtin_memcpy(e->saddr, f.saddr, 16);
	__builtin_memcpy(e->daddr, f.daddr, 16);
	e->sport = f.ports >> 16;
	e->dport = f.ports & 0xffff;
	e->dscp = ps_sock_dscp(sk, &f, &marked);
	e->pad = 0;
	e->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	e->rttvar_us = BPF_CORE_READ(tp, mdev_us) >> 2;
	e->rto_us = hz ? (__u32)((__u64)BPF_CORE_READ(tp, inet_conn.icsk_rto) * 1000000 / hz) : 0;
	e->total_retrans = BPF_CORE_READ(tp, total_retrans);
	e->segs_out = BPF_CORE_READ(tp, segs_out);
	e->segs_in = BPF_CORE_READ(tp, segs_in);
	e->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	e->bytes_received = BPF_CORE_READ(tp, bytes_received);
	bpf_ringbuf_submit(e, 0);
	ps_ap_count(PS_AP_STAT_CONN_EMITTED);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(conn_stats, const struct sock *sk, const int oldstate, const int newstate)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_ESTABLISHED)
		ps_conn_open(sk);
	else if (newstate == TCP_CLOSE)
		ps_conn_close(sk);
	return 0;
}
