/* A connection's steps: each event (a completion, a deadline, the drain)
 * goes to its state machine (conn.c), and the one I/O step it answers is
 * carried out with recv.c and send.c. The state machine decides every clock;
 * this file only arms what it is told (a kernel timeout for DELAYING, the
 * sweep for the rest) and reports what happened.
 */
#define _GNU_SOURCE
#include "io.h"

#include <errno.h>
#include <string.h>

#include "bufs.h"
#include "recv.h"
#include "send.h"
#include "sq.h"

static void apply(struct ring *r, struct conn *c, enum conn_io io, const struct conn_tally *t);

/* ---- input --------------------------------------------------------------- */

/* Offers bytes [off, len) of provided buffer bid to the connection; returns
 * how many it took. */
static uint32_t offer(struct ring *r, struct conn *c, uint16_t bid, uint32_t off, uint32_t len)
{
	struct conn_env env = env_of(r);
	struct conn_tally t = { 0 };
	uint32_t taken;
	enum conn_io io = conn_feed(&c->http, buf_data(r, bid) + off, len - off, &env, &t, &taken);

	if (io != CONN_IO_NONE)
		apply(r, c, io, &t);
	return taken;
}

static bool is_open(const struct conn *c)
{
	return c->http.state != CONN_CLOSING && c->http.state != CONN_FREE;
}

/* New input in buffer bid: taken now, or held behind what already waits. */
/* A completion that carries a provided buffer nobody will read gives it back. */
static void give_back_any(struct ring *r, const struct io_uring_cqe *cqe)
{
	if (cqe->flags & IORING_CQE_F_BUFFER)
		buf_give_back(r, (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
}

static void deliver(struct ring *r, struct conn *c, uint16_t bid, uint32_t len)
{
	uint32_t taken;

	if (c->held_count) {
		hold(r, c, bid, len, 0);
		return;
	}
	taken = offer(r, c, bid, 0, len);
	if (taken == len || !is_open(c))
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
		if (!is_open(c))
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
		struct conn_env env = env_of(r);
		struct conn_tally t = { 0 };

		c->eof_pending = false;
		apply(r, c, conn_on_eof(&c->http, &env, &t), &t);
		return;
	}
	ensure_recv(r, c);
}

/* The peer is done sending (res 0), reset, or the recv failed. */
static void recv_ended(struct ring *r, struct conn *c, int res)
{
	struct conn_env env = env_of(r);
	struct conn_tally t = { 0 };

	if (res == -ECONNRESET)
		CTR_ADD(r, client_resets, 1);
	else if (res < 0)
		CTR_ADD(r, recv_errors, 1);
	if (res < 0) {
		apply(r, c, conn_on_error(&c->http, &env, &t), &t);
		return;
	}
	/* An EOF comes after what was sent before it. A held-back response is
	 * owed to nobody once its client has left (nginx's 499). */
	if (c->http.state != CONN_DELAYING && (c->held_count || !conn_takes_input(&c->http))) {
		c->eof_pending = true;
		return;
	}
	apply(r, c, conn_on_eof(&c->http, &env, &t), &t);
}

/* A recv's completion; with multishot, one of several (F_MORE: more follow). */
static void handle_recv(struct ring *r, struct conn *c, const struct io_uring_cqe *cqe)
{
	int res = cqe->res;
	bool buffer = cqe->flags & IORING_CQE_F_BUFFER;

	if (res > 0) {
		if (buffer) {
			deliver(r, c, (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT), (uint32_t)res);
		} else {
			struct conn_env env = env_of(r);
			struct conn_tally t = { 0 };

			apply(r, c, conn_on_input(&c->http, (uint32_t)res, &env, &t), &t);
		}
		if (is_open(c))
			ensure_recv(r, c); /* a single-shot, or a multishot that ended */
		return;
	}
	give_back_any(r, cqe);
	if (res == -ENOBUFS) {
		starve(r, c);
	} else if (res == -EINVAL && c->multishot && !r->ctr.requests) {
		/* A kernel before 6.0: no multishot recv; read once at a time. */
		r->use_multishot = false;
		r->features &= ~RS_FEAT(RECV_MULTISHOT);
		ensure_recv(r, c);
	} else if (res == -ECANCELED && c->paused) {
		c->paused = false; /* stopped to push back; re-armed once caught up */
		if (!c->held_count)
			ensure_recv(r, c);
	} else {
		recv_ended(r, c, res);
	}
}

/* ---- output -------------------------------------------------------------- */

static void release_slot(struct ring *r, struct conn *c);

static void handle_send(struct ring *r, struct conn *c, int res)
{
	struct conn_env env = env_of(r);
	struct conn_tally t = { 0 };
	bool rest;

	if (res < 0) {
		if (res == -EPIPE || res == -ECONNRESET)
			CTR_ADD(r, client_resets, 1);
		else
			CTR_ADD(r, send_errors, 1);
		apply(r, c, conn_on_error(&c->http, &env, &t), &t); /* a linked close went with it */
		return;
	}
	CTR_ADD(r, bytes_sent, res);
	rest = advance(r, c, (uint32_t)res);
	if (!rest) {
		CTR_ADD(r, responses, c->http.nreplies);
		drop_vec(r, c);
	}
	if (!rest && c->close_linked) {
		release_slot(r, c); /* the kernel closed it right after the send */
		return;
	}
	c->close_linked = false; /* short means interrupted: the link was cut */
	if (rest) {
		add_send(r, c);
		return;
	}
	apply(r, c, conn_on_sent(&c->http, &env, &t, c->held_count > 0), &t);
	if (is_open(c))
		take_held(r, c);
}

/* DELAYING's timeout: -ETIME when it ran its length. */
static void handle_delay(struct ring *r, struct conn *c, int res)
{
	struct conn_env env = env_of(r);
	struct conn_tally t = { 0 };

	if (res == -ETIME || res == 0)
		apply(r, c, conn_on_delay_over(&c->http, &env), &t);
	else
		apply(r, c, conn_on_error(&c->http, &env, &t), &t);
}

/* ---- closing ------------------------------------------------------------- */

/* The slot is free once its close is queued (or done by a linked close) and
 * nothing else of this connection is in flight; a new tenant bumps the
 * generation. */
static void release_slot(struct ring *r, struct conn *c)
{
	struct conn_env env = env_of(r);

	conn_on_closed(&c->http, &env);
	drop_held(r, c);
	drop_vec(r, c);
	unstarve(r, c);
	c->gen++;
	if (!r->fixed_files)
		r->free_slots[r->nfree++] = conn_idx(r, c);
	CTR_ADD(r, active, -1);
}

/* A plain close runs when it is submitted, before any accept queued after
 * it: the slot is free now. A close linked behind the reset's socket command
 * runs only once that completes, and an accept issued in between would find
 * the file table full and drop its client: that slot is free at the close's
 * own completion (io_complete). */
static void submit_close(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->reset && (r->features & RS_FEAT(SOCK_CMD))) {
		add_reset(r, c);
		sqe = get_sqe(r);
		prep_close(r, sqe, c);
		c->ops |= OPB(OP_CLOSE);
		return;
	}
	prep_close(r, get_sqe(r), c);
	release_slot(r, c);
}

