/* The ring thread: accept -> recv -> send -> close, driven by completions.
 *
 * Every connection has at most one recv or send in flight (plus, while
 * closing, a shutdown or cancel), so connection state needs no locking and
 * the CQ, sized for two completions per connection, cannot overflow.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "ring_internal.h"

static void process_input(struct rs_server *s, struct conn *c);

static inline uint32_t conn_idx(const struct rs_server *s, const struct conn *c)
{
	return (uint32_t)(c - s->conns);
}

static struct io_uring_sqe *get_sqe(struct rs_server *s)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&s->ring))) {
		/* A full SQ is normal in a burst: hand it to the kernel (under
		 * SQPOLL, wait for its thread to make room) and retry. */
		CTR_ADD(s, sq_full, 1);
		io_uring_submit(&s->ring);
		if (s->features & RS_FEAT_SQPOLL)
			io_uring_sqring_wait(&s->ring);
	}
	return sqe;
}

/* An operation on the connection's socket. Counted until its completion:
 * the slot (a fixed file index, or an fd number) is closed and reused only
 * once nothing queued for this connection can still run (see close_conn). */
static void set_conn_op(struct rs_server *s, struct io_uring_sqe *sqe, struct conn *c,
			enum op_type t)
{
	if (s->fixed_files)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, encode_ud(t, c->gen, conn_idx(s, c)));
	c->inflight++;
}

/* ---- accept ------------------------------------------------------------ */

/* Every armed accept holds a slot: the table can never be overfilled. */
static bool has_free_slot(const struct rs_server *s)
{
	uint64_t used = s->ctr.active + s->accepts_inflight;

	return s->fixed_files ? used < s->cfg.max_connections : s->accepts_inflight < s->nfree;
}

/* A close linked behind a send frees its table slot after the send's CQE,
 * when the kernel gets to it; an accept issued in between would find the
 * table full. Near the limit, closes are queued explicitly instead: a
 * close_direct is done inline, before any later accept in the SQ. */
static bool can_link_close(const struct rs_server *s)
{
	uint64_t used = s->ctr.active + s->accepts_inflight + RS_LINK_CLOSE_HEADROOM;

	return !s->fixed_files || used <= s->cfg.max_connections;
}

/* Single-shot accepts, up to RS_ACCEPT_DEPTH at once. Not multishot: a
 * multishot accept drains the whole backlog in the kernel, and a connection
 * it accepts into a full table is closed there (-ENFILE) and lost. Past
 * max_connections, clients wait in the listen backlog instead. */
static void add_accept(struct rs_server *s)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	if (s->fixed_files)
		/* "- 1": the helper stores index + 1, and ALLOC is ~0. */
		io_uring_prep_accept_direct(sqe, s->listen_fd, NULL, NULL, 0,
					    IORING_FILE_INDEX_ALLOC - 1);
	else
		io_uring_prep_accept(sqe, s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_ACCEPT, 0, 0));
	s->accepts_inflight++;
}

static void maybe_rearm_accept(struct rs_server *s)
{
	if (s->draining || s->now_ms < s->accept_resume_ms)
		return;
	while (s->accepts_inflight < RS_ACCEPT_DEPTH && has_free_slot(s))
		add_accept(s);
	s->accept_paused = !s->accepts_inflight;
}

static void add_recv(struct rs_server *s, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(s);
	uint32_t cap = s->cfg.max_header_bytes;

	if (c->state == CONN_LINGERING)
		io_uring_prep_recv(sqe, c->fd, c->buf, cap, 0);
	else
		io_uring_prep_recv(sqe, c->fd, c->buf + c->len, cap - c->len, 0);
	set_conn_op(s, sqe, c, OP_RECV);
}

static void handle_new_conn(struct rs_server *s, int res)
{
	uint32_t idx = s->fixed_files ? (uint32_t)res : s->free_slots[--s->nfree];
	struct conn *c = &s->conns[idx];
	uint32_t gen = c->gen;

	memset(&c->skip, 0, sizeof(*c) - offsetof(struct conn, skip));
	c->gen = gen + 1;
	c->fd = res;
	c->len = 0;
	c->pending_kind = -1;
	c->state = CONN_READING;
	c->deadline_ms = s->now_ms + s->cfg.header_timeout_ms;
	CTR_ADD(s, accepted, 1);
	CTR_ADD(s, active, 1);
	add_recv(s, c);
}

