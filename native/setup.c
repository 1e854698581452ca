/* Building a server: the listening socket, preallocated connection state,
 * and the io_uring ring with its per-mode flags and fallbacks. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ring_internal.h"

/* Coarse clock: served from the vDSO without reading hardware, so the spin
 * loop can check it without a system call whatever the clocksource. */
uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void set_error(struct rs_server *s, const char *step, int err)
{
	snprintf(s->error, sizeof(s->error), "%s: %s", step, strerror(err));
}

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

/* Error responses always close; built once, with their lengths computed. */
int setup_errors(struct rs_server *s)
{
	static const char *const lines[RS_ERR_KINDS] = {
		[RS_ERR_400] = "400 Bad Request",
		[RS_ERR_413] = "413 Content Too Large",
		[RS_ERR_431] = "431 Request Header Fields Too Large",
		[RS_ERR_505] = "505 HTTP Version Not Supported",
	};
	size_t off = 0;

	for (int k = 0; k < RS_ERR_KINDS; k++) {
		const char *reason = lines[k] + 4;
		int n = snprintf((char *)s->err_mem + off, sizeof(s->err_mem) - off,
				 "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s\n",
				 lines[k], strlen(reason) + 1, reason);
		if (n < 0 || (size_t)n >= sizeof(s->err_mem) - off)
			return -ENOSPC;
		s->err[k] = (struct blob){ s->err_mem + off, (uint32_t)n };
		off += (size_t)n;
	}
	return 0;
}

int setup_listener(struct rs_server *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd;

	if (parse_addr(s->cfg.host, s->cfg.port, &ss, &len) < 0) {
		set_error(s, "parse host", EINVAL);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_error(s, "socket", errno);
		return -errno;
	}
	s->listen_fd = fd;
	/* REUSEADDR so a restart is not blocked by TIME_WAIT; no REUSEPORT, so a
	 * second server on the same port fails with EADDRINUSE. NODELAY is
	 * inherited by accepted sockets: a response is one send, never held. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		set_error(s, "bind", errno);
		return -errno;
	}
	if (listen(fd, (int)s->cfg.backlog) < 0) {
		set_error(s, "listen", errno);
		return -errno;
	}
	return 0;
}

int setup_conns(struct rs_server *s)
{
	uint32_t n = s->cfg.max_connections;

	s->conns = calloc(n, sizeof(*s->conns));
	s->free_slots = calloc(n, sizeof(*s->free_slots));
	/* One lazily backed mapping: untouched buffers cost no memory. */
	s->buf_slab_len = (size_t)n * s->cfg.max_header_bytes;
	s->buf_slab = mmap(NULL, s->buf_slab_len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!s->conns || !s->free_slots || s->buf_slab == MAP_FAILED) {
		s->buf_slab = NULL;
		set_error(s, "allocate connections", ENOMEM);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		s->conns[i].buf = s->buf_slab + (size_t)i * s->cfg.max_header_bytes;
		s->free_slots[i] = n - 1 - i;
	}
	s->nfree = n;
	return 0;
}

static unsigned cq_entries_for(const struct rs_config *cfg)
{
	/* At most a recv or send plus a cancel per connection, plus accepts: the
	 * CQ holds them all, so it cannot overflow (the kernel clamps to its max). */
	unsigned want = cfg->max_connections * 2 + cfg->entries + 64, n = 1;
	while (n < want)
		n <<= 1;
	return n;
}

static int try_init(struct rs_server *s, unsigned flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	/* CQSIZE: a CQ sized for every connection's completions (see
	 * cq_entries_for); CLAMP: a kernel with a smaller maximum clamps the
	 * sizes instead of failing (5.6+; NODROP then keeps overflow). */
	p.flags = flags | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
	p.cq_entries = cq_entries_for(&s->cfg);
	p.sq_thread_idle = s->cfg.sq_idle_ms;
	if (s->cfg.sq_cpu >= 0)
		p.sq_thread_cpu = (unsigned)s->cfg.sq_cpu;
	int ret = io_uring_queue_init_params(s->cfg.entries, &s->ring, &p);
	if (ret == 0 && (p.features & IORING_FEAT_NODROP))
		s->features |= RS_FEAT_NODROP;
	return ret;
}

/* io_uring itself blocked (seccomp, io_uring_disabled, no kernel support), or
 * only the flag we asked for? A plain ring tells them apart. */
static int classify_failure(struct rs_server *s, const char *what, int ret)
{
	struct io_uring probe;

	if (io_uring_queue_init(4, &probe, 0) < 0) {
		set_error(s, "io_uring_setup", -ret);
		return ret;
	}
	io_uring_queue_exit(&probe);
	snprintf(s->error, sizeof(s->error), "%s: %s", what, strerror(-ret));
	return -EOPNOTSUPP;
}

static int setup_sqpoll_ring(struct rs_server *s)
{
	/* SQPOLL: a kernel thread consumes the SQ, so submitting is a memory
	 * write, not a syscall. SQ_AFF pins that thread; a kernel that rejects
	 * the pin gets an unpinned thread and RS_FEAT_SQ_AFF stays clear. */
	unsigned flags = IORING_SETUP_SQPOLL;
	int ret;

	if (s->cfg.sq_cpu >= 0) {
		ret = try_init(s, flags | IORING_SETUP_SQ_AFF);
		if (ret == 0) {
			s->features |= RS_FEAT_SQPOLL | RS_FEAT_SQ_AFF;
			return 0;
		}
		if (ret != -EINVAL)
			return classify_failure(s, "IORING_SETUP_SQ_AFF", ret);
	}
	ret = try_init(s, flags);
	if (ret < 0)
		return classify_failure(s, "IORING_SETUP_SQPOLL", ret);
	s->features |= RS_FEAT_SQPOLL;
	return 0;
}

static int setup_batch_ring(struct rs_server *s)
{
	/* SINGLE_ISSUER|DEFER_TASKRUN (6.1+): completions run only when this
	 * thread waits, batching them into its one io_uring_enter per loop.
	 * COOP_TASKRUN (5.19+) is the next best: no IPI to interrupt us. */
	int ret = try_init(s, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
	if (ret == 0) {
		s->features |= RS_FEAT_SINGLE_ISSUER | RS_FEAT_DEFER_TASKRUN;
		return 0;
	}
	if (ret == -EINVAL) {
		ret = try_init(s, IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
		if (ret == 0) {
			s->features |= RS_FEAT_COOP_TASKRUN;
			return 0;
		}
	}
	if (ret == -EINVAL)
		ret = try_init(s, 0);
	if (ret < 0) {
		set_error(s, "io_uring_setup", -ret);
		return ret;
	}
	return 0;
}

/* The kernel caps a registered file table at RLIMIT_NOFILE: lift the soft
 * limit toward the hard one (Bun usually has already). */
static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Runs on the ring thread: with SINGLE_ISSUER the creating task is the only
 * one allowed to submit, and DEFER_TASKRUN work runs only for it. */
int setup_ring(struct rs_server *s)
{
	int ret = s->cfg.mode == RS_MODE_BATCH ? setup_batch_ring(s) : setup_sqpoll_ring(s);
	if (ret < 0)
		return ret;
	/* Direct descriptors (5.19+): accepted sockets live in a sparse table
	 * of max_connections slots and never enter the fd table. Without it we
	 * fall back to plain fds. */
	raise_nofile(s->cfg.max_connections + 64);
	if (io_uring_register_files_sparse(&s->ring, s->cfg.max_connections) == 0) {
		s->fixed_files = true;
		s->features |= RS_FEAT_FIXED_FILES;
	}
	return 0;
}
