/* A connection's HTTP life as an explicit state machine: pure, no I/O.
 *
 * io.c owns the socket and the kernel timers; it tells this unit what
 * happened (bytes arrived, the replies went out, a delay ended, the peer left,
 * a deadline passed, the drain began) and does the one I/O step the answer
 * names. Every state change goes through one function here, checked against
 * the table of allowed transitions.
 *
 *   FREE -> READING -> (READING_BODY) -> (DELAYING) -> SENDING -> IDLE -> READING ...
 *                                                   -> SENDING_LAST -> LINGERING -> CLOSING -> FREE
 *   any open state -> CLOSING (peer left, error, deadline) -> FREE
 *
 * Every state has one clock, decided here: entering the state starts it,
 * and nothing but leaving the state stops it; a state that passes to itself
 * (more bytes while READING or LINGERING) keeps its deadline. The bounds:
 *
 *   READING, READING_BODY  header_ms from the request's first byte (one clock
 *                          for header and body: READING -> READING_BODY keeps it)
 *   DELAYING               the delay itself (io.c arms a kernel timeout for it)
 *   SENDING, SENDING_LAST  send_ms for the whole of the queued replies
 *   IDLE                   idle_ms
 *   LINGERING              linger_ms
 *   HANGING                header_ms (a request drawn to hang is never answered)
 *   CLOSING                none: io.c has cancelled what is in flight
 * The drain adds one bound over all of them (conn_on_drain_over).
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
	X(DELAYING)     /* replies queued, held back by their delay */       \
	X(SENDING)      /* replies in flight; the connection stays open */   \
	X(SENDING_LAST) /* the last replies in flight; then close or linger */ \
	X(LINGERING)    /* write side shut, reading to EOF before the close */ \
	X(HANGING)      /* fault=hang: reading and discarding, never answering */ \
	X(CLOSING)      /* closed by us; its last operations still to finish */

#define CONN_X_ENUM(name) CONN_##name,
enum conn_state { CONN_STATE_LIST(CONN_X_ENUM) CONN_STATES };

/* The I/O step io.c takes next. */
enum conn_io {
	CONN_IO_RECV,   /* read more */
	CONN_IO_DELAY,  /* arm a timeout of delay_ms; keep reading (to see the peer leave) */
	CONN_IO_SEND,   /* send replies[0 .. nreplies) */
	CONN_IO_LINGER, /* shut the write side, then read and discard to EOF */
	CONN_IO_CLOSE,  /* close the connection */
	CONN_IO_RESET,  /* close it with an RST (fault=reset) */
	CONN_IO_NONE,   /* nothing taken: input waits until the replies are sent */
};

/* How long each state may last, in ms (see the table above). */
struct conn_bounds {
	uint32_t header_ms;
	uint32_t send_ms;
	uint32_t idle_ms;
	uint32_t linger_ms;
};

/* What a step needs from the server: the policy and bounds, the time, whether
 * it drains, and the connections' own buffers (buf_cap bytes each, lent while
 * a request is incomplete). */
struct conn_env {
	const struct rs_policy *policy;
	const struct conn_bounds *bounds;
	uint64_t now_ms;
	bool draining;
	uint64_t *rng;  /* the ring's generator, for the policy's draws */
	uint32_t buf_cap;
	uint8_t *(*get_buf)(void *ctx);
	void (*put_buf)(void *ctx, uint8_t *buf);
	void *ctx;
};

/* Requests one step can frame: a full batch of replies and one more whose
 * body is still to come. */
#define CONN_STEP_REQUESTS (RS_MAX_IOV + 1)

/* A request's route and what it came to (policy.h: rs_decision.outcome). */
struct conn_outcome {
	uint16_t route;
	uint16_t outcome;
};

/* Counter deltas from one step, added by the caller. */
struct conn_tally {
	uint32_t requests;
	uint32_t bad_requests;
	uint32_t control_errors;
	uint32_t faults[RS_FAULTS];
	uint32_t too_large;
	uint32_t eof_early;
	uint32_t header_timeouts; /* READING or READING_BODY ran out */
	uint32_t idle_timeouts;
	uint32_t send_timeouts;
	uint32_t linger_timeouts;
	uint32_t drain_timeouts;  /* open when the drain ran out */
	uint32_t delayed;         /* replies held back */
	uint32_t delayed_cut;     /* ... and never sent: the peer left, or a deadline */
	uint16_t noutcomes;       /* each request framed, in order */
	struct conn_outcome outcomes[CONN_STEP_REQUESTS];
};

