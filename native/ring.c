/* The ring thread: accept -> recv -> send -> close, driven by completions.
 *
 * I/O only. What a connection does next is decided by its state machine
 * (conn.c, with the response policy in policy.c); this file turns each
 * completion into an event for it and carries out the one I/O step it asks
 * for. A connection has at most one recv or send in flight (plus, while
 * closing, a shutdown or cancel), so no locking is needed and the CQ, sized
 * for two completions per connection, cannot overflow.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"

static inline uint32_t conn_idx(const struct ring *r, const struct conn *c)
{
	return (uint32_t)(c - r->conns);
}

static struct conn_env env_of(const struct ring *r)
{
	return (struct conn_env){ .policy = &r->srv->policy, .draining = r->draining };
}

static struct io_uring_sqe *get_sqe(struct ring *r)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&r->uring))) {
		/* A full SQ is normal in a burst: hand it to the kernel (under
		 * SQPOLL, wait for its thread to make room) and retry. */
		CTR_ADD(r, sq_full, 1);
		io_uring_submit(&r->uring);
		if (r->features & RS_FEAT(SQPOLL))
			io_uring_sqring_wait(&r->uring);
	}
	return sqe;
}

/* An operation on the connection's socket. Counted until its completion:
 * the slot (a fixed file index, or an fd number) is closed and reused only
 * once nothing queued for this connection can still run (see close_conn). */
static void set_conn_op(struct ring *r, struct io_uring_sqe *sqe, struct conn *c, enum op_type t)
{
	if (r->fixed_files)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, encode_ud(t, c->gen, conn_idx(r, c)));
	c->inflight++;
}

/* ---- accept ------------------------------------------------------------ */

/* Every armed accept holds a slot: the table can never be overfilled. */
static bool has_free_slot(const struct ring *r)
{
	uint64_t used = r->ctr.active + r->accepts_inflight;

	return r->fixed_files ? used < r->nconns : r->accepts_inflight < r->nfree;
}

/* A close linked behind a send frees its table slot after the send's CQE,
 * when the kernel gets to it; an accept issued in between would find the
 * table full. Near the limit, closes are queued explicitly instead: a
 * close_direct is done inline, before any later accept in the SQ. */
static bool can_link_close(const struct ring *r)
{
	uint64_t used = r->ctr.active + r->accepts_inflight + RS_LINK_CLOSE_HEADROOM;

	return !r->fixed_files || used <= r->nconns;
}

/* Single-shot accepts, up to RS_ACCEPT_DEPTH at once. Not multishot: a
 * multishot accept drains the whole backlog in the kernel, and a connection
 * it accepts into a full table is closed there (-ENFILE) and lost. Past
 * max_connections, clients wait in the listen backlog instead. */
static void add_accept(struct ring *r)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (r->fixed_files)
		/* "- 1": the helper stores index + 1, and ALLOC is ~0. */
		io_uring_prep_accept_direct(sqe, r->listen_fd, NULL, NULL, 0,
					    IORING_FILE_INDEX_ALLOC - 1);
	else
		io_uring_prep_accept(sqe, r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_ACCEPT, 0, 0));
	r->accepts_inflight++;
}

static void maybe_rearm_accept(struct ring *r)
{
	if (r->draining || r->now_ms < r->accept_resume_ms)
		return;
	while (r->accepts_inflight < RS_ACCEPT_DEPTH && has_free_slot(r))
		add_accept(r);
}

/* Under SQPOLL an accept queued just before the drain may not be issued
 * yet: closing the listener under it would fail it with -EBADF. So the
 * listener is closed once the last accept has completed (or been
 * cancelled); from then on the backlog is refused. */
static void close_listener(struct ring *r)
{
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	r->listen_fd = -1;
}

/* ---- one I/O step per call ---------------------------------------------- */

static void add_recv(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(r);
	struct conn_http *h = &c->http;
	uint32_t cap = r->srv->policy.max_header;

	io_uring_prep_recv(sqe, c->fd, h->buf + h->len, cap - h->len, 0);
	set_conn_op(r, sqe, c, OP_RECV);
}

static void prep_close(struct ring *r, struct io_uring_sqe *sqe, const struct conn *c)
{
	if (r->fixed_files)
		io_uring_prep_close_direct(sqe, (unsigned)c->fd);
	else
		io_uring_prep_close(sqe, c->fd);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_CLOSE, c->gen, conn_idx(r, c)));
}

