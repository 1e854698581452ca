/* The listening sockets: one per ring on the same address. With several
 * rings they form a SO_REUSEPORT group, so the kernel spreads connections
 * between them; with the rings pinned to CPUs, a reuseport CBPF program
 * sends each connection to the ring pinned to the CPU that received it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"

#include "setup.h"

static int parse_addr(const char *host, uint32_t port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

/* A socket bound to host:port, with SO_REUSEPORT when `share`; -errno and
 * the failed step in *step on failure. */
static int bound_socket(const char *host, uint32_t port, bool share, enum rs_step *step)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd;

	*step = RS_STEP_ADDRESS;
	if (parse_addr(host, port, &ss, &len) < 0)
		return -EINVAL;
	*step = RS_STEP_SOCKET;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* REUSEADDR so a restart is not blocked by TIME_WAIT. NODELAY is
	 * inherited by accepted sockets: a response is one send, never held. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* TCP_DEFER_ACCEPT (as nginx's `listen ... deferred`): the kernel hands a
	 * connection over once its first bytes are in, so the first recv
	 * completes at once instead of arming a poll and waking the ring again
	 * (close mode: ~40% less CPU per request). A client that sends nothing
	 * is handed over after about a second anyway, and then meets
	 * --header-timeout; until then it holds no slot. */
	setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
	if (share)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	*step = RS_STEP_BIND;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* SO_REUSEPORT would let the rings join another server's group on the same
 * port (same user) instead of failing: a plain bind first finds any other
 * listener there, and says EADDRINUSE as a single ring would. */
int check_port_free(struct rs_server *s, struct ring *r0)
{
	enum rs_step step;
	int fd;

	if (s->nrings < 2 || s->cfg.port == 0)
		return 0;
	fd = bound_socket(s->cfg.host, s->cfg.port, false, &step);
	if (fd < 0) {
		set_error(r0, step, -fd);
		return fd;
	}
	close(fd);
	return 0;
}

/* Ring r's listener on port (the configured one for ring 0, the one ring 0
 * got for the others, so port 0 means one port for all). */
int setup_listener(struct ring *r, uint32_t port)
{
	enum rs_step step;
	int fd = bound_socket(r->srv->cfg.host, port, r->srv->nrings > 1, &step);

	if (fd < 0) {
		set_error(r, step, -fd);
		return fd;
	}
	r->listen_fd = fd;
	/* Listening joins the reuseport group: in ring order, so that the
	 * group's socket index K is ring K (the steering program relies on it). */
	if (listen(fd, (int)r->srv->cfg.backlog) < 0) {
		set_error(r, RS_STEP_LISTEN, errno);
		return -errno;
	}
	return 0;
}

/* Pinned rings: the CPU a connection arrived on picks the ring pinned there
 * (cache-warm, no cross-CPU wakeup); any other CPU, or a kernel without
 * reuseport CBPF (4.5+), gets the kernel's hash. On loopback the receiving
 * CPU is the client's: a client pinned to one CPU then reaches one ring. */
int setup_cpu_steering(struct rs_server *s)
{
	struct sock_filter code[2 * RS_MAX_RINGS + 2];
	struct sock_fprog prog = { .filter = code };
	unsigned k = 0;

	if (s->nrings < 2)
		return 0;
	for (uint32_t i = 0; i < s->nrings; i++)
		if (s->rings[i].cpu < 0)
			return 0;
	code[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_CPU));
	for (uint32_t i = 0; i < s->nrings; i++) {
		code[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)s->rings[i].cpu, 0, 1);
		code[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, i);
	}
	/* An index past the group: the kernel falls back to its hash. */
	code[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
	prog.len = (unsigned short)k;
	if (setsockopt(s->rings[0].listen_fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) == 0)
		s->features |= RS_FEAT(CPU_STEERING);
	return 0;
}
