/* A connection's HTTP life as an explicit state machine: see conn.h. */
#include "conn.h"

#include <string.h>

/* The tests and the fuzzer build with RS_STRICT_TRANSITIONS: a transition
 * the table does not allow is a bug, and aborts there. */
#ifdef RS_STRICT_TRANSITIONS
#include <stdlib.h>
#define ILLEGAL_TRANSITION() abort()
#else
#define ILLEGAL_TRANSITION() ((void)0)
#endif

#define BIT(s) (1u << CONN_##s)
#define AFTER_FRAMING (BIT(READING) | BIT(READING_BODY) | BIT(DELAYING) | BIT(SENDING) | BIT(SENDING_LAST) | BIT(HANGING) | BIT(CLOSING))

/* allowed[from] has bit `to` set when from -> to may happen. */
static const uint16_t allowed[CONN_STATES] = {
	[CONN_FREE] = BIT(READING),
	[CONN_READING] = AFTER_FRAMING,
	[CONN_IDLE] = AFTER_FRAMING,
	[CONN_READING_BODY] = BIT(READING_BODY) | BIT(DELAYING) | BIT(SENDING) | BIT(SENDING_LAST) | BIT(CLOSING),
	[CONN_DELAYING] = BIT(SENDING) | BIT(SENDING_LAST) | BIT(CLOSING),
	[CONN_SENDING] = AFTER_FRAMING | BIT(IDLE),
	[CONN_SENDING_LAST] = BIT(LINGERING) | BIT(HANGING) | BIT(CLOSING) | BIT(FREE),
	[CONN_LINGERING] = BIT(LINGERING) | BIT(CLOSING),
	[CONN_HANGING] = BIT(HANGING) | BIT(CLOSING),
	[CONN_CLOSING] = BIT(FREE),
};

bool conn_transition_allowed(enum conn_state from, enum conn_state to)
{
	return from < CONN_STATES && to < CONN_STATES && (allowed[from] & (1u << to));
}

#define CONN_X_NAME(name) #name,
static const char *const state_names[CONN_STATES] = { CONN_STATE_LIST(CONN_X_NAME) };

const char *conn_state_name(enum conn_state s)
{
	return s < CONN_STATES ? state_names[s] : "?";
}

/* How long a state lasts at most once entered now (the DELAYING bound is
 * the queued replies' delay); UINT64_MAX for a state without a clock. */
static uint64_t conn_bound_ms(const struct conn_http *h, enum conn_state s, const struct conn_bounds *b)
{
	switch (s) {
	case CONN_READING:
	case CONN_READING_BODY:
	case CONN_HANGING: return b->header_ms;
	case CONN_DELAYING: return h->delay_ms;
	case CONN_SENDING:
	case CONN_SENDING_LAST: return b->send_ms;
	case CONN_IDLE: return b->idle_ms;
	case CONN_LINGERING: return b->linger_ms;
	default: return UINT64_MAX;
	}
}

/* The one place a state changes, and so the one place a clock starts. A
 * state passing to itself keeps its deadline; a request's body keeps the
 * clock its header started. */
static void enter(struct conn_http *h, const struct conn_env *env, enum conn_state to)
{
	uint64_t bound;

	if (to == h->state)
		return;
	if (!conn_transition_allowed(h->state, to)) {
		ILLEGAL_TRANSITION();
		return;
	}
	bound = conn_bound_ms(h, to, env->bounds);
	if (!(h->state == CONN_READING && to == CONN_READING_BODY))
		h->deadline_ms = bound == UINT64_MAX ? UINT64_MAX : env->now_ms + bound;
	h->state = to;
}

void conn_open(struct conn_http *h, const struct conn_env *env)
{
	memset(h, 0, sizeof(*h));
	h->fault = RS_NO_FAULT;
	h->state = CONN_FREE;
	enter(h, env, CONN_READING);
}

static void release(struct conn_http *h, const struct conn_env *env)
{
	if (h->buf)
		env->put_buf(env->ctx, h->buf);
	h->buf = NULL;
	h->len = 0;
}