/* MSG_WAITALL: the kernel retries a short send itself, so a short result
 * means failure, and a linked close is cancelled rather than cutting the
 * response. */
static void add_send(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL | MSG_WAITALL);
	set_conn_op(r, sqe, c, OP_SEND);
	if (!c->close_linked)
		return;
	/* Nothing left to read: close right behind the send, in the kernel,
	 * with no completion on success. One CQE per response, not two. */
	sqe->flags |= IOSQE_IO_LINK;
	sqe = get_sqe(r);
	prep_close(r, sqe, c);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

/* The replies conn.c queued, as one sendmsg over the prebuilt bytes. */
static void start_send(struct ring *r, struct conn *c)
{
	const struct conn_http *h = &c->http;

	for (uint32_t i = 0; i < h->nreplies; i++) {
		const struct blob *b = &r->srv->replies[h->replies[i]];
		c->iov[i] = (struct iovec){ .iov_base = (void *)b->ptr, .iov_len = b->len };
	}
	memset(&c->msg, 0, sizeof(c->msg));
	c->msg.msg_iov = c->iov;
	c->msg.msg_iovlen = h->nreplies;
	c->close_linked = conn_done_after_send(h) && can_link_close(r);
	add_send(r, c);
}

/* Shut our side, then read until the client's EOF: closing with unread
 * input would make the kernel send RST and the client lose the response. */
static void start_linger(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	io_uring_prep_shutdown(sqe, c->fd, SHUT_WR);
	set_conn_op(r, sqe, c, OP_SHUTDOWN);
	CTR_ADD(r, lingering_closes, 1);
	add_recv(r, c);
}

/* The slot is free once its close is queued (or done by a linked close) and
 * nothing else of this connection is in flight; a new tenant bumps the
 * generation. */
static void release_conn(struct ring *r, struct conn *c)
{
	conn_set_state(&c->http, CONN_FREE);
	c->gen++;
	if (!r->fixed_files)
		r->free_slots[r->nfree++] = conn_idx(r, c);
	CTR_ADD(r, active, -1);
	maybe_rearm_accept(r);
}

static void submit_close(struct ring *r, struct conn *c)
{
	prep_close(r, get_sqe(r), c);
	release_conn(r, c);
}

/* The generation in user_data only guards completions. An operation still
 * queued when the close runs would resolve the slot when it is issued, and
 * by then the slot may hold the next connection: a lingering close's
 * shutdown, which the kernel always runs in an io-wq worker, shut down the
 * next client's socket that way. So the close waits (CONN_CLOSING) until
 * every operation of this connection has completed, and goes out with the
 * last completion (see handle_cqe). */
static void close_conn(struct ring *r, struct conn *c)
{
	if (c->http.state != CONN_CLOSING)
		conn_set_state(&c->http, CONN_CLOSING);
	if (!c->inflight)
		submit_close(r, c);
}

/* A deadline passed: cancel the one operation in flight; its completion
 * (-ECANCELED, or a late result) then closes the connection. */
static void expire_conn(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(r);
	enum conn_state st = c->http.state;
	enum op_type t = st == CONN_SENDING || st == CONN_SENDING_LAST ? OP_SEND : OP_RECV;

	io_uring_prep_cancel64(sqe, encode_ud(t, c->gen, conn_idx(r, c)), 0);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_CANCEL, c->gen, conn_idx(r, c)));
	c->expired = true;
}

/* Each state has its clock: a request (header and body) gets
 * header_timeout from its first byte, a send header_timeout from its start,
 * an idle keep-alive connection idle_timeout, a lingering one RS_LINGER_MS. */
static void arm_deadline(struct ring *r, struct conn *c, enum conn_state from)
{
	const struct rs_config *cfg = &r->srv->cfg;
	enum conn_state to = c->http.state;
	bool was_reading = from == CONN_READING || from == CONN_READING_BODY;

	if ((to == CONN_READING || to == CONN_READING_BODY) && !was_reading)
		c->deadline_ms = r->now_ms + cfg->header_timeout_ms;
	else if (to == CONN_SENDING || to == CONN_SENDING_LAST)
		c->deadline_ms = r->now_ms + cfg->header_timeout_ms;
	else if (to == CONN_IDLE)
		c->deadline_ms = r->now_ms + cfg->idle_timeout_ms;
	else if (to == CONN_LINGERING)
		c->deadline_ms = r->now_ms + RS_LINGER_MS;
}

