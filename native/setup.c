/* Building a ring: preallocated connection state and the io_uring with its
 * per-mode flags and fallbacks (the listening sockets are listen.c's, the
 * replies replies.c's). */
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

#include "setup.h"

#include "bufs.h"
#include "sq.h"

#define X_STEP_NAME(C, n) #n,
static const char *const step_names[RS_STEPS] = { RS_STEP_LIST(X_STEP_NAME) };

void set_error(struct ring *r, enum rs_step step, int err)
{
	r->step = step;
	snprintf(r->error, sizeof(r->error), "%s: %s", step_names[step], strerror(err));
}

/* The connection table and what it lends per connection; the own input
 * buffers come with the ring (setup_ring), once it is known whether input
 * arrives in provided buffers. calloc'd and mmap'd memory is touched only as
 * connections use it. */
int setup_conns(struct ring *r)
{
	uint32_t n = r->nconns;

	r->conns = calloc(n, sizeof(*r->conns));
	r->free_slots = calloc(n, sizeof(*r->free_slots));
	r->route_requests = calloc(r->srv->cfg.routes + 1, sizeof(*r->route_requests));
	r->route_outcomes = calloc((size_t)(r->srv->cfg.routes + 1) * (r->srv->nstatuses + RS_FAULTS), sizeof(*r->route_outcomes));
	if (!r->conns || !r->free_slots || !r->route_requests || !r->route_outcomes ||
	    pool_init(&r->vecs, sizeof(struct sendvec), n) < 0) {
		set_error(r, RS_STEP_ALLOC, ENOMEM);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++)
		r->free_slots[i] = n - 1 - i;
	r->nfree = n;
	return 0;
}

void free_conns(struct ring *r)
{
	free(r->conns);
	free(r->free_slots);
	free(r->route_requests);
	free(r->route_outcomes);
	pool_free(&r->vecs);
	pool_free(&r->inputs);
	free_bufring(r);
}

/* Input buffers: provided ones where the kernel has buffer rings (then a
 * connection's own buffer holds an incomplete request plus one provided
 * buffer's worth), else one own buffer per connection, read into directly. */
static int setup_input(struct ring *r)
{
	uint32_t cap = r->srv->policy.max_header;

	if (setup_bufring(r) == 0) {
		r->provided = true;
		r->features |= RS_FEAT(BUF_RING);
		cap += r->bufs.size;
		/* Multishot recv (6.0+) for connections that send many requests;
		 * a kernel that rejects it gets single-shot recvs (handle_recv). */
		r->use_multishot = r->srv->policy.keep_alive;
		if (r->use_multishot)
			r->features |= RS_FEAT(RECV_MULTISHOT);
	} else {
		free_bufring(r);
	}
	if (pool_init(&r->inputs, cap, r->nconns) < 0) {
		set_error(r, RS_STEP_ALLOC, ENOMEM);
		return -ENOMEM;
	}
	return 0;
}

static unsigned cq_entries_for(const struct ring *r)
{
	/* A send, a cancel and a few multishot receives per connection, plus
	 * accepts: room for them all (the kernel clamps to its max, and NODROP
	 * keeps what would not fit). */
	unsigned want = r->nconns * 4 + r->srv->cfg.entries + 64, n = 1;
	while (n < want)
		n <<= 1;
	return n;
}

static int try_init(struct ring *r, unsigned flags)
{
	const struct rs_config *cfg = &r->srv->cfg;
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	/* CQSIZE: a CQ sized for every connection's completions (see
	 * cq_entries_for); CLAMP: a kernel with a smaller maximum clamps the
	 * sizes instead of failing (5.6+; NODROP then keeps overflow). */
	p.flags = flags | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
	p.cq_entries = cq_entries_for(r);
	p.sq_thread_idle = cfg->sq_idle_ms;
	if (r->sq_cpu >= 0)
		p.sq_thread_cpu = (unsigned)r->sq_cpu;
	int ret = io_uring_queue_init_params(cfg->entries, &r->uring, &p);
	if (ret == 0 && (p.features & IORING_FEAT_NODROP))
		r->features |= RS_FEAT(NODROP);
	return ret;
}

