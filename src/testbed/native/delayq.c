/*
 * ps-delayq: the testbed's delay/jitter/drop-window element. It binds one
 * NFQUEUE (in the network namespace it runs in), holds each queued packet until
 * it is due (arrival + delay + uniform jitter in [-jitter, +jitter]) and then
 * accepts it, because this kernel has no netem. Optionally it drops every packet
 * that arrives inside one time window (a precisely timed blackhole).
 *
 *   ps-delayq --queue N [--delay-ms D] [--jitter-ms J] [--seed S] [--maxlen L]
 *             [--drop-at-ns T | --drop-after-ms A] [--drop-for-ms F]
 *
 * Clock: CLOCK_MONOTONIC, the same clock Node's process.hrtime.bigint() reads.
 * Protocol: prints one JSON line {"ready":true,...} on stdout once the queue is
 * bound; on SIGTERM/SIGINT it accepts every held packet, prints one JSON line of
 * counters and exits 0. Errors go to stderr with exit 1 (bad usage: exit 2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef NETLINK_NO_ENOBUFS
#define NETLINK_NO_ENOBUFS 5
#endif

struct held {
	uint64_t due_ns;
	uint64_t order; /* arrival order: equal due times leave in FIFO order */
	uint32_t id;
};

struct heap {
	struct held *v;
	size_t n, cap;
};

static struct {
	uint16_t queue;
	uint64_t delay_ns;
	uint64_t jitter_ns;
	uint64_t drop_at_ns;   /* 0: no drop window */
	uint64_t drop_after_ns;
	uint64_t drop_for_ns;
	uint32_t maxlen;
	uint64_t seed;
} opt = { .maxlen = 10000, .seed = 0x9e3779b97f4a7c15ULL };

static struct {
	uint64_t queued, accepted, dropped_window, verdict_errors, overflow_hint;
	uint64_t first_drop_ns, last_drop_ns, max_held;
} stats;

static struct heap heap;
static uint64_t arrivals;
static uint64_t rng_state;
static volatile sig_atomic_t stop;
static struct nfq_q_handle *qh;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: a small deterministic PRNG for jitter. */
static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static int held_before(const struct held *a, const struct held *b)
{
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->order < b->order);
}

static int heap_push(struct held h)
{
	if (heap.n == heap.cap) {
		size_t cap = heap.cap ? heap.cap * 2 : 1024;
		struct held *v = realloc(heap.v, cap * sizeof(*v));
		if (!v)
			return -1;
		heap.v = v;
		heap.cap = cap;
	}
	size_t i = heap.n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!held_before(&h, &heap.v[p]))
			break;
		heap.v[i] = heap.v[p];
		i = p;
	}
	heap.v[i] = h;
	if (heap.n > stats.max_held)
		stats.max_held = heap.n;
	return 0;
}

static struct held heap_pop(void)
{
	struct held top = heap.v[0];
	struct held last = heap.v[--heap.n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct held *cand = &last;
		if (l < heap.n && held_before(&heap.v[l], cand)) {
			m = l;
			cand = &heap.v[l];
		}
		if (r < heap.n && held_before(&heap.v[r], cand))
			m = r;
		if (m == i)
			break;
		heap.v[i] = heap.v[m];
		i = m;
	}
	if (heap.n > 0)
		heap.v[i] = last;
	return top;
}

static void verdict(uint32_t id, uint32_t v)
{
	if (nfq_set_verdict(qh, id, v, 0, NULL) < 0)
		stats.verdict_errors++;
	else if (v == NF_ACCEPT)
		stats.accepted++;
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *msg, struct nfq_data *nfa, void *data)
{
	(void)q;
	(void)msg;
	(void)data;
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	if (!ph)
		return 0;
	uint32_t id = ntohl(ph->packet_id);
	uint64_t now = mono_ns();
	stats.queued++;
	if (opt.drop_at_ns && now >= opt.drop_at_ns && now < opt.drop_at_ns + opt.drop_for_ns) {
		if (!stats.first_drop_ns)
			stats.first_drop_ns = now;
		stats.last_drop_ns = now;
		stats.dropped_window++;
		verdict(id, NF_DROP);
		return 0;
	}
	if (opt.delay_ns == 0 && opt.jitter_ns == 0) {
		verdict(id, NF_ACCEPT);
		return 0;
	}
	int64_t d = (int64_t)opt.delay_ns;
	if (opt.jitter_ns) {
		uint64_t span = 2 * opt.jitter_ns + 1;
		d += (int64_t)(rng_next() % span) - (int64_t)opt.jitter_ns;
	}
	if (d < 0)
		d = 0;
	struct held h = { .due_ns = now + (uint64_t)d, .order = arrivals++, .id = id };
	if (heap_push(h) < 0)
		verdict(id, NF_ACCEPT); /* out of memory: let it through rather than lose it */
	return 0;
}

static void release_due(uint64_t now)
{
	while (heap.n > 0 && heap.v[0].due_ns <= now) {
		struct held h = heap_pop();
		verdict(h.id, NF_ACCEPT);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ps-delayq --queue N [--delay-ms D] [--jitter-ms J] [--seed S] [--maxlen L]\n"
		"                 [--drop-at-ns T | --drop-after-ms A] [--drop-for-ms F]\n");
	exit(2);
}