/* A queued reply: prebuilt reply id, and what was drawn for it. */
struct conn_reply {
	uint16_t id;
	uint16_t status;          /* 0: the route's own (the prebuilt bytes), else put together when sent */
	uint32_t size;            /* RS_SIZE_STATIC, or a generated body of this size */
};

static inline bool conn_reply_prebuilt(struct conn_reply r)
{
	return !r.status && r.size == RS_SIZE_STATIC;
}

struct conn_http {
	uint8_t *buf;        /* own buffer (env->buf_cap bytes) while len > 0, else NULL */
	uint32_t len;        /* unprocessed input held in buf */
	uint32_t served;     /* replies queued so far (max_requests counts these) */
	uint64_t skip;       /* request body bytes still to discard */
	bool owed;           /* a reply is owed once the body is read ... */
	struct conn_reply pending; /* ... this one */
	uint32_t pending_delay; /* ... and how long it is held back */
	uint32_t delay_ms;   /* the queued replies are held back this long (their longest) */
	bool close_after;    /* close once the queued replies are sent */
	bool linger;         /* input may be unread: shut down and drain first */
	uint8_t fault;       /* enum rs_fault drawn for the last request, or RS_NO_FAULT */
	enum conn_state state;
	uint64_t deadline_ms; /* when the current state's clock runs out */
	uint8_t nreplies;
	struct conn_reply replies[RS_MAX_IOV];
};

/* A new connection, reading its first request. */
void conn_open(struct conn_http *h, const struct conn_env *env);
/* n bytes arrived at data (a buffer the caller gets back). With nothing
 * buffered they are framed where they are and only an incomplete rest is
 * copied into an own buffer; otherwise they are appended to it first.
 * Frames every complete request and queues up to RS_MAX_IOV replies. *taken
 * is how many of the n bytes were taken: all of them, or fewer (none while
 * replies wait or are being sent, CONN_IO_NONE) when the rest must be offered
 * again once conn_on_sent has run. */
enum conn_io conn_feed(struct conn_http *h, const uint8_t *data, uint32_t n,
		       const struct conn_env *env, struct conn_tally *t, uint32_t *taken);
/* The read-into-own-buffer path (no provided buffers): conn_own_buffer gives
 * the buffer to read into at buf + len, conn_on_input says n bytes landed. */
uint8_t *conn_own_buffer(struct conn_http *h, const struct conn_env *env);
enum conn_io conn_on_input(struct conn_http *h, uint32_t n, const struct conn_env *env,
			   struct conn_tally *t);
/* True in the states that take input (READING, IDLE, READING_BODY, LINGERING,
 * HANGING, and DELAYING once nothing more will be answered). */
bool conn_takes_input(const struct conn_http *h);
/* The delay ran out: send. In the drain the last reply becomes a closing one. */
enum conn_io conn_on_delay_over(struct conn_http *h, const struct conn_env *env);
/* Every queued reply was sent; input_held: io.c holds input the connection
 * has not taken yet. */
enum conn_io conn_on_sent(struct conn_http *h, const struct conn_env *env, struct conn_tally *t,
			  bool input_held);
/* The peer closed its side (recv returned 0). */
enum conn_io conn_on_eof(struct conn_http *h, const struct conn_env *env, struct conn_tally *t);
/* The peer reset, or an operation failed: the connection is over. */
enum conn_io conn_on_error(struct conn_http *h, const struct conn_env *env, struct conn_tally *t);
/* The drain began: an idle connection closes at once. */
enum conn_io conn_on_drain(struct conn_http *h, const struct conn_env *env);
/* True once the state's clock has run out and io.c should report it with
 * conn_on_deadline. Not for DELAYING: its kernel timeout is its clock. */
bool conn_deadline_passed(const struct conn_http *h, uint64_t now_ms);
enum conn_io conn_on_deadline(struct conn_http *h, const struct conn_env *env, struct conn_tally *t);
/* The drain's own bound ran out: whatever is still open closes. */
enum conn_io conn_on_drain_over(struct conn_http *h, const struct conn_env *env, struct conn_tally *t);
/* Its close is queued (or was linked behind the send) and nothing of it is
 * in flight: the slot is free. */
void conn_on_closed(struct conn_http *h, const struct conn_env *env);
/* After the replies now queued nothing remains to read or send, so a close
 * may be linked right behind the send. */
bool conn_done_after_send(const struct conn_http *h);
bool conn_transition_allowed(enum conn_state from, enum conn_state to);
const char *conn_state_name(enum conn_state s);

#endif
