/* Drives the connection state machine (conn.c) through time, as io.c and
 * ring.c do: bytes arrive, time passes in sweeps of TL_TICK ms (the ring's
 * deadline sweep), a delay's kernel timeout fires at its deadline, a send
 * completes only when the client reads, the peer leaves, the drain begins.
 *
 * Every step is checked against the rule the docs promise, with bounds
 * taken from the docs' table rather than from conn.c: a visit of a state
 * lasts at most its bound plus one tick, and a connection reaches CLOSING
 * within the sum of the bounds of the visits it made (plus a tick each). A
 * visit ends when the state changes, or when a send completes or a delay
 * ends (the only progress that may start the same state afresh): bytes that
 * complete nothing never start a new one. A failed check aborts, so the
 * fuzzer reports it. Shared by the unit tests and the fuzzer.
 */
#ifndef RINGSIDE_TEST_TIMELINE_H
#define RINGSIDE_TEST_TIMELINE_H

#include "conn.h"
#include "fixture.h"

#define TL_TICK 100
#define TL_CAP 1024

struct timeline {
	struct conn_http h;
	struct rs_policy pol;
	struct rs_outcome outcomes[3];
	uint64_t rng;
	struct conn_bounds bounds;
	struct conn_env env;
	struct conn_tally t;
	uint8_t own[TL_CAP * 2];
	struct fixture_own lender; /* lends own */
	uint64_t now, next_tick, drain_ms, drain_end;
	enum conn_io io;        /* the step last asked for */
	bool sending;           /* a send waits for the client to read */
	bool delaying;          /* a timeout is armed, firing at h.deadline_ms */
	int sent;               /* batches sent */
	/* the checker's own view */
	enum conn_state vstate;
	uint64_t vstart, vbound, opened, bound_sum;
	uint32_t visits;
};

/* keep_alive, routes (/slow/ delayed 2 s, /flaky/ drawn to reset, close,
 * hang, 503 or a delay; the default 300 ms) or none. */
void tl_open(struct timeline *tl, bool keep_alive, bool routed);
void tl_feed(struct timeline *tl, const void *data, uint32_t n);
/* Time passes: sweeps every tick, the delay fires on time. */
void tl_advance(struct timeline *tl, uint64_t ms);
/* The client reads what was sent: the send completes. */
void tl_read(struct timeline *tl);
void tl_eof(struct timeline *tl);
void tl_reset(struct timeline *tl);
/* SIGTERM: the drain begins, with its own bound. */
void tl_drain(struct timeline *tl, uint64_t drain_ms);
/* True once the connection is closing (or closed). */
bool tl_over(const struct timeline *tl);

#endif