/* Every way out but the send: replies still held back are never sent. */
static enum conn_io close_now(struct conn_http *h, const struct conn_env *env, struct conn_tally *t)
{
	if (h->state == CONN_DELAYING)
		t->delayed_cut += h->nreplies;
	release(h, env);
	enter(h, env, CONN_CLOSING);
	return CONN_IO_CLOSE;
}

static void tally(struct conn_tally *t, const struct rs_decision *d)
{
	if (d->tally == RS_TALLY_BAD || d->tally == RS_TALLY_CONTROL)
		t->bad_requests++;
	if (d->tally == RS_TALLY_CONTROL)
		t->control_errors++;
	else if (d->tally == RS_TALLY_TOO_LARGE)
		t->too_large++;
	else if (d->tally == RS_TALLY_REQUEST)
		t->requests++;
	if (d->fault != RS_NO_FAULT)
		t->faults[d->fault]++;
	if (d->route != RS_NO_ROUTE && t->noutcomes < CONN_STEP_REQUESTS)
		t->outcomes[t->noutcomes++] = (struct conn_outcome){ (uint16_t)d->route, d->outcome };
}

/* The drain's one rule: the next response to start is the connection's
 * last, and says so (Connection: close). */
static struct conn_reply drain_last(struct conn_http *h, const struct conn_env *env, struct conn_reply reply)
{
	if (!env->draining)
		return reply;
	h->close_after = true;
	reply.id = rs_reply_closing(reply.id);
	return reply;
}

/* Queues the reply owed for the last request, once its body is read. */
static void queue_pending(struct conn_http *h, const struct conn_env *env)
{
	h->replies[h->nreplies++] = drain_last(h, env, h->pending);
	if (h->pending_delay > h->delay_ms)
		h->delay_ms = h->pending_delay;
	h->owed = false;
	h->served++;
}

/* Frames one request at win + *off; false when no more can be framed now. */
static bool frame_one(struct conn_http *h, const uint8_t *win, uint32_t n, uint32_t *off,
		      const struct conn_env *env, struct conn_tally *t)
{
	const struct rs_policy *pol = env->policy;
	struct rs_request req;
	int r = rs_frame(win + *off, n - *off, pol->max_header, pol->max_body, &req);
	struct rs_decision d;

	if (r == RS_FRAME_MORE)
		return false;
	d = rs_decide(pol, r, r > 0 ? &req : NULL, win + *off, h->served, env->rng);
	tally(t, &d);
	if (!d.keep)
		h->close_after = true;
	h->linger |= d.linger;
	if (r < 0 || d.tally == RS_TALLY_CONTROL) {
		/* errors are answered at once */
		h->replies[h->nreplies++] = (struct conn_reply){ d.reply, 0, RS_SIZE_STATIC };
		h->close_after = true;
		return false;
	}
	*off += (uint32_t)r;
	if (d.fault != RS_NO_FAULT) {
		/* Instead of a reply: acted on once the replies before it are out. */
		h->fault = (uint8_t)d.fault;
		h->close_after = true;
		return false;
	}
	h->skip = d.skip;
	h->owed = true;
	h->pending = (struct conn_reply){ d.reply, d.status, d.size };
	h->pending_delay = d.delay_ms;
	return true;
}

/* Frames as many requests as win holds, skipping bodies; returns the bytes
 * consumed. */
static uint32_t frame_window(struct conn_http *h, const uint8_t *win, uint32_t n,
			     const struct conn_env *env, struct conn_tally *t)
{
	uint32_t off = 0;

	for (;;) {
		if (h->skip) {
			uint64_t take = h->skip < n - off ? h->skip : n - off;
			off += (uint32_t)take;
			h->skip -= take;
			if (h->skip)
				break;
		}
		if (h->owed) {
			if (h->nreplies == RS_MAX_IOV)
				break;
			queue_pending(h, env);
		}
		if (h->close_after || off == n || h->nreplies == RS_MAX_IOV)
			break;
		if (!frame_one(h, win, n, &off, env, t))
			break;
	}
	return off;
}

/* Sending what is queued now: the last replies when nothing more is owed
 * (a reply still waiting for its body keeps the connection going). */
static enum conn_io start_sending(struct conn_http *h, const struct conn_env *env)
{
	enter(h, env, h->close_after && !h->owed ? CONN_SENDING_LAST : CONN_SENDING);
	return CONN_IO_SEND;
}

