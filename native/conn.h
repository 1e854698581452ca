/* A connection's HTTP life as an explicit state machine: pure, no I/O.
 *
 * ring.c owns the socket and the timers; it tells this unit what happened
 * (bytes arrived, the replies went out, the peer closed, the drain began) and
 * does the one I/O step the answer names. Every state change goes through
 * conn_set_state(), checked against the table of allowed transitions.
 *
 *   FREE -> READING -> (READING_BODY) -> SENDING -> IDLE -> READING ...
 *                                     -> SENDING_LAST -> LINGERING -> CLOSING -> FREE
 *   any open state -> CLOSING (peer left, error, timeout) -> FREE
 */
#ifndef RINGSIDE_CONN_H
#define RINGSIDE_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

/* Replies answered with one send per batch of pipelined requests. */
#define RS_MAX_IOV 32

#define CONN_STATE_LIST(X)                                                  \
	X(FREE)         /* no connection in this slot */                     \
	X(READING)      /* waiting for (the rest of) a request header block */ \
	X(IDLE)         /* keep-alive, between requests, nothing buffered */ \
	X(READING_BODY) /* discarding a request body; its reply waits */     \
	X(SENDING)      /* replies in flight; the connection stays open */   \
	X(SENDING_LAST) /* the last replies in flight; then close or linger */ \
	X(LINGERING)    /* write side shut, reading to EOF before the close */ \
	X(CLOSING)      /* closed by us; its last operations still to finish */

#define CONN_X_ENUM(name) CONN_##name,
enum conn_state { CONN_STATE_LIST(CONN_X_ENUM) CONN_STATES };

/* The I/O step ring.c takes next. */
enum conn_io {
	CONN_IO_RECV,   /* read more */
	CONN_IO_SEND,   /* send replies[0 .. nreplies) */
	CONN_IO_LINGER, /* shut the write side, then read and discard to EOF */
	CONN_IO_CLOSE,  /* close the connection */
	CONN_IO_NONE,   /* nothing taken: input waits until the replies are sent */
};

/* What a step needs from the server: the policy, whether it drains, and the
 * connections' own buffers (buf_cap bytes each, lent while a request is
 * incomplete). */
struct conn_env {
	const struct rs_policy *policy;
	bool draining;
	uint32_t buf_cap;
	uint8_t *(*get_buf)(void *ctx);
	void (*put_buf)(void *ctx, uint8_t *buf);
	void *ctx;
};

/* Requests one step can frame: a full batch of replies and one more whose
 * body is still to come. */
#define CONN_STEP_REQUESTS (RS_MAX_IOV + 1)

/* Counter deltas from one step, added by the caller. */
struct conn_tally {
	uint32_t requests;
	uint32_t bad_requests;
	uint32_t too_large;
	uint32_t eof_early;
	uint16_t nroutes;      /* the route of each request framed, in order */
	uint16_t routes[CONN_STEP_REQUESTS];
};

struct conn_http {
	uint8_t *buf;        /* own buffer (env->buf_cap bytes) while len > 0, else NULL */
	uint32_t len;        /* unprocessed input held in buf */
	uint32_t served;     /* replies queued so far (max_requests counts these) */
	uint64_t skip;       /* request body bytes still to discard */
	int32_t pending;     /* reply owed once the body is read, or -1 */
	uint32_t pending_delay; /* ... and how long it is held back */
	uint32_t delay_ms;   /* the queued replies are held back this long (their longest) */
	bool close_after;    /* close once the queued replies are sent */
	bool linger;         /* input may be unread: shut down and drain first */
	enum conn_state state;
	uint8_t nreplies;
	uint16_t replies[RS_MAX_IOV];
};

/* A new connection, reading its first request. */
void conn_open(struct conn_http *h);
/* n bytes arrived at data (a buffer the caller gets back). With nothing
 * buffered they are framed where they are and only an incomplete rest is
 * copied into an own buffer; otherwise they are appended to it first.
 * Frames every complete request and queues up to RS_MAX_IOV replies. *taken
 * is how many of the n bytes were taken: all of them, or fewer (none while
 * replies are being sent, CONN_IO_NONE) when the rest must be offered again
 * once conn_on_sent has run. */
enum conn_io conn_feed(struct conn_http *h, const uint8_t *data, uint32_t n,
		       const struct conn_env *env, struct conn_tally *t, uint32_t *taken);
/* The read-into-own-buffer path (no provided buffers): conn_own_buffer gives
 * the buffer to read into at buf + len, conn_on_input says n bytes landed. */
uint8_t *conn_own_buffer(struct conn_http *h, const struct conn_env *env);
enum conn_io conn_on_input(struct conn_http *h, uint32_t n, const struct conn_env *env,
			   struct conn_tally *t);
/* True in the states that take input (READING, IDLE, READING_BODY, LINGERING). */
bool conn_takes_input(const struct conn_http *h);
/* Gives the own buffer back (the connection is closing). */
void conn_release(struct conn_http *h, const struct conn_env *env);
/* Every queued reply was sent. */
enum conn_io conn_on_sent(struct conn_http *h, const struct conn_env *env, struct conn_tally *t);
/* The peer closed its side (recv returned 0). */
enum conn_io conn_on_eof(struct conn_http *h, struct conn_tally *t);
/* Keep-alive and between requests: the connection owes and is owed nothing. */
bool conn_is_idle(const struct conn_http *h);
/* After the replies now queued nothing remains to read or send, so a close
 * may be linked right behind the send. */
bool conn_done_after_send(const struct conn_http *h);
/* The one place a state changes; false (and no change) for a transition the
 * table does not allow. */
bool conn_set_state(struct conn_http *h, enum conn_state to);
bool conn_transition_allowed(enum conn_state from, enum conn_state to);
const char *conn_state_name(enum conn_state s);

#endif