/* io_uring itself blocked (seccomp, io_uring_disabled, no kernel support), or
 * only the flag we asked for? A plain ring tells them apart. */
static int classify_failure(struct ring *r, enum rs_step flag_step, int ret)
{
	struct io_uring probe;

	if (io_uring_queue_init(4, &probe, 0) < 0) {
		set_error(r, RS_STEP_IO_URING_SETUP, -ret);
		return ret;
	}
	io_uring_queue_exit(&probe);
	set_error(r, flag_step, -ret);
	return -EOPNOTSUPP;
}

static int setup_sqpoll_ring(struct ring *r)
{
	/* SQPOLL: a kernel thread consumes the SQ, so submitting is a memory
	 * write, not a syscall. SQ_AFF pins that thread; a kernel that rejects
	 * the pin gets an unpinned thread and RS_FEAT_SQ_AFF stays clear. */
	unsigned flags = IORING_SETUP_SQPOLL;
	int ret;

	if (r->sq_cpu >= 0) {
		ret = try_init(r, flags | IORING_SETUP_SQ_AFF);
		if (ret == 0) {
			r->features |= RS_FEAT(SQPOLL) | RS_FEAT(SQ_AFF);
			return 0;
		}
		if (ret != -EINVAL)
			return classify_failure(r, RS_STEP_SQ_AFF, ret);
	}
	ret = try_init(r, flags);
	if (ret < 0)
		return classify_failure(r, RS_STEP_SQPOLL, ret);
	r->features |= RS_FEAT(SQPOLL);
	return 0;
}

static int setup_batch_ring(struct ring *r)
{
	/* SINGLE_ISSUER|DEFER_TASKRUN (6.1+): completions run only when this
	 * thread waits, batching them into its one io_uring_enter per loop.
	 * COOP_TASKRUN (5.19+) is the next best: no IPI to interrupt us. */
	int ret = try_init(r, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
	if (ret == 0) {
		r->features |= RS_FEAT(SINGLE_ISSUER) | RS_FEAT(DEFER_TASKRUN);
		return 0;
	}
	if (ret == -EINVAL) {
		ret = try_init(r, IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
		if (ret == 0) {
			r->features |= RS_FEAT(COOP_TASKRUN);
			return 0;
		}
	}
	if (ret == -EINVAL)
		ret = try_init(r, 0);
	if (ret < 0) {
		set_error(r, RS_STEP_IO_URING_SETUP, -ret);
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

/* Socket commands through the ring (6.7+): a reset fault sets SO_LINGER
 * with one, and needs no system call. Tried once on the listener with a
 * harmless option; a kernel that refuses it gets plain closes for resets. */
static void probe_sock_cmd(struct ring *r)
{
	static const int one = 1;
	struct io_uring_sqe *sqe = get_sqe(r);
	struct io_uring_cqe *cqe;

	prep_setsockopt(sqe, r->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	io_uring_sqe_set_data64(sqe, 0);
	if (io_uring_submit_and_wait(&r->uring, 1) < 0 || io_uring_peek_cqe(&r->uring, &cqe) < 0)
		return;
	if (cqe->res == 0)
		r->features |= RS_FEAT(SOCK_CMD);
	io_uring_cqe_seen(&r->uring, cqe);
}

/* Runs on the ring thread: with SINGLE_ISSUER the creating task is the only
 * one allowed to submit, and DEFER_TASKRUN work runs only for it. */
int setup_ring(struct ring *r)
{
	int ret = r->srv->cfg.mode == RS_MODE_BATCH ? setup_batch_ring(r) : setup_sqpoll_ring(r);
	if (ret < 0)
		return ret;
	/* Direct descriptors (5.19+): accepted sockets live in a sparse table
	 * of max_connections slots and never enter the fd table. Without it we
	 * fall back to plain fds. */
	raise_nofile(r->nconns + 64);
	if (io_uring_register_files_sparse(&r->uring, r->nconns) == 0) {
		r->fixed_files = true;
		r->features |= RS_FEAT(FIXED_FILES);
	}
	if ((ret = setup_input(r)) < 0) {
		io_uring_queue_exit(&r->uring);
		return ret;
	}
	probe_sock_cmd(r);
	return 0;
}
