/* A connection's I/O: the one step its state machine (conn.c) asks for at a
 * time, turned into SQEs, and its completions turned back into events.
 *
 * Input arrives in provided buffers (bufs.c) where the kernel has buffer
 * rings: keep-alive connections keep one multishot recv armed, close-mode
 * connections read once. A buffer that holds a whole request is framed where
 * it is and goes straight back; input the connection cannot take yet (it is
 * sending) is held, in order, and taken once the replies are out. Without
 * buffer rings a connection reads into an own buffer, one recv at a time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "ring.h"

/* Held input past which a multishot recv is stopped, so that a client that
 * sends without reading meets TCP's backpressure instead of our memory. */
#define RS_HOLD_MAX 8

static inline uint32_t conn_idx(const struct ring *r, const struct conn *c)
{
	return (uint32_t)(c - r->conns);
}

static uint8_t *get_input(void *ctx)
{
	return pool_get(&((struct ring *)ctx)->inputs);
}

static void put_input(void *ctx, uint8_t *buf)
{
	pool_put(&((struct ring *)ctx)->inputs, buf);
}

static struct conn_env env_of(struct ring *r)
{
	return (struct conn_env){ .policy = &r->srv->policy, .draining = r->draining, .buf_cap = r->inputs.size,
				  .get_buf = get_input, .put_buf = put_input, .ctx = r };
}

/* Room for n SQEs at once. A full SQ is normal in a burst: hand it to the
 * kernel (under SQPOLL, wait for its thread to make room). Reserving a whole
 * link chain first keeps a flush from splitting it (the part submitted first
 * would run unlinked). */
static void reserve_sqes(struct ring *r, unsigned n)
{
	while (io_uring_sq_space_left(&r->uring) < n) {
		CTR_ADD(r, sq_full, 1);
		io_uring_submit(&r->uring);
		if (r->features & RS_FEAT(SQPOLL))
			io_uring_sqring_wait(&r->uring);
	}
}

struct io_uring_sqe *get_sqe(struct ring *r)
{
	reserve_sqes(r, 1);
	return io_uring_get_sqe(&r->uring);
}

/* An operation on the connection's socket. Counted until its last
 * completion: the slot (a fixed file index, or an fd number) is closed and
 * reused only once nothing queued for this connection can still run (see
 * close_conn). */
static void set_conn_op(struct ring *r, struct io_uring_sqe *sqe, struct conn *c, enum op_type t)
{
	if (r->fixed_files)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, encode_ud(t, c->gen, conn_idx(r, c)));
	c->inflight++;
}

static void add_cancel(struct ring *r, const struct conn *c, enum op_type t)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	io_uring_prep_cancel64(sqe, encode_ud(t, c->gen, conn_idx(r, c)), 0);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_CANCEL, c->gen, conn_idx(r, c)));
}

/* ---- receiving ----------------------------------------------------------- */