/* The generation in user_data only guards completions. An operation still
 * queued when the close runs would resolve the slot when it is issued, and
 * by then the slot may hold the next connection: a lingering close's
 * shutdown, which the kernel always runs in an io-wq worker, shut down the
 * next client's socket that way. So in CLOSING every operation of the
 * connection is cancelled, and the close goes out with the last completion
 * (io_complete). */
static void close_conn(struct ring *r, struct conn *c)
{
	drop_held(r, c);
	unstarve(r, c);
	add_cancel(r, c, OP_RECV);
	add_cancel(r, c, OP_SEND); /* a linked close goes with it */
	add_cancel(r, c, OP_SHUTDOWN);
	add_cancel(r, c, OP_DELAY);
	if (!c->ops)
		submit_close(r, c);
}

/* Shut our side, then read until the client's EOF: closing with unread
 * input would make the kernel send RST and the client lose the response. */
static void start_linger(struct ring *r, struct conn *c)
{
	add_shutdown(r, c);
	CTR_ADD(r, lingering_closes, 1);
	ensure_recv(r, c);
}

/* ---- the step machine ---------------------------------------------------- */

static void add_tally(struct ring *r, const struct conn_tally *t)
{
	uint32_t per_route = r->srv->nstatuses + RS_FAULTS;

	CTR_ADD(r, requests, t->requests);
	for (uint32_t i = 0; i < t->noutcomes; i++) {
		const struct conn_outcome *o = &t->outcomes[i];
		uint64_t *n = &r->route_requests[o->route], *k = &r->route_outcomes[o->route * per_route + o->outcome];
		__atomic_store_n(n, *n + 1, __ATOMIC_RELAXED);
		__atomic_store_n(k, *k + 1, __ATOMIC_RELAXED);
	}
	CTR_ADD(r, bad_requests, t->bad_requests);
	CTR_ADD(r, control_errors, t->control_errors);
	CTR_ADD(r, faults_reset, t->faults[RS_FAULT_RESET]);
	CTR_ADD(r, faults_close, t->faults[RS_FAULT_CLOSE]);
	CTR_ADD(r, faults_hang, t->faults[RS_FAULT_HANG]);
	CTR_ADD(r, too_large, t->too_large);
	CTR_ADD(r, client_eof_early, t->eof_early);
	CTR_ADD(r, header_timeouts, t->header_timeouts);
	CTR_ADD(r, idle_timeouts, t->idle_timeouts);
	CTR_ADD(r, send_timeouts, t->send_timeouts);
	CTR_ADD(r, linger_timeouts, t->linger_timeouts);
	CTR_ADD(r, drain_timeouts, t->drain_timeouts);
	CTR_ADD(r, delayed, t->delayed);
	CTR_ADD(r, delayed_cut, t->delayed_cut);
}