/* Carries out the step the state machine chose, after it moved from `from`. */
static void apply(struct ring *r, struct conn *c, enum conn_state from, enum conn_io io,
		  const struct conn_tally *t)
{
	CTR_ADD(r, requests, t->requests);
	CTR_ADD(r, bad_requests, t->bad_requests);
	CTR_ADD(r, too_large, t->too_large);
	CTR_ADD(r, client_eof_early, t->eof_early);
	arm_deadline(r, c, from);
	switch (io) {
	case CONN_IO_RECV: add_recv(r, c); break;
	case CONN_IO_SEND: start_send(r, c); break;
	case CONN_IO_LINGER: start_linger(r, c); break;
	case CONN_IO_CLOSE: close_conn(r, c); break;
	}
}

/* ---- completions --------------------------------------------------------- */

static void handle_new_conn(struct ring *r, int res)
{
	uint32_t idx = r->fixed_files ? (uint32_t)res : r->free_slots[--r->nfree];
	struct conn *c = &r->conns[idx];
	struct conn_tally none = { 0 };

	conn_open(&c->http, r->buf_slab + (size_t)idx * r->srv->policy.max_header);
	c->fd = res;
	c->inflight = 0;
	c->expired = c->close_linked = false;
	CTR_ADD(r, accepted, 1);
	CTR_ADD(r, active, 1);
	apply(r, c, CONN_FREE, CONN_IO_RECV, &none);
}

static void handle_accept(struct ring *r, const struct io_uring_cqe *cqe)
{
	r->accepts_inflight--;
	if (r->draining && !r->accepts_inflight)
		close_listener(r);
	if (cqe->res >= 0) {
		handle_new_conn(r, cqe->res);
	} else if (cqe->res == -EINVAL && r->fixed_files && !r->ctr.accepted) {
		/* Kernel without accept into direct descriptors: plain fds. */
		r->fixed_files = false;
		r->features &= ~RS_FEAT(FIXED_FILES);
	} else if (cqe->res == -EMFILE || cqe->res == -ENFILE || cqe->res == -ENOMEM ||
		   cqe->res == -ENOBUFS) {
		/* Out of descriptors or memory: pause, the tick resumes us. */
		CTR_ADD(r, accept_backoffs, 1);
		r->accept_resume_ms = r->now_ms + RS_ACCEPT_BACKOFF_MS;
	} else if (cqe->res != -ECANCELED) {
		CTR_ADD(r, accept_errors, 1); /* ECONNABORTED and such: one client */
	}
	maybe_rearm_accept(r);
}

static void handle_recv(struct ring *r, struct conn *c, int res)
{
	struct conn_env env = env_of(r);
	struct conn_tally t = { 0 };
	enum conn_state from = c->http.state;

	if (res > 0 && !c->expired) {
		apply(r, c, from, conn_on_input(&c->http, (uint32_t)res, &env, &t), &t);
		return;
	}
	if (res == -ECONNRESET)
		CTR_ADD(r, client_resets, 1);
	else if (res < 0 && res != -ECANCELED)
		CTR_ADD(r, recv_errors, 1);
	if (res == 0 && !c->expired)
		apply(r, c, from, conn_on_eof(&c->http, &t), &t);
	else
		close_conn(r, c);
}

/* Drops sent bytes from the front of msg's iovecs; true if any remain. */
static bool advance_iov(struct msghdr *msg, size_t sent)
{
	while (msg->msg_iovlen && sent >= msg->msg_iov->iov_len) {
		sent -= msg->msg_iov->iov_len;
		msg->msg_iov++;
		msg->msg_iovlen--;
	}
	if (msg->msg_iovlen) {
		msg->msg_iov->iov_base = (uint8_t *)msg->msg_iov->iov_base + sent;
		msg->msg_iov->iov_len -= sent;
	}
	return msg->msg_iovlen > 0;
}