static void add_recv(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (r->provided) {
		c->multishot = r->use_multishot;
		if (c->multishot)
			io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
		else
			io_uring_prep_recv(sqe, c->fd, NULL, r->bufs.size, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 0;
	} else {
		struct conn_env env = env_of(r);
		uint8_t *buf = conn_own_buffer(&c->http, &env);

		c->multishot = false;
		io_uring_prep_recv(sqe, c->fd, buf + c->http.len, r->inputs.size - c->http.len, 0);
	}
	set_conn_op(r, sqe, c, OP_RECV);
	c->recv_armed = true;
}

/* A recv in flight whenever the connection takes input: not while held
 * input waits (it comes first), nor while the buffer ring is dry. */
static void ensure_recv(struct ring *r, struct conn *c)
{
	if (c->recv_armed || c->starved || c->held_count || !conn_takes_input(&c->http))
		return;
	add_recv(r, c);
}

/* The buffer ring ran dry under this connection's recv (-ENOBUFS ends it):
 * it is re-armed once buffers come back (feed_starved). */
static void starve(struct ring *r, struct conn *c)
{
	CTR_ADD(r, buffer_shortages, 1);
	if (!c->starved) {
		c->starved = true;
		r->nstarved++;
	}
}

static void unstarve(struct ring *r, struct conn *c)
{
	if (c->starved) {
		c->starved = false;
		r->nstarved--;
	}
}

/* Re-arms as many starved connections as there are buffers free, from
 * where the last round stopped, so that each gets its turn. */
void feed_starved(struct ring *r)
{
	uint32_t quarter = r->bufs.count / 4 ? r->bufs.count / 4 : 1;
	uint32_t free_bufs = r->bufs.count - r->bufs.out;

	if (!r->nstarved || free_bufs < quarter)
		return;
	for (uint32_t n = 0; n < r->nconns && r->nstarved && free_bufs; n++) {
		struct conn *c = &r->conns[r->starve_cursor];

		r->starve_cursor = (r->starve_cursor + 1) % r->nconns;
		if (!c->starved)
			continue;
		unstarve(r, c);
		ensure_recv(r, c);
		free_bufs--;
	}
}

/* Input the connection cannot take yet, kept in arrival order. */
static void hold(struct ring *r, struct conn *c, uint16_t bid, uint32_t len, uint32_t off)
{
	r->bufs.next[bid] = RS_NO_BUF;
	r->bufs.len[bid] = len;
	if (c->held_count++) {
		r->bufs.next[c->held_tail] = bid;
	} else {
		c->held_head = bid;
		c->held_off = (uint16_t)off;
	}
	c->held_tail = bid;
	if (c->held_count >= RS_HOLD_MAX && c->recv_armed && c->multishot && !c->paused) {
		c->paused = true;
		add_cancel(r, c, OP_RECV);
	}
}

static void drop_held(struct ring *r, struct conn *c)
{
	while (c->held_count) {
		uint16_t bid = c->held_head;

		c->held_head = r->bufs.next[bid];
		c->held_count--;
		buf_give_back(r, bid);
	}
	c->held_off = 0;
}

static void apply(struct ring *r, struct conn *c, enum conn_state from, enum conn_io io,
		  const struct conn_tally *t);

/* Offers bytes [off, len) of provided buffer bid to the connection; returns
 * how many it took. */
static uint32_t offer(struct ring *r, struct conn *c, uint16_t bid, uint32_t off, uint32_t len)
{
	struct conn_env env = env_of(r);
	struct conn_tally t = { 0 };
	enum conn_state from = c->http.state;
	uint32_t taken;
	enum conn_io io = conn_feed(&c->http, buf_data(r, bid) + off, len - off, &env, &t, &taken);

	if (io != CONN_IO_NONE)
		apply(r, c, from, io, &t);
	return taken;
}

/* New input in buffer bid: taken now, or held behind what already waits. */
static void deliver(struct ring *r, struct conn *c, uint16_t bid, uint32_t len)
{
	uint32_t taken;

	if (c->held_count) {
		hold(r, c, bid, len, 0);
		return;
	}
	taken = offer(r, c, bid, 0, len);
	if (taken == len || c->http.state == CONN_CLOSING || c->http.state == CONN_FREE)
		buf_give_back(r, bid);
	else
		hold(r, c, bid, len, taken);
}

/* The replies are out: held input is taken in order, as far as it goes. */
static void take_held(struct ring *r, struct conn *c)
{
	while (c->held_count && conn_takes_input(&c->http)) {
		uint16_t bid = c->held_head;
		uint32_t len = r->bufs.len[bid], off = c->held_off;

		off += offer(r, c, bid, off, len);
		if (c->http.state == CONN_CLOSING || c->http.state == CONN_FREE)
			return; /* close_conn gave the held buffers back */
		if (off < len) {
			c->held_off = (uint16_t)off;
			continue;
		}
		c->held_head = r->bufs.next[bid];
		c->held_off = 0;
		c->held_count--;
		buf_give_back(r, bid);
	}
	if (!c->held_count && c->eof_pending && conn_takes_input(&c->http)) {
		struct conn_tally t = { 0 };
		enum conn_state from = c->http.state;

		c->eof_pending = false;
		apply(r, c, from, conn_on_eof(&c->http, &t), &t);
		return;
	}
	ensure_recv(r, c);
}

static void close_conn(struct ring *r, struct conn *c);

static void recv_failed(struct ring *r, struct conn *c, int res)
{
	struct conn_tally t = { 0 };

	if (res == -ECONNRESET)
		CTR_ADD(r, client_resets, 1);
	else if (res < 0 && res != -ECANCELED)
		CTR_ADD(r, recv_errors, 1);
	if (res == 0 && !c->expired) {
		/* The peer is done sending: after what it sent before. */
		if (c->held_count || !conn_takes_input(&c->http)) {
			c->eof_pending = true;
			return;
		}
		apply(r, c, c->http.state, conn_on_eof(&c->http, &t), &t);
		return;
	}
	close_conn(r, c);
}

/* A recv's completion; with multishot, one of several (F_MORE: more follow). */
void handle_recv(struct ring *r, struct conn *c, const struct io_uring_cqe *cqe)
{
	int res = cqe->res;
	bool buffer = cqe->flags & IORING_CQE_F_BUFFER;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		c->recv_armed = false;
	if (res > 0 && !c->expired) {
		if (buffer) {
			deliver(r, c, (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT), (uint32_t)res);
		} else {
			struct conn_env env = env_of(r);
			struct conn_tally t = { 0 };
			enum conn_state from = c->http.state;

			apply(r, c, from, conn_on_input(&c->http, (uint32_t)res, &env, &t), &t);
		}
		if (c->http.state != CONN_CLOSING && c->http.state != CONN_FREE)
			ensure_recv(r, c); /* a single-shot, or a multishot that ended */
		return;
	}
	if (buffer)
		buf_give_back(r, (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
	if (res == -ENOBUFS && !c->expired) {
		starve(r, c);
	} else if (res == -EINVAL && c->multishot && !r->ctr.requests) {
		/* A kernel before 6.0: no multishot recv; read once at a time. */
		r->use_multishot = false;
		r->features &= ~RS_FEAT(RECV_MULTISHOT);
		ensure_recv(r, c);
	} else if (res == -ECANCELED && c->paused && !c->expired) {
		c->paused = false; /* stopped to push back; re-armed once caught up */
		if (!c->held_count)
			ensure_recv(r, c);
	} else {
		recv_failed(r, c, res);
	}
}

/* ---- sending ------------------------------------------------------------- */

static void prep_close(struct ring *r, struct io_uring_sqe *sqe, const struct conn *c)
{
	if (r->fixed_files)
		io_uring_prep_close_direct(sqe, (unsigned)c->fd);
	else
		io_uring_prep_close(sqe, c->fd);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_CLOSE, c->gen, conn_idx(r, c)));
}

/* A close linked behind the send: in the kernel, right after it, with no
 * completion on success. One CQE per response, not two. */
static void link_close(struct ring *r, struct io_uring_sqe *send, const struct conn *c)
{
	struct io_uring_sqe *sqe;

	send->flags |= IOSQE_IO_LINK;
	sqe = get_sqe(r);
	prep_close(r, sqe, c);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

/* --delay: the send waits behind a timeout linked before it, in the
 * kernel. ETIME_SUCCESS: an expired timeout lets the link go on (without it,
 * expiring counts as failing and would cancel the send). */
static void add_delay(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(r);
	uint32_t ms = c->http.delay_ms;

	c->delay = (struct __kernel_timespec){ .tv_sec = ms / 1000, .tv_nsec = (long long)(ms % 1000) * 1000000 };
	io_uring_prep_timeout(sqe, &c->delay, 0, IORING_TIMEOUT_ETIME_SUCCESS);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, encode_ud(OP_DELAY, c->gen, conn_idx(r, c)));
	c->delay_pending = true;
	CTR_ADD(r, delayed, c->http.nreplies);
}

/* MSG_WAITALL: the kernel retries a short send itself, so a short result
 * means failure, and a linked close is cancelled rather than cutting the
 * response. One reply is a plain send; a pipelined batch one sendmsg. */
static void add_send(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe;

	reserve_sqes(r, 1 + c->close_linked); /* the send and its linked close: one chain */
	sqe = get_sqe(r);

	if (c->vec) {
		io_uring_prep_sendmsg(sqe, c->fd, &c->vec->msg, MSG_NOSIGNAL | MSG_WAITALL);
	} else {
		const struct blob *b = &r->srv->replies[c->http.replies[0]];

		io_uring_prep_send(sqe, c->fd, b->ptr + c->sent, b->len - c->sent, MSG_NOSIGNAL | MSG_WAITALL);
	}
	set_conn_op(r, sqe, c, OP_SEND);
	if (c->close_linked)
		link_close(r, sqe, c);
}

/* A close is linked behind the last send only while this many slots stay
 * free: the kernel frees a linked close's slot at a time we cannot see, and
 * an accept issued in between would find the table full. */
static bool can_link_close(const struct ring *r)
{
	uint64_t used = r->ctr.active + r->accepts_inflight + RS_LINK_CLOSE_HEADROOM;

	return !r->fixed_files || used <= r->nconns;
}

/* The replies conn.c queued, over their prebuilt bytes. A close may follow
 * in the kernel only when no recv is armed (it would keep the socket open). */
static void start_send(struct ring *r, struct conn *c)
{
	const struct conn_http *h = &c->http;

	c->close_linked = conn_done_after_send(h) && can_link_close(r) && !c->recv_armed;
	c->sent = 0;
	if (h->delay_ms) {
		reserve_sqes(r, 2 + c->close_linked); /* the delay before the send: one chain */
		add_delay(r, c);
	}
	if (h->nreplies > 1) {
		c->vec = pool_get(&r->vecs);
		for (uint32_t i = 0; i < h->nreplies; i++) {
			const struct blob *b = &r->srv->replies[h->replies[i]];
			c->vec->iov[i] = (struct iovec){ .iov_base = (void *)b->ptr, .iov_len = b->len };
		}
		memset(&c->vec->msg, 0, sizeof(c->vec->msg));
		c->vec->msg.msg_iov = c->vec->iov;
		c->vec->msg.msg_iovlen = h->nreplies;
	}
	add_send(r, c);
}

static void drop_vec(struct ring *r, struct conn *c)
{
	if (c->vec)
		pool_put(&r->vecs, c->vec);
	c->vec = NULL;
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

/* True while bytes of the queued replies remain unsent. */
static bool advance(struct ring *r, struct conn *c, uint32_t sent)
{
	if (c->vec)
		return advance_iov(&c->vec->msg, sent);
	c->sent += sent;
	return c->sent < r->srv->replies[c->http.replies[0]].len;
}

static void release_conn(struct ring *r, struct conn *c);

void handle_send(struct ring *r, struct conn *c, int res)
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
		else if (c->http.delay_ms)
			CTR_ADD(r, delayed_cut, c->http.nreplies); /* cancelled while held back */
		close_conn(r, c); /* a linked close was cancelled with the send */
		return;
	}
	CTR_ADD(r, bytes_sent, res);
	rest = advance(r, c, (uint32_t)res);
	if (!rest) {
		CTR_ADD(r, responses, c->http.nreplies);
		drop_vec(r, c);
	}
	if (!rest && c->close_linked) {
		release_conn(r, c); /* the kernel closed it right after the send */
		return;
	}
	c->close_linked = false; /* short means interrupted: the link was cut */
	if (c->expired) {
		close_conn(r, c);
	} else if (rest) {
		add_send(r, c);
	} else {
		/* Input held while sending means a client that kept writing: a
		 * last reply then lingers rather than closing on unread input. */
		if (c->held_count && c->http.state == CONN_SENDING_LAST)
			c->http.linger = true;
		apply(r, c, from, conn_on_sent(&c->http, &env, &t), &t);
		if (c->http.state != CONN_CLOSING && c->http.state != CONN_FREE)
			take_held(r, c);
	}
}