/* Under SQPOLL an accept queued just before the drain may not be issued
 * yet: closing the listener under it would fail it with -EBADF. So the
 * listener is closed once the last accept has completed (or been
 * cancelled); from then on the backlog is refused. */
static void close_listener(struct rs_server *s)
{
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
}

static void handle_accept(struct rs_server *s, const struct io_uring_cqe *cqe)
{
	s->accepts_inflight--;
	if (s->draining && !s->accepts_inflight)
		close_listener(s);
	if (cqe->res >= 0) {
		handle_new_conn(s, cqe->res);
	} else if (cqe->res == -EINVAL && s->fixed_files && !s->ctr.accepted) {
		/* Kernel without accept into direct descriptors: plain fds. */
		s->fixed_files = false;
		s->features &= ~RS_FEAT_FIXED_FILES;
	} else if (cqe->res == -EMFILE || cqe->res == -ENFILE || cqe->res == -ENOMEM ||
		   cqe->res == -ENOBUFS) {
		/* Out of descriptors or memory: pause, the tick resumes us. */
		CTR_ADD(s, accept_backoffs, 1);
		s->accept_resume_ms = s->now_ms + RS_ACCEPT_BACKOFF_MS;
	} else if (cqe->res != -ECANCELED) {
		CTR_ADD(s, accept_errors, 1); /* ECONNABORTED and such: one client */
	}
	maybe_rearm_accept(s);
}

/* ---- close ------------------------------------------------------------- */

/* The slot is free as soon as its close is queued (or done by a linked
 * close): no other operation of this connection is in flight (close_conn
 * waits for them), and a new tenant bumps the generation. */
static void release_conn(struct rs_server *s, struct conn *c)
{
	c->state = CONN_FREE;
	c->gen++;
	if (!s->fixed_files)
		s->free_slots[s->nfree++] = conn_idx(s, c);
	CTR_ADD(s, active, -1);
	maybe_rearm_accept(s);
}

static void submit_close(struct rs_server *s, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	if (s->fixed_files)
		io_uring_prep_close_direct(sqe, (unsigned)c->fd);
	else
		io_uring_prep_close(sqe, c->fd);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_CLOSE, c->gen, conn_idx(s, c)));
	release_conn(s, c);
}

/* The generation in user_data only guards completions. An operation still
 * queued when the close runs would resolve the slot when it is issued, and
 * by then the slot may hold the next connection: a lingering close's
 * shutdown, which the kernel always runs in an io-wq worker, shut down the
 * next client's socket that way. So the close waits for every operation of
 * this connection to complete (CONN_CLOSING) and goes out with the last. */
static void close_conn(struct rs_server *s, struct conn *c)
{
	if (c->inflight) {
		c->state = CONN_CLOSING;
		return;
	}
	submit_close(s, c);
}

/* Shut our side, then read until the client's EOF: closing with unread
 * input would make the kernel send RST and the client lose the response. */
static void start_linger(struct rs_server *s, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	io_uring_prep_shutdown(sqe, c->fd, SHUT_WR);
	set_conn_op(s, sqe, c, OP_SHUTDOWN);
	c->state = CONN_LINGERING;
	c->deadline_ms = s->now_ms + RS_LINGER_MS;
	CTR_ADD(s, lingering_closes, 1);
	add_recv(s, c);
}

/* A deadline passed: cancel the one operation in flight; its completion
 * (-ECANCELED, or a late result) then closes the connection. */
static void expire_conn(struct rs_server *s, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(s);
	enum op_type t = c->state == CONN_SENDING ? OP_SEND : OP_RECV;

	io_uring_prep_cancel64(sqe, encode_ud(t, c->gen, conn_idx(s, c)), 0);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_CANCEL, c->gen, conn_idx(s, c)));
	c->expired = true;
}

