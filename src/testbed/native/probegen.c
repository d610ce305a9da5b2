/* probegen.c -> ps-probegen: a pathsteer telemetry load generator for
 * `pathsteer bench probing` (responses/s of a responder: the in-kernel
 * reflector or an agent's userspace responder).
 *
 *   ps-probegen --dst IP [--port 4789] [--bind-port 4789] [--seconds 5]
 *               [--batch 64] [--inflight 4096]
 *
 * Binds UDP bind-port (the requester's tunnel port, where answers come back),
 * negotiates (one 0x11 request, waits up to 2 s for the 0x18 answer), then for
 * `seconds` sends 44-byte telemetry requests (0x7E) with sendmmsg in batches and
 * drains answers with recvmmsg, keeping at most `inflight` unanswered requests
 * outstanding (a closed loop: the generator measures the responder, not its
 * own ability to overflow a socket). Prints one JSON line:
 *   {"sent":N,"received":N,"bp":N,"lost":N,"seconds":S,"responses_per_s":R,
 *    "cpu_s":C,"responses_per_cpu_s":P}
 * (lost: requests given up after 50 ms of silence with the window full; cpu_s:
 * this process's user + system time, which on a veth includes the softirq work
 * of both directions, the responder's in-kernel answers among it, so
 * responses_per_cpu_s is the end-to-end rate one free core would give).
 * Exit 1 with a message on stderr when negotiation gets no answer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HDR 28
#define REFLECT 16
#define PKT (HDR + REFLECT)
#define MAX_BATCH 256

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void build(uint8_t *b, uint8_t type, uint16_t sport, uint32_t seq, uint32_t src)
{
	memset(b, 0, PKT);
	b[0] = 0xff;
	b[1] = 0xee;
	b[2] = 0xdd;
	b[3] = type;
	b[4] = 1;    /* version */
	b[5] = 0x01; /* full-probe mode */
	*(uint16_t *)(b + 8) = htons(PKT);
	*(uint16_t *)(b + 10) = htons(sport);
	*(uint32_t *)(b + 12) = htonl(seq);
	memcpy(b + 16, &src, 4); /* already network order */
}

static void usage(void)
{
	fprintf(stderr, "usage: ps-probegen --dst IP [--port 4789] [--bind-port 4789] [--seconds 5] [--batch 64] [--inflight 4096]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dst = NULL;
	int port = 4789, bind_port = 4789, batch = 64;
	long inflight = 4096;
	double seconds = 5;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		if (!strcmp(a, "--dst"))
			dst = v;
		else if (!strcmp(a, "--port"))
			port = atoi(v);
		else if (!strcmp(a, "--bind-port"))
			bind_port = atoi(v);
		else if (!strcmp(a, "--seconds"))
			seconds = atof(v);
		else if (!strcmp(a, "--batch"))
			batch = atoi(v);
		else if (!strcmp(a, "--inflight"))
			inflight = atol(v);
		else
			usage();
		i++;
	}
	if (!dst || batch < 1 || batch > MAX_BATCH || seconds <= 0 || inflight < batch)
		usage();

	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(bind_port) };
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(port) };
	int buf = 8 << 20;

	if (fd < 0 || inet_pton(AF_INET, dst, &peer.sin_addr) != 1) {
		perror("ps-probegen: socket/address");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) || connect(fd, (struct sockaddr *)&peer, sizeof(peer))) {
		perror("ps-probegen: bind/connect");
		return 1;
	}
	socklen_t sl = sizeof(local);
	getsockname(fd, (struct sockaddr *)&local, &sl);
	uint32_t src = local.sin_addr.s_addr;

	/* negotiate: the responder registers us (and the kernel reflector's session) */
	uint8_t pkt[PKT], in[2048];
	int negotiated = 0;

	for (int attempt = 0; attempt < 20 && !negotiated; attempt++) {
		build(pkt, 0x11, bind_port, 0, src);
		send(fd, pkt, PKT, 0);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double until = now_s() + 0.1;

		while (!negotiated && now_s() < until) {
			if (poll(&p, 1, 20) > 0) {
				ssize_t n = recv(fd, in, sizeof(in), 0);

				if (n >= HDR && in[3] == 0x18)
					negotiated = 1;
			}
		}
	}
	if (!negotiated) {
		fprintf(stderr, "ps-probegen: no negotiation answer from %s:%d\n", dst, port);
		return 1;
	}

	static uint8_t tx[MAX_BATCH][PKT], rx[MAX_BATCH][2048];
	struct mmsghdr tmsg[MAX_BATCH], rmsg[MAX_BATCH];
	struct iovec tiov[MAX_BATCH], riov[MAX_BATCH];
	uint32_t seq = 1;
	long sent = 0, received = 0, bp = 0, outstanding = 0, given_up = 0;

	for (int i = 0; i < MAX_BATCH; i++) {
		tiov[i] = (struct iovec){ .iov_base = tx[i], .iov_len = PKT };
		riov[i] = (struct iovec){ .iov_base = rx[i], .iov_len = sizeof(rx[i]) };
		memset(&tmsg[i], 0, sizeof(tmsg[i]));
		memset(&rmsg[i], 0, sizeof(rmsg[i]));
		tmsg[i].msg_hdr.msg_iov = &tiov[i];
		tmsg[i].msg_hdr.msg_iovlen = 1;
		rmsg[i].msg_hdr.msg_iov = &riov[i];
		rmsg[i].msg_hdr.msg_iovlen = 1;
	}
	double t0 = now_s(), end = t0 + seconds, t1 = t0;

	while ((t1 = now_s()) < end) {
		if (outstanding + batch <= inflight) {
			for (int i = 0; i < batch; i++)
				build(tx[i], 0x7e, bind_port, seq++, src);
			int n = sendmmsg(fd, tmsg, batch, 0);

			if (n > 0) {
				sent += n;
				outstanding += n;
			}
		}
		for (;;) {
			int n = recvmmsg(fd, rmsg, MAX_BATCH, MSG_DONTWAIT, NULL);

			if (n <= 0)
				break;
			for (int i = 0; i < n; i++) {
				if (rmsg[i].msg_len >= HDR && rx[i][3] == 0x7f) {
					received++;
					if (outstanding > 0)
						outstanding--;
					if (rx[i][6] & 0x02)
						bp++;
				}
			}
		}
		if (outstanding + batch > inflight) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			/* window full: wait for answers; 50 ms of silence means the rest were lost */
			if (poll(&p, 1, 50) == 0) {
				given_up += outstanding;
				outstanding = 0;
			}
		}
	}
	double dt = t1 - t0;
	struct rusage ru;
	double cpu = 0;

	if (!getrusage(RUSAGE_SELF, &ru))
		cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

	printf("{\"sent\":%ld,\"received\":%ld,\"bp\":%ld,\"lost\":%ld,\"seconds\":%.3f,\"responses_per_s\":%.0f,\"cpu_s\":%.3f,"
	       "\"responses_per_cpu_s\":%.0f}\n",
	       sent, received, bp, given_up, dt, received / dt, cpu, cpu > 0 ? received / cpu : 0);
	return 0;
}