/* ---- closing ------------------------------------------------------------- */

/* The slot is free once its close is queued (or done by a linked close) and
 * nothing else of this connection is in flight; a new tenant bumps the
 * generation. */
static void release_conn(struct ring *r, struct conn *c)
{
	struct conn_env env = env_of(r);

	conn_release(&c->http, &env);
	drop_held(r, c);
	drop_vec(r, c);
	unstarve(r, c);
	conn_set_state(&c->http, CONN_FREE);
	c->gen++;
	if (!r->fixed_files)
		r->free_slots[r->nfree++] = conn_idx(r, c);
	CTR_ADD(r, active, -1);
	maybe_rearm_accept(r);
}

void submit_close(struct ring *r, struct conn *c)
{
	prep_close(r, get_sqe(r), c);
	release_conn(r, c);
}

/* The generation in user_data only guards completions. An operation still
 * queued when the close runs would resolve the slot when it is issued, and
 * by then the slot may hold the next connection: a lingering close's
 * shutdown, which the kernel always runs in an io-wq worker, shut down the
 * next client's socket that way. So the close waits (CONN_CLOSING) until
 * every operation of this connection has completed, a recv still armed is
 * cancelled, and the close goes out with the last completion (handle_cqe). */
static void close_conn(struct ring *r, struct conn *c)
{
	struct conn_env env = env_of(r);

	if (c->http.state != CONN_CLOSING)
		conn_set_state(&c->http, CONN_CLOSING);
	conn_release(&c->http, &env);
	drop_held(r, c);
	if (c->recv_armed)
		add_cancel(r, c, OP_RECV);
	if (c->delay_pending)
		add_cancel(r, c, OP_DELAY); /* the send behind it is cancelled with it */
	if (!c->inflight)
		submit_close(r, c);
}