/* ---- requests and responses ------------------------------------------- */

static enum rs_response_kind choose_response(struct rs_server *s, struct conn *c,
					     const struct rs_request *req)
{
	bool keep, v11 = req->minor_version > 0;
	int kind;

	if (!s->cfg.keep_alive)
		keep = false;
	else if (v11)
		keep = req->connection != RS_CONN_CLOSE;
	else
		keep = req->connection == RS_CONN_KEEP_ALIVE;
	/* A chunked body is not decoded: answer, then drain it and close. */
	if (req->chunked || s->draining ||
	    (s->cfg.max_requests && c->served + 1 >= s->cfg.max_requests))
		keep = false;
	if (!keep) {
		c->close_after = true;
		c->linger |= req->chunked;
	}
	if (!s->cfg.keep_alive)
		kind = RS_RESP_CLOSE_10;
	else if (v11)
		kind = keep ? RS_RESP_KEEP_11 : RS_RESP_CLOSE_11;
	else
		kind = keep ? RS_RESP_KEEP_10 : RS_RESP_CLOSE_10;
	return (enum rs_response_kind)(req->is_head ? kind + RS_RESP_HEAD_CLOSE_10 : kind);
}

/* The close variant of a response: HTTP/1.0 without keep-alive, or
 * HTTP/1.1 with Connection: close; HEAD stays HEAD. */
static enum rs_response_kind closing_kind(enum rs_response_kind k)
{
	switch (k) {
	case RS_RESP_KEEP_10: return RS_RESP_CLOSE_10;
	case RS_RESP_KEEP_11: return RS_RESP_CLOSE_11;
	case RS_RESP_HEAD_KEEP_10: return RS_RESP_HEAD_CLOSE_10;
	case RS_RESP_HEAD_KEEP_11: return RS_RESP_HEAD_CLOSE_11;
	default: return k;
	}
}

static void queue_blob(struct conn *c, struct blob b)
{
	c->iov[c->niov].iov_base = (void *)b.ptr;
	c->iov[c->niov].iov_len = b.len;
	c->niov++;
}

static void queue_error(struct rs_server *s, struct conn *c, int verdict)
{
	enum rs_error_kind k;

	switch (verdict) {
	case RS_FRAME_HEADER_TOO_LARGE: k = RS_ERR_431; break;
	case RS_FRAME_BODY_TOO_LARGE: k = RS_ERR_413; break;
	case RS_FRAME_VERSION: k = RS_ERR_505; break;
	default: k = RS_ERR_400; break;
	}
	if (k == RS_ERR_431 || k == RS_ERR_413)
		CTR_ADD(s, too_large, 1);
	else
		CTR_ADD(s, bad_requests, 1);
	queue_blob(c, s->err[k]);
	c->close_after = c->linger = true;
}

/* Frames as many requests as the buffer holds (up to RS_MAX_IOV responses),
 * skipping bodies; returns the bytes consumed. */
static uint32_t frame_requests(struct rs_server *s, struct conn *c)
{
	uint32_t off = 0;
	struct rs_request req;

	for (;;) {
		if (c->skip) {
			uint64_t take = c->skip < c->len - off ? c->skip : c->len - off;
			off += (uint32_t)take;
			c->skip -= take;
			if (c->skip)
				break;
		}
		if (c->pending_kind >= 0) {
			enum rs_response_kind kind = (enum rs_response_kind)c->pending_kind;

			if (c->niov == RS_MAX_IOV)
				break;
			/* Chosen when the header block was read; a drain that began
			 * since (while its body came in) makes it the last. */
			if (s->draining) {
				kind = closing_kind(kind);
				c->close_after = true;
			}
			queue_blob(c, s->resp[kind]);
			c->pending_kind = -1;
			c->served++;
		}
		if (c->close_after || off == c->len || c->niov == RS_MAX_IOV)
			break;
		int r = rs_frame(c->buf + off, c->len - off, s->cfg.max_header_bytes,
				 s->cfg.max_body_bytes, &req);
		if (r == RS_FRAME_MORE)
			break;
		if (r < 0) {
			queue_error(s, c, r);
			break;
		}
		off += (uint32_t)r;
		CTR_ADD(s, requests, 1);
		c->skip = req.chunked ? 0 : req.content_length;
		c->pending_kind = (int16_t)choose_response(s, c, &req);
	}
	return off;
}