static void handle_send(struct ring *r, struct conn *c, int res)
{
	struct conn_env env = env_of(r);
	struct conn_tally t = { 0 };
	enum conn_state from = c->http.state;
	bool rest;

	if (res < 0) {
		if (res == -EPIPE || res == -ECONNRESET)
			CTR_ADD(r, client_resets, 1);
		else if (res != -ECANCELED)
			CTR_ADD(r, send_errors, 1);
		close_conn(r, c); /* a linked close was cancelled with the send */
		return;
	}
	CTR_ADD(r, bytes_sent, res);
	rest = advance_iov(&c->msg, (size_t)res);
	if (!rest)
		CTR_ADD(r, responses, c->http.nreplies);
	if (!rest && c->close_linked) {
		release_conn(r, c); /* the kernel closed it right after the send */
		return;
	}
	c->close_linked = false; /* short means interrupted: the link was cut */
	if (c->expired)
		close_conn(r, c);
	else if (rest)
		add_send(r, c);
	else
		apply(r, c, from, conn_on_sent(&c->http, &env, &t), &t);
}

static void handle_cqe(struct ring *r, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	enum op_type t = ud_type(ud);
	struct conn *c;

	if (t == OP_ACCEPT) {
		handle_accept(r, cqe);
		return;
	}
	if (t != OP_RECV && t != OP_SEND && t != OP_SHUTDOWN)
		return; /* close, cancel, wake: nothing owed */
	c = &r->conns[ud_idx(ud)];
	if (c->http.state == CONN_FREE || (c->gen & 0xffffff) != ud_gen(ud))
		return;
	c->inflight--;
	if (c->http.state == CONN_CLOSING) {
		if (!c->inflight)
			submit_close(r, c);
		return;
	}
	if (t == OP_RECV)
		handle_recv(r, c, cqe->res);
	else if (t == OP_SEND)
		handle_send(r, c, cqe->res);
	/* a shutdown's failure shows on the lingering recv too */
}

/* ---- timers, draining, the loop ---------------------------------------- */

static void add_wake(struct ring *r)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	io_uring_prep_read(sqe, r->wake_fd, &r->wake_buf, sizeof(r->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_WAKE, 0, 0));
}

static void start_drain(struct ring *r)
{
	struct io_uring_sqe *sqe;

	r->draining = true;
	CTR_SET(r, state, RS_STATE_DRAINING);
	r->drain_deadline_ms = r->now_ms + r->srv->stop_drain_ms;
	if (r->accepts_inflight) {
		sqe = get_sqe(r);
		io_uring_prep_cancel64(sqe, encode_ud(OP_ACCEPT, 0, 0), IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, encode_ud(OP_CANCEL, 0, 0));
	} else {
		close_listener(r);
	}
	for (uint32_t i = 0; i < r->nconns; i++)
		if (conn_is_idle(&r->conns[i].http))
			expire_conn(r, &r->conns[i]);
}

static void sweep_deadlines(struct ring *r, bool all)
{
	for (uint32_t i = 0; i < r->nconns; i++) {
		struct conn *c = &r->conns[i];
		enum conn_state st = c->http.state;

		if (st == CONN_FREE || st == CONN_CLOSING || c->expired ||
		    (!all && c->deadline_ms > r->now_ms))
			continue;
		if (!all && st == CONN_IDLE)
			CTR_ADD(r, idle_timeouts, 1);
		else if (!all && (st == CONN_READING || st == CONN_READING_BODY))
			CTR_ADD(r, header_timeouts, 1);
		expire_conn(r, c);
	}
}

static void tick(struct ring *r)
{
	if (r->now_ms < r->next_tick_ms)
		return;
	r->next_tick_ms = r->now_ms + RS_TICK_MS;
	CTR_SET(r, cq_overflow, *r->uring.cq.koverflow);
	if (r->accept_resume_ms && r->now_ms >= r->accept_resume_ms) {
		r->accept_resume_ms = 0;
		maybe_rearm_accept(r);
	}
	if (r->ctr.active)
		sweep_deadlines(r, r->draining && r->now_ms >= r->drain_deadline_ms);
	if (r->draining && (!r->ctr.active || r->now_ms >= r->drain_deadline_ms + RS_HARD_STOP_MS))
		r->done = true;
}