/* Shut our side, then read until the client's EOF: closing with unread
 * input would make the kernel send RST and the client lose the response. */
static void start_linger(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	io_uring_prep_shutdown(sqe, c->fd, SHUT_WR);
	set_conn_op(r, sqe, c, OP_SHUTDOWN);
	CTR_ADD(r, lingering_closes, 1);
	ensure_recv(r, c);
}

/* A deadline passed: cancel the operation that waits; its completion
 * (-ECANCELED, or a late result) then closes the connection. */
void expire_conn(struct ring *r, struct conn *c)
{
	enum conn_state st = c->http.state;

	/* A send held back by a delay is not issued yet: cancel the delay. */
	if (c->delay_pending)
		add_cancel(r, c, OP_DELAY);
	else
		add_cancel(r, c, st == CONN_SENDING || st == CONN_SENDING_LAST ? OP_SEND : OP_RECV);
	c->expired = true;
	if (st != CONN_SENDING && st != CONN_SENDING_LAST && !c->recv_armed)
		close_conn(r, c); /* waiting on nothing: held or starved input */
}

/* ---- the step machine ---------------------------------------------------- */

/* Each state has its clock: a request (header and body) gets
 * header_timeout from its first byte, a send header_timeout from its start
 * (after its delay),
 * an idle keep-alive connection idle_timeout, a lingering one RS_LINGER_MS. */
