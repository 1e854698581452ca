/* Drives the connection state machine (conn.c) the way ring.c does, without
 * sockets: bytes arrive in reads of at most the buffer's free space, every
 * send completes at once, and each reply sent is recorded. Shared by the
 * unit tests and the fuzzer. */
#ifndef RINGSIDE_TEST_SIM_H
#define RINGSIDE_TEST_SIM_H

#include "conn.h"

#define SIM_CAP 1024
#define SIM_MAX_SENT 4096

struct sim {
	struct conn_http h;
	struct rs_policy pol;
	struct conn_env env;
	struct conn_tally t;
	uint8_t buf[SIM_CAP];
	uint16_t sent[SIM_MAX_SENT];
	int nsent;
	int batches;
	enum conn_io io;
};

void sim_open(struct sim *s, bool keep_alive, uint32_t max_requests);
/* Feeds bytes as recvs would, completing every send the machine asks for. */
void sim_feed(struct sim *s, const void *data, size_t len);
/* A connection that is done closes at once if nothing more has arrived, or
 * lingers if the rest of the stream is already in: both are its end. */
bool sim_same_end(enum conn_state a, enum conn_state b);

#endif