/* MSG_WAITALL: the kernel retries a short send itself, so a short result
 * means failure, and a linked close is cancelled rather than cutting the
 * response. */
static void add_send(struct rs_server *s, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL | MSG_WAITALL);
	set_conn_op(s, sqe, c, OP_SEND);
	if (!c->close_linked)
		return;
	/* Nothing left to read: close right behind the send, in the kernel,
	 * with no completion on success. One CQE per response, not two. */
	sqe->flags |= IOSQE_IO_LINK;
	sqe = get_sqe(s);
	if (s->fixed_files)
		io_uring_prep_close_direct(sqe, (unsigned)c->fd);
	else
		io_uring_prep_close(sqe, c->fd);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, encode_ud(OP_CLOSE, c->gen, conn_idx(s, c)));
}

static void process_input(struct rs_server *s, struct conn *c)
{
	uint32_t off = frame_requests(s, c);

	if (off) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
	if (c->niov) {
		memset(&c->msg, 0, sizeof(c->msg));
		c->msg.msg_iov = c->iov;
		c->msg.msg_iovlen = c->niov;
		c->state = CONN_SENDING;
		c->deadline_ms = s->now_ms + s->cfg.header_timeout_ms;
		c->close_linked = c->close_after && !c->linger && !c->len && !c->skip &&
				  c->pending_kind < 0 && can_link_close(s);
		add_send(s, c);
	} else {
		c->state = CONN_READING;
		add_recv(s, c);
	}
}