/* A fault drawn for a request, once the replies before it are out. */
static enum conn_io act_on_fault(struct conn_http *h, const struct conn_env *env)
{
	if (h->fault == RS_FAULT_HANG) {
		enter(h, env, CONN_HANGING);
		return CONN_IO_RECV; /* read and discard; HANGING's clock cuts it */
	}
	release(h, env);
	enter(h, env, CONN_CLOSING);
	return h->fault == RS_FAULT_RESET ? CONN_IO_RESET : CONN_IO_CLOSE;
}

/* The state after framing: holding back or sending what was queued, or
 * reading on. Only replies to requests carry a delay: an error alone goes at
 * once, one behind delayed replies goes with them, in order. */
static enum conn_io after_framing(struct conn_http *h, const struct conn_env *env, struct conn_tally *t)
{
	if (h->nreplies && h->delay_ms) {
		t->delayed += h->nreplies;
		enter(h, env, CONN_DELAYING);
		return CONN_IO_DELAY;
	}
	if (h->nreplies)
		return start_sending(h, env);
	if (h->fault != RS_NO_FAULT)
		return act_on_fault(h, env);
	enter(h, env, h->skip || h->owed ? CONN_READING_BODY : CONN_READING);
	return CONN_IO_RECV;
}

/* Frames the own buffer; what stays unprocessed moves to its front, and an
 * emptied buffer goes back. */
static enum conn_io frame_own(struct conn_http *h, const struct conn_env *env, struct conn_tally *t)
{
	uint32_t off = frame_window(h, h->buf, h->len, env, t);

	if (off) {
		memmove(h->buf, h->buf + off, h->len - off);
		h->len -= off;
	}
	if (!h->len && h->buf) {
		env->put_buf(env->ctx, h->buf);
		h->buf = NULL;
	}
	return after_framing(h, env, t);
}

bool conn_takes_input(const struct conn_http *h)
{
	return h->state == CONN_READING || h->state == CONN_IDLE || h->state == CONN_READING_BODY ||
	       h->state == CONN_LINGERING || h->state == CONN_HANGING ||
	       (h->state == CONN_DELAYING && h->close_after);
}

/* Framed in place: an incomplete rest is kept in an own buffer, unless the
 * connection closes after these replies (then it is input nobody answers,
 * and only means the close must linger). */
static enum conn_io feed_in_place(struct conn_http *h, const uint8_t *data, uint32_t n,
				  const struct conn_env *env, struct conn_tally *t)
{
	uint32_t used = frame_window(h, data, n, env, t), rest = n - used;

	if (rest && h->close_after) {
		h->linger = true;
	} else if (rest) {
		h->buf = env->get_buf(env->ctx);
		if (!h->buf)
			return close_now(h, env, t);
		memcpy(h->buf, data + used, rest);
		h->len = rest;
	}
	return after_framing(h, env, t);
}

enum conn_io conn_feed(struct conn_http *h, const uint8_t *data, uint32_t n,
		       const struct conn_env *env, struct conn_tally *t, uint32_t *taken)
{
	uint32_t room;

	*taken = 0;
	if (!conn_takes_input(h))
		return CONN_IO_NONE;
	*taken = n;
	if (h->state == CONN_LINGERING || h->state == CONN_HANGING)
		return CONN_IO_RECV; /* read only to reach the EOF, or the clock */
	if (h->state == CONN_DELAYING) {
		h->linger = true; /* never answered: read on, to see the peer leave */
		return CONN_IO_RECV;
	}
	if (!h->len)
		return feed_in_place(h, data, n, env, t);
	room = env->buf_cap - h->len;
	*taken = n < room ? n : room;
	memcpy(h->buf + h->len, data, *taken);
	h->len += *taken;
	return frame_own(h, env, t);
}

uint8_t *conn_own_buffer(struct conn_http *h, const struct conn_env *env)
{
	if (!h->buf)
		h->buf = env->get_buf(env->ctx);
	return h->buf;
}

enum conn_io conn_on_input(struct conn_http *h, uint32_t n, const struct conn_env *env,
			   struct conn_tally *t)
{
	h->len += n;
	if (h->state == CONN_LINGERING || h->state == CONN_DELAYING || h->state == CONN_HANGING) {
		h->len = 0; /* read only to reach the EOF, or to see the peer leave */
		h->linger = true;
		return CONN_IO_RECV;
	}
	return frame_own(h, env, t);
}