static void park(struct ring *r)
{
	bool timers = r->ctr.active || r->draining || r->accept_resume_ms;
	struct __kernel_timespec ts = { .tv_sec = timers ? 0 : 1,
					.tv_nsec = timers ? RS_TICK_MS * 1000000L : 0 };
	struct io_uring_cqe *cqe;
	unsigned want = 1;

	/* Batch mode under load: wait for a share of the connections in
	 * flight, briefly, so one io_uring_enter reaps many completions. */
	if (r->srv->cfg.mode == RS_MODE_BATCH && r->ctr.active >= 4) {
		want = r->ctr.active / 2 < RS_BATCH_MAX ? (unsigned)r->ctr.active / 2 : RS_BATCH_MAX;
		ts = (struct __kernel_timespec){ .tv_nsec = RS_BATCH_WAIT_US * 1000L };
	}
	CTR_ADD(r, parks, 1);
	io_uring_submit_and_wait_timeout(&r->uring, &cqe, want, &ts, NULL);
}

static void wait_for_work(struct ring *r)
{
	uint32_t budget = r->srv->cfg.spin_budget_ms;

	if (r->srv->cfg.mode == RS_MODE_SPIN &&
	    (budget == RS_SPIN_FOREVER || r->now_ms - r->last_activity_ms < budget)) {
		/* Under SQPOLL this only writes the SQ tail: no syscall unless
		 * the kernel thread went to sleep. */
		io_uring_submit(&r->uring);
		__builtin_ia32_pause();
		return;
	}
	park(r);
}

static unsigned reap(struct ring *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&r->uring, head, cqe) {
		handle_cqe(r, cqe);
		n++;
	}
	if (n)
		io_uring_cq_advance(&r->uring, n);
	return n;
}

static void run(struct ring *r)
{
	r->last_activity_ms = r->now_ms = now_ms();
	while (!r->done) {
		unsigned n = reap(r);
		r->now_ms = now_ms();
		CTR_ADD(r, loops, 1);
		if (n)
			r->last_activity_ms = r->now_ms;
		if (!r->draining && __atomic_load_n(&r->srv->stop_requested, __ATOMIC_ACQUIRE))
			start_drain(r);
		tick(r);
		/* Batch mode submits and waits in one io_uring_enter; under
		 * SQPOLL submitting is free, and waiting is for when idle. */
		if (r->srv->cfg.mode == RS_MODE_BATCH)
			park(r);
		else if (n)
			io_uring_submit(&r->uring);
		else
			wait_for_work(r);
	}
}

static void cleanup_ring(struct ring *r)
{
	/* Exiting the ring cancels what is left and closes direct descriptors;
	 * plain fds (no fixed files) are ours to close. */
	io_uring_queue_exit(&r->uring);
	for (uint32_t i = 0; i < r->nconns; i++)
		if (r->conns[i].http.state != CONN_FREE && !r->fixed_files)
			close(r->conns[i].fd);
	CTR_SET(r, active, 0);
}

static int start_ring(struct ring *r)
{
	int ret = setup_ring(r);

	if (ret < 0)
		return ret;
	r->now_ms = now_ms();
	add_wake(r);
	maybe_rearm_accept(r);
	ret = io_uring_submit(&r->uring);
	if (ret < 0) {
		set_error(r, RS_STEP_SUBMIT, -ret);
		io_uring_queue_exit(&r->uring);
		return ret;
	}
	return 0;
}

/* Pinned only after the ring exists: the SQPOLL thread inherits its
 * creator's CPU mask, and --cpu is for this thread alone (--sq-cpu places
 * the kernel thread). */
static void pin_ring_thread(struct ring *r)
{
	cpu_set_t set;

	if (r->cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0)
		r->features |= RS_FEAT(RING_AFF);
}

void *ring_thread_main(void *arg)
{
	struct ring *r = arg;
	sigset_t all;
	int ret;

	/* Signals belong to Bun's threads, never to this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_setname_np(pthread_self(), r->name);
	ret = start_ring(r);
	if (ret == 0) {
		pin_ring_thread(r);
		CTR_SET(r, state, RS_STATE_RUNNING);
	}
	r->setup_result = ret;
	__atomic_store_n(&r->setup_done, 1, __ATOMIC_RELEASE);
	if (ret < 0)
		return NULL;
	run(r);
	cleanup_ring(r);
	CTR_SET(r, state, RS_STATE_STOPPED);
	return NULL;
}