static uint64_t parse_ms_ns(const char *s, const char *name)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || v < 0 || v > 3600e3) {
		fprintf(stderr, "ps-delayq: invalid %s: %s\n", name, s);
		exit(2);
	}
	return (uint64_t)(v * 1e6 + 0.5);
}

static uint64_t parse_u64(const char *s, const char *name, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v > max) {
		fprintf(stderr, "ps-delayq: invalid %s: %s\n", name, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "queue", required_argument, 0, 'q' },      { "delay-ms", required_argument, 0, 'd' },
		{ "jitter-ms", required_argument, 0, 'j' },  { "seed", required_argument, 0, 's' },
		{ "maxlen", required_argument, 0, 'm' },     { "drop-at-ns", required_argument, 0, 'T' },
		{ "drop-after-ms", required_argument, 0, 'A' }, { "drop-for-ms", required_argument, 0, 'F' },
		{ "help", no_argument, 0, 'h' },             { 0, 0, 0, 0 },
	};
	int have_queue = 0, c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': opt.queue = (uint16_t)parse_u64(optarg, "--queue", 65535); have_queue = 1; break;
		case 'd': opt.delay_ns = parse_ms_ns(optarg, "--delay-ms"); break;
		case 'j': opt.jitter_ns = parse_ms_ns(optarg, "--jitter-ms"); break;
		case 's': opt.seed = parse_u64(optarg, "--seed", UINT64_MAX); break;
		case 'm': opt.maxlen = (uint32_t)parse_u64(optarg, "--maxlen", 1000000); break;
		case 'T': opt.drop_at_ns = parse_u64(optarg, "--drop-at-ns", UINT64_MAX); break;
		case 'A': opt.drop_after_ns = parse_ms_ns(optarg, "--drop-after-ms"); break;
		case 'F': opt.drop_for_ns = parse_ms_ns(optarg, "--drop-for-ms"); break;
		default: usage();
		}
	}
	if (!have_queue || optind != argc)
		usage();
	rng_state = opt.seed ? opt.seed : 1;
	/* Precise wake-ups: the default 50 us timer slack would blur the schedule. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

	struct nfq_handle *h = nfq_open();
	if (!h) {
		fprintf(stderr, "ps-delayq: nfq_open: %s (needs CAP_NET_ADMIN and CONFIG_NETFILTER_NETLINK_QUEUE)\n",
			strerror(errno));
		return 1;
	}
	qh = nfq_create_queue(h, opt.queue, on_packet, NULL);
	if (!qh) {
		fprintf(stderr, "ps-delayq: cannot bind queue %u: %s (another process holds it?)\n", opt.queue,
			strerror(errno));
		nfq_close(h);
		return 1;
	}
	if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) {
		fprintf(stderr, "ps-delayq: nfq_set_mode: %s\n", strerror(errno));
		return 1;
	}
	nfq_set_queue_maxlen(qh, opt.maxlen);
	/* GSO packets are queued whole instead of being segmented for us. */
	nfq_set_queue_flags(qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
	nfnl_rcvbufsiz(nfq_nfnlh(h), 8u << 20);
	int fd = nfq_fd(h);
	int one = 1;
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));

	sigset_t block, empty;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	uint64_t start = mono_ns();
	if (!opt.drop_at_ns && opt.drop_for_ns)
		opt.drop_at_ns = start + opt.drop_after_ns;
	printf("{\"ready\":true,\"queue\":%u,\"pid\":%d,\"start_ns\":%" PRIu64 ",\"drop_at_ns\":%" PRIu64 "}\n",
	       opt.queue, (int)getpid(), start, opt.drop_at_ns);
	fflush(stdout);

	static char buf[65536] __attribute__((aligned));
	while (!stop) {
		uint64_t now = mono_ns();
		release_due(now);
		struct timespec ts, *tsp = NULL;
		if (heap.n > 0) {
			uint64_t wait = heap.v[0].due_ns > now ? heap.v[0].due_ns - now : 0;
			ts.tv_sec = (time_t)(wait / 1000000000ULL);
			ts.tv_nsec = (long)(wait % 1000000000ULL);
			tsp = &ts;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = ppoll(&pfd, 1, tsp, &empty);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "ps-delayq: ppoll: %s\n", strerror(errno));
			break;
		}
		if (r == 0 || !(pfd.revents & POLLIN))
			continue;
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0) {
				if (errno == ENOBUFS) {
					stats.overflow_hint++;
					continue;
				}
				break; /* EAGAIN or a real error: back to ppoll */
			}
			nfq_handle_packet(h, buf, (int)n);
		}
	}
	/* Leave nothing behind: every held packet goes out now. */
	while (heap.n > 0) {
		struct held hd = heap_pop();
		verdict(hd.id, NF_ACCEPT);
	}
	printf("{\"stopped\":true,\"queued\":%" PRIu64 ",\"accepted\":%" PRIu64 ",\"dropped_window\":%" PRIu64
	       ",\"verdict_errors\":%" PRIu64 ",\"enobufs\":%" PRIu64 ",\"max_held\":%" PRIu64
	       ",\"first_drop_ns\":%" PRIu64 ",\"last_drop_ns\":%" PRIu64 "}\n",
	       stats.queued, stats.accepted, stats.dropped_window, stats.verdict_errors, stats.overflow_hint,
	       stats.max_held, stats.first_drop_ns, stats.last_drop_ns);
	fflush(stdout);
	nfq_destroy_queue(qh);
	nfq_close(h);
	free(heap.v);
	return 0;
}