enum conn_io conn_on_delay_over(struct conn_http *h, const struct conn_env *env)
{
	/* Queued before the drain began, they start now: the last closes. */
	h->replies[h->nreplies - 1] = drain_last(h, env, h->replies[h->nreplies - 1]);
	if (env->draining && h->owed) {
		/* A request behind them is not answered: its body is read away. */
		h->owed = false;
		h->skip = 0;
		h->linger = true;
	}
	return start_sending(h, env);
}

enum conn_io conn_on_sent(struct conn_http *h, const struct conn_env *env, struct conn_tally *t,
			  bool input_held)
{
	h->nreplies = 0;
	h->delay_ms = 0;
	if (h->state == CONN_SENDING_LAST) {
		if (h->fault != RS_NO_FAULT)
			return act_on_fault(h, env);
		if (input_held || h->linger || h->len || h->skip) {
			release(h, env); /* what is left is never answered */
			enter(h, env, CONN_LINGERING);
			return CONN_IO_LINGER;
		}
		enter(h, env, CONN_CLOSING);
		return CONN_IO_CLOSE;
	}
	if (h->skip || h->owed) {
		enter(h, env, CONN_READING_BODY);
		return CONN_IO_RECV;
	}
	if (h->len || input_held) {
		/* Requests already here: read from READING (io.c offers held input
		 * next), so that a next batch of replies is a new visit of SENDING
		 * with a send clock of its own. */
		enter(h, env, CONN_READING);
		return h->len ? frame_own(h, env, t) : CONN_IO_RECV;
	}
	/* Owed nothing: idle, or in the drain closed at once. */
	enter(h, env, env->draining ? CONN_CLOSING : CONN_IDLE);
	return env->draining ? CONN_IO_CLOSE : CONN_IO_RECV;
}

enum conn_io conn_on_eof(struct conn_http *h, const struct conn_env *env, struct conn_tally *t)
{
	/* Mid-request, or before any request: the client left early. An idle
	 * keep-alive client or a lingering one leaving is the normal end. */
	bool early = h->state == CONN_READING_BODY ||
		     (h->state == CONN_READING && (h->len || !h->served));

	if (early)
		t->eof_early++;
	return close_now(h, env, t);
}

enum conn_io conn_on_error(struct conn_http *h, const struct conn_env *env, struct conn_tally *t)
{
	return close_now(h, env, t);
}

enum conn_io conn_on_drain(struct conn_http *h, const struct conn_env *env)
{
	/* Owed nothing: idle, or a request drawn to hang. */
	if (h->state != CONN_IDLE && h->state != CONN_HANGING)
		return CONN_IO_NONE;
	enter(h, env, CONN_CLOSING);
	return CONN_IO_CLOSE;
}

bool conn_deadline_passed(const struct conn_http *h, uint64_t now_ms)
{
	return h->state != CONN_DELAYING && now_ms >= h->deadline_ms;
}

enum conn_io conn_on_deadline(struct conn_http *h, const struct conn_env *env, struct conn_tally *t)
{
	switch (h->state) {
	case CONN_READING:
	case CONN_READING_BODY:
	case CONN_HANGING: t->header_timeouts++; break;
	case CONN_IDLE: t->idle_timeouts++; break;
	case CONN_SENDING:
	case CONN_SENDING_LAST: t->send_timeouts++; break;
	case CONN_LINGERING: t->linger_timeouts++; break;
	default: break;
	}
	return close_now(h, env, t);
}

enum conn_io conn_on_drain_over(struct conn_http *h, const struct conn_env *env, struct conn_tally *t)
{
	t->drain_timeouts++;
	return close_now(h, env, t);
}

void conn_on_closed(struct conn_http *h, const struct conn_env *env)
{
	release(h, env);
	enter(h, env, CONN_FREE);
}

bool conn_done_after_send(const struct conn_http *h)
{
	return h->state == CONN_SENDING_LAST && !h->linger && !h->len && !h->skip && h->fault == RS_NO_FAULT;
}