static void arm_deadline(struct ring *r, struct conn *c, enum conn_state from)
{
	const struct rs_config *cfg = &r->srv->cfg;
	enum conn_state to = c->http.state;
	bool was_reading = from == CONN_READING || from == CONN_READING_BODY;

	if ((to == CONN_READING || to == CONN_READING_BODY) && !was_reading)
		c->deadline_ms = r->now_ms + cfg->header_timeout_ms;
	else if (to == CONN_SENDING || to == CONN_SENDING_LAST)
		c->deadline_ms = r->now_ms + c->http.delay_ms + cfg->header_timeout_ms;
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
	for (uint32_t i = 0; i < t->nroutes; i++) {
		uint64_t *n = &r->route_requests[t->routes[i]];
		__atomic_store_n(n, *n + 1, __ATOMIC_RELAXED);
	}
	CTR_ADD(r, bad_requests, t->bad_requests);
	CTR_ADD(r, too_large, t->too_large);
	CTR_ADD(r, client_eof_early, t->eof_early);
	arm_deadline(r, c, from);
	switch (io) {
	case CONN_IO_RECV: ensure_recv(r, c); break;
	case CONN_IO_SEND: start_send(r, c); break;
	case CONN_IO_LINGER: start_linger(r, c); break;
	case CONN_IO_CLOSE: close_conn(r, c); break;
	case CONN_IO_NONE: break;
	}
}

void open_conn(struct ring *r, struct conn *c, int fd)
{
	struct conn_tally none = { 0 };
	uint32_t gen = c->gen;

	memset(c, 0, sizeof(*c));
	c->gen = gen;
	c->fd = fd;
	conn_open(&c->http);
	CTR_ADD(r, accepted, 1);
	CTR_ADD(r, active, 1);
	apply(r, c, CONN_FREE, CONN_IO_RECV, &none);
}