static void handle_recv(struct rs_server *s, struct conn *c, int res)
{
	if (c->state == CONN_LINGERING) {
		if (res > 0 && !c->expired)
			add_recv(s, c);
		else
			close_conn(s, c);
		return;
	}
	if (res <= 0 || c->expired) {
		if (res == -ECONNRESET)
			CTR_ADD(s, client_resets, 1);
		else if (res < 0 && res != -ECANCELED)
			CTR_ADD(s, recv_errors, 1);
		else if (res == 0 && (c->len || c->skip || c->pending_kind >= 0 || !c->served))
			CTR_ADD(s, client_eof_early, 1);
		close_conn(s, c);
		return;
	}
	/* First bytes of the next keep-alive request: the header clock starts.
	 * Not for body bytes still owed (skip, pending_kind): the clock that
	 * covers the header covers its body too, or a client dripping a body
	 * would reset it with every byte. */
	if (c->len == 0 && c->served && !c->skip && c->pending_kind < 0)
		c->deadline_ms = s->now_ms + s->cfg.header_timeout_ms;
	c->len += (uint32_t)res;
	process_input(s, c);
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

static void handle_send(struct rs_server *s, struct conn *c, int res)
{
	bool rest;

	if (res < 0) {
		if (res == -EPIPE || res == -ECONNRESET)
			CTR_ADD(s, client_resets, 1);
		else if (res != -ECANCELED)
			CTR_ADD(s, send_errors, 1);
		close_conn(s, c); /* a linked close was cancelled with the send */
		return;
	}
	CTR_ADD(s, bytes_sent, res);
	rest = advance_iov(&c->msg, (size_t)res);
	if (!rest)
		CTR_ADD(s, responses, c->niov);
	if (!rest && c->close_linked) {
		release_conn(s, c); /* the kernel closed it right after the send */
		return;
	}
	/* Short means interrupted, and the linked close was cancelled. */
	c->close_linked = false;
	if (c->expired) {
		close_conn(s, c);
		return;
	}
	if (rest) {
		add_send(s, c);
		return;
	}
	c->niov = 0;
	if (c->close_after) {
		if (c->linger || c->len || c->skip)
			start_linger(s, c);
		else
			close_conn(s, c);
		return;
	}
	if (c->len) {
		process_input(s, c);
		return;
	}
	/* Idle now, and the drain wants nothing more from it: close at once. */
	if (s->draining && !c->skip && c->pending_kind < 0) {
		close_conn(s, c);
		return;
	}
	c->state = CONN_READING;
	c->deadline_ms = s->now_ms + s->cfg.idle_timeout_ms;
	add_recv(s, c);
}

/* ---- timers, draining, the loop ---------------------------------------- */

static void add_wake(struct rs_server *s)
{
	struct io_uring_sqe *sqe = get_sqe(s);

	io_uring_prep_read(sqe, s->wake_fd, &s->wake_buf, sizeof(s->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_WAKE, 0, 0));
}

static void handle_cqe(struct rs_server *s, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	enum op_type t = ud_type(ud);
	struct conn *c;

	if (t == OP_ACCEPT) {
		handle_accept(s, cqe);
		return;
	}
	if (t != OP_RECV && t != OP_SEND && t != OP_SHUTDOWN)
		return; /* close, cancel, wake: nothing owed */
	c = &s->conns[ud_idx(ud)];
	if (c->state == CONN_FREE || (c->gen & 0xffffff) != ud_gen(ud))
		return;
	c->inflight--;
	if (c->state == CONN_CLOSING) {
		if (!c->inflight)
			submit_close(s, c);
		return;
	}
	if (t == OP_SHUTDOWN)
		return; /* a failure shows on the lingering recv too */
	if (t == OP_RECV)
		handle_recv(s, c, cqe->res);
	else
		handle_send(s, c, cqe->res);
}

static bool is_idle_keepalive(const struct conn *c)
{
	return c->state == CONN_READING && c->served && !c->len && !c->skip;
}

static void start_drain(struct rs_server *s)
{
	struct io_uring_sqe *sqe;

	s->draining = true;
	CTR_SET(s, state, RS_STATE_DRAINING);
	s->drain_deadline_ms = s->now_ms + s->stop_drain_ms;
	if (s->accepts_inflight) {
		sqe = get_sqe(s);
		io_uring_prep_cancel64(sqe, encode_ud(OP_ACCEPT, 0, 0), IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, encode_ud(OP_CANCEL, 0, 0));
	} else {
		close_listener(s);
	}
	for (uint32_t i = 0; i < s->cfg.max_connections; i++)
		if (is_idle_keepalive(&s->conns[i]))
			expire_conn(s, &s->conns[i]);
}

static void sweep_deadlines(struct rs_server *s, bool all)
{
	for (uint32_t i = 0; i < s->cfg.max_connections; i++) {
		struct conn *c = &s->conns[i];
		if (c->state == CONN_FREE || c->state == CONN_CLOSING || c->expired ||
		    (!all && c->deadline_ms > s->now_ms))
			continue;
		if (!all && is_idle_keepalive(c))
			CTR_ADD(s, idle_timeouts, 1);
		else if (!all && c->state == CONN_READING)
			CTR_ADD(s, header_timeouts, 1);
		expire_conn(s, c);
	}
}

static void tick(struct rs_server *s)
{
	if (s->now_ms < s->next_tick_ms)
		return;
	s->next_tick_ms = s->now_ms + RS_TICK_MS;
	CTR_SET(s, cq_overflow, *s->ring.cq.koverflow);
	if (s->accept_resume_ms && s->now_ms >= s->accept_resume_ms) {
		s->accept_resume_ms = 0;
		maybe_rearm_accept(s);
	}
	if (s->ctr.active)
		sweep_deadlines(s, s->draining && s->now_ms >= s->drain_deadline_ms);
	if (s->draining && (!s->ctr.active || s->now_ms >= s->drain_deadline_ms + RS_HARD_STOP_MS))
		s->done = true;
}

static void park(struct rs_server *s)
{
	bool timers = s->ctr.active || s->draining || s->accept_resume_ms;
	struct __kernel_timespec ts = { .tv_sec = timers ? 0 : 1,
					.tv_nsec = timers ? RS_TICK_MS * 1000000L : 0 };
	struct io_uring_cqe *cqe;
	unsigned want = 1;

	/* Batch mode under load: wait for a share of the connections in
	 * flight, briefly, so one io_uring_enter reaps many completions. */
	if (s->cfg.mode == RS_MODE_BATCH && s->ctr.active >= 4) {
		want = s->ctr.active / 2 < RS_BATCH_MAX ? (unsigned)s->ctr.active / 2 : RS_BATCH_MAX;
		ts = (struct __kernel_timespec){ .tv_nsec = RS_BATCH_WAIT_US * 1000L };
	}
	CTR_ADD(s, parks, 1);
	io_uring_submit_and_wait_timeout(&s->ring, &cqe, want, &ts, NULL);
}

static void wait_for_work(struct rs_server *s)
{
	uint32_t budget = s->cfg.spin_budget_ms;

	if (s->cfg.mode == RS_MODE_SPIN &&
	    (budget == RS_SPIN_FOREVER || s->now_ms - s->last_activity_ms < budget)) {
		/* Under SQPOLL this only writes the SQ tail: no syscall unless
		 * the kernel thread went to sleep. */
		io_uring_submit(&s->ring);
		__builtin_ia32_pause();
		return;
	}
	park(s);
}

static unsigned reap(struct rs_server *s)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&s->ring, head, cqe) {
		handle_cqe(s, cqe);
		n++;
	}
	if (n)
		io_uring_cq_advance(&s->ring, n);
	return n;
}

