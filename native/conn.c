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
#define OPEN_READING (BIT(READING) | BIT(READING_BODY) | BIT(SENDING) | BIT(SENDING_LAST) | BIT(CLOSING))

/* allowed[from] has bit `to` set when from -> to may happen. */
static const uint16_t allowed[CONN_STATES] = {
	[CONN_FREE] = BIT(READING),
	[CONN_READING] = OPEN_READING,
	[CONN_IDLE] = OPEN_READING,
	[CONN_READING_BODY] = BIT(READING_BODY) | BIT(SENDING) | BIT(SENDING_LAST) | BIT(CLOSING),
	[CONN_SENDING] = OPEN_READING | BIT(IDLE),
	[CONN_SENDING_LAST] = BIT(LINGERING) | BIT(CLOSING) | BIT(FREE),
	[CONN_LINGERING] = BIT(LINGERING) | BIT(CLOSING),
	[CONN_CLOSING] = BIT(FREE),
};

bool conn_transition_allowed(enum conn_state from, enum conn_state to)
{
	return from < CONN_STATES && to < CONN_STATES && (allowed[from] & (1u << to));
}

bool conn_set_state(struct conn_http *h, enum conn_state to)
{
	if (!conn_transition_allowed(h->state, to)) {
		ILLEGAL_TRANSITION();
		return false;
	}
	h->state = to;
	return true;
}

#define CONN_X_NAME(name) #name,
static const char *const state_names[CONN_STATES] = { CONN_STATE_LIST(CONN_X_NAME) };

const char *conn_state_name(enum conn_state s)
{
	return s < CONN_STATES ? state_names[s] : "?";
}

void conn_open(struct conn_http *h)
{
	memset(h, 0, sizeof(*h));
	h->pending = -1;
	h->state = CONN_FREE;
	conn_set_state(h, CONN_READING);
}

static void tally(struct conn_tally *t, enum rs_tally what)
{
	if (what == RS_TALLY_BAD)
		t->bad_requests++;
	else if (what == RS_TALLY_TOO_LARGE)
		t->too_large++;
	else
		t->requests++;
}

/* Queues the reply owed for the last request; a drain that began since it
 * was chosen (while its body came in) makes it the last. */
static void queue_pending(struct conn_http *h, const struct conn_env *env)
{
	uint16_t reply = (uint16_t)h->pending;

	if (env->draining) {
		reply = rs_reply_closing(reply);
		h->close_after = true;
	}
	h->replies[h->nreplies++] = reply;
	if (h->pending_delay > h->delay_ms)
		h->delay_ms = h->pending_delay;
	h->pending = -1;
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
	d = rs_decide(pol, r, r > 0 ? &req : NULL, win + *off, h->served, env->draining);
	tally(t, d.tally);
	if (d.route != RS_NO_ROUTE && t->nroutes < CONN_STEP_REQUESTS)
		t->routes[t->nroutes++] = (uint16_t)d.route;
	if (!d.keep)
		h->close_after = true;
	h->linger |= d.linger;
	if (r < 0) {
		h->replies[h->nreplies++] = d.reply; /* errors are answered at once */
		return false;
	}
	*off += (uint32_t)r;
	h->skip = d.skip;
	h->pending = d.reply;
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
		if (h->pending >= 0) {
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

/* The state after framing: sending what was queued, or reading on. */
static enum conn_io after_framing(struct conn_http *h)
{
	if (h->nreplies) {
		/* Last only when nothing more is owed: a reply still waiting for
		 * its body keeps the connection going after this send. */
		conn_set_state(h, h->close_after && h->pending < 0 ? CONN_SENDING_LAST : CONN_SENDING);
		return CONN_IO_SEND;
	}
	conn_set_state(h, h->skip || h->pending >= 0 ? CONN_READING_BODY : CONN_READING);
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
	return after_framing(h);
}

bool conn_takes_input(const struct conn_http *h)
{
	return h->state == CONN_READING || h->state == CONN_IDLE ||
	       h->state == CONN_READING_BODY || h->state == CONN_LINGERING;
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
		if (!h->buf) {
			conn_set_state(h, CONN_CLOSING);
			return CONN_IO_CLOSE;
		}
		memcpy(h->buf, data + used, rest);
		h->len = rest;
	}
	return after_framing(h);
}

enum conn_io conn_feed(struct conn_http *h, const uint8_t *data, uint32_t n,
		       const struct conn_env *env, struct conn_tally *t, uint32_t *taken)
{
	uint32_t room;

	*taken = 0;
	if (!conn_takes_input(h))
		return CONN_IO_NONE;
	*taken = n;
	if (h->state == CONN_LINGERING)
		return CONN_IO_RECV; /* read only to reach the EOF */
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
	if (h->state == CONN_LINGERING) {
		h->len = 0; /* read only to reach the EOF */
		return CONN_IO_RECV;
	}
	return frame_own(h, env, t);
}

enum conn_io conn_on_sent(struct conn_http *h, const struct conn_env *env, struct conn_tally *t)
{
	h->nreplies = 0;
	h->delay_ms = 0;
	if (h->state == CONN_SENDING_LAST) {
		if (h->linger || h->len || h->skip) {
			conn_set_state(h, CONN_LINGERING);
			conn_release(h, env); /* what is left is never answered */
			return CONN_IO_LINGER;
		}
		conn_set_state(h, CONN_CLOSING);
		return CONN_IO_CLOSE;
	}
	if (h->len)
		return frame_own(h, env, t);
	if (h->skip || h->pending >= 0) {
		conn_set_state(h, CONN_READING_BODY);
		return CONN_IO_RECV;
	}
	/* Idle now, and the drain wants nothing more from it: close at once. */
	if (env->draining) {
		conn_set_state(h, CONN_CLOSING);
		return CONN_IO_CLOSE;
	}
	conn_set_state(h, CONN_IDLE);
	return CONN_IO_RECV;
}

void conn_release(struct conn_http *h, const struct conn_env *env)
{
	if (h->buf)
		env->put_buf(env->ctx, h->buf);
	h->buf = NULL;
	h->len = 0;
}

enum conn_io conn_on_eof(struct conn_http *h, struct conn_tally *t)
{
	/* Mid-request, or before any request: the client left early. An idle
	 * keep-alive client or a lingering one leaving is the normal end. */
	bool early = h->state == CONN_READING_BODY ||
		     (h->state == CONN_READING && (h->len || !h->served));

	if (early)
		t->eof_early++;
	conn_set_state(h, CONN_CLOSING);
	return CONN_IO_CLOSE;
}

bool conn_is_idle(const struct conn_http *h)
{
	return h->state == CONN_IDLE;
}

bool conn_done_after_send(const struct conn_http *h)
{
	return h->state == CONN_SENDING_LAST && !h->linger && !h->len && !h->skip;
}
