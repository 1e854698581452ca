/* Drives the connection state machine (conn.c) the way io.c does, without
 * sockets: input arrives either in provided buffers of SIM_BUF bytes (framed
 * in place, or appended to an own buffer) or, in own mode, read straight into
 * the own buffer at most SIM_CAP - len at a time; every delay and every
 * send completes at once, and each reply sent is recorded. Time stands
 * still (test/timeline.h moves it). Shared by the unit tests and the
 * fuzzer. */
#ifndef RINGSIDE_TEST_SIM_H
#define RINGSIDE_TEST_SIM_H

#include "conn.h"
#include "fixture.h"

#define SIM_CAP 1024 /* max_header */
#define SIM_BUF 512  /* a provided buffer */
#define SIM_MAX_SENT 4096

struct sim {
	struct conn_http h;
	struct rs_policy pol;
	struct rs_outcome outcomes[4];
	uint64_t rng;
	struct conn_bounds bounds;
	struct conn_env env;
	struct conn_tally t;
	bool own_mode;
	uint8_t own[SIM_CAP + SIM_BUF];
	struct fixture_own lender; /* lends own */
	uint16_t sent[SIM_MAX_SENT]; /* reply ids */
	int nsent;
	int batches;
	enum conn_io io;
};

void sim_open(struct sim *s, bool keep_alive, uint32_t max_requests);
/* The same with a route table: /healthz exact (route 1), /slow/ prefix with a
 * 250 ms delay (route 2), /api/ prefix (route 3); the default delays 10 ms. */
void sim_open_routed(struct sim *s, bool keep_alive, uint32_t max_requests);

/* Feeds bytes as receives would, completing every send the machine asks for. */
void sim_feed(struct sim *s, const void *data, size_t len);
/* A connection that is done closes at once if nothing more has arrived, or
 * lingers if the rest of the stream is already in: both are its end. */
bool sim_same_end(enum conn_state a, enum conn_state b);

#endif