static void run(struct rs_server *s)
{
	s->last_activity_ms = s->now_ms = now_ms();
	while (!s->done) {
		unsigned n = reap(s);
		s->now_ms = now_ms();
		CTR_ADD(s, loops, 1);
		if (n)
			s->last_activity_ms = s->now_ms;
		if (!s->draining && __atomic_load_n(&s->stop_requested, __ATOMIC_ACQUIRE))
			start_drain(s);
		tick(s);
		/* Batch mode submits and waits in one io_uring_enter; under
		 * SQPOLL submitting is free, and waiting is for when idle. */
		if (s->cfg.mode == RS_MODE_BATCH)
			park(s);
		else if (n)
			io_uring_submit(&s->ring);
		else
			wait_for_work(s);
	}
}

static void cleanup_ring(struct rs_server *s)
{
	/* Exiting the ring cancels what is left and closes direct descriptors;
	 * plain fds (no fixed files) are ours to close. */
	io_uring_queue_exit(&s->ring);
	for (uint32_t i = 0; i < s->cfg.max_connections; i++) {
		struct conn *c = &s->conns[i];
		if (c->state != CONN_FREE && !s->fixed_files)
			close(c->fd);
		c->state = CONN_FREE;
	}
	CTR_SET(s, active, 0);
}

static int start_ring(struct rs_server *s)
{
	int ret = setup_ring(s);

	if (ret < 0)
		return ret;
	s->now_ms = now_ms();
	add_wake(s);
	maybe_rearm_accept(s);
	ret = io_uring_submit(&s->ring);
	if (ret < 0) {
		set_error(s, "io_uring_submit", -ret);
		io_uring_queue_exit(&s->ring);
		return ret;
	}
	return 0;
}

/* Pinned only after the ring exists: the SQPOLL thread inherits its
 * creator's CPU mask, and --cpu is for this thread alone (--sq-cpu places
 * the kernel thread). */
static void pin_ring_thread(struct rs_server *s)
{
	cpu_set_t set;

	if (s->cfg.ring_cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(s->cfg.ring_cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0)
		s->features |= RS_FEAT_RING_AFF;
}

void *ring_thread_main(void *arg)
{
	struct rs_server *s = arg;
	sigset_t all;
	int ret;

	/* Signals belong to Bun's threads, never to this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_setname_np(pthread_self(), "ringside-ring");
	ret = start_ring(s);
	if (ret == 0) {
		pin_ring_thread(s);
		CTR_SET(s, state, RS_STATE_RUNNING);
	}
	s->setup_result = ret;
	__atomic_store_n(&s->setup_done, 1, __ATOMIC_RELEASE);
	if (ret < 0)
		return NULL;
	run(s);
	cleanup_ring(s);
	CTR_SET(s, state, RS_STATE_STOPPED);
	return NULL;
}