/* Carries out the step the state machine chose. */
static void apply(struct ring *r, struct conn *c, enum conn_io io, const struct conn_tally *t)
{
	add_tally(r, t);
	switch (io) {
	case CONN_IO_RECV: ensure_recv(r, c); break;
	case CONN_IO_DELAY:
		add_delay(r, c, c->http.deadline_ms - r->now_ms);
		ensure_recv(r, c); /* to see the peer leave */
		break;
	case CONN_IO_SEND: start_send(r, c); break;
	case CONN_IO_LINGER: start_linger(r, c); break;
	case CONN_IO_CLOSE: close_conn(r, c); break;
	case CONN_IO_RESET:
		c->reset = true;
		close_conn(r, c);
		break;
	case CONN_IO_NONE: break;
	}
}

void open_conn(struct ring *r, struct conn *c, int fd)
{
	struct conn_env env = env_of(r);
	struct conn_tally none = { 0 };
	uint32_t gen = c->gen;

	memset(c, 0, sizeof(*c));
	c->gen = gen;
	c->fd = fd;
	conn_open(&c->http, &env);
	CTR_ADD(r, accepted, 1);
	CTR_ADD(r, active, 1);
	apply(r, c, CONN_IO_RECV, &none);
}

/* The connection a completion is for, or NULL if its slot has a new tenant
 * since (or none). */
static struct conn *conn_of(struct ring *r, uint64_t ud)
{
	struct conn *c = &r->conns[ud_idx(ud)];

	return c->http.state != CONN_FREE && (c->gen & 0xffffff) == ud_gen(ud) ? c : NULL;
}

void io_complete(struct ring *r, const struct io_uring_cqe *cqe)
{
	enum op_type t = ud_type(cqe->user_data);
	struct conn *c = conn_of(r, cqe->user_data);

	if (!c) {
		give_back_any(r, cqe);
		return;
	}
	if (t == OP_CLOSE) {
		/* Only a reset's close is waited for (submit_close); a linked
		 * close's failure is the send's, handled there. */
		if (c->ops & OPB(OP_CLOSE)) {
			c->ops &= (uint16_t)~OPB(OP_CLOSE);
			release_slot(r, c);
		}
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_MORE))
		c->ops &= (uint16_t)~OPB(t);
	if (c->http.state == CONN_CLOSING) {
		give_back_any(r, cqe);
		if (!c->ops)
			submit_close(r, c);
		return;
	}
	if (t == OP_RECV)
		handle_recv(r, c, cqe);
	else if (t == OP_SEND)
		handle_send(r, c, cqe->res);
	else if (t == OP_DELAY)
		handle_delay(r, c, cqe->res);
	/* a shutdown's failure shows on the lingering recv too */
}

void io_sweep(struct ring *r, bool drain_over)
{
	struct conn_env env = env_of(r);

	for (uint32_t i = 0; i < r->nconns; i++) {
		struct conn *c = &r->conns[i];

		if (!is_open(c) || !(drain_over || conn_deadline_passed(&c->http, r->now_ms)))
			continue;
		struct conn_tally t = { 0 };

		apply(r, c, drain_over ? conn_on_drain_over(&c->http, &env, &t) : conn_on_deadline(&c->http, &env, &t), &t);
	}
}

void io_drain(struct ring *r)
{
	struct conn_env env = env_of(r);
	struct conn_tally none = { 0 };

	for (uint32_t i = 0; i < r->nconns; i++)
		apply(r, &r->conns[i], conn_on_drain(&r->conns[i].http, &env), &none);
}
