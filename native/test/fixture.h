/* Policies for the C tests: a statuses table of a few codes and helpers
 * that fill what rs_decide needs (test/fixture.c). */
#ifndef RINGSIDE_TEST_FIXTURE_H
#define RINGSIDE_TEST_FIXTURE_H

#include "conn.h"
#include "policy.h"

/* The table's codes, in order: 200 201 204 205 304 404 429 500 503. */
#define FIXTURE_STATUSES 9

/* code -> line, RS_NO_STATUS for codes not in the table. */
const uint16_t *fixture_status_index(void);
/* No routes; every response 200 with no draws; the given connection rules. */
struct rs_policy fixture_policy(bool keep_alive, uint32_t max_requests);
/* A response of `status` held back `delay_ms`, nothing drawn. */
struct rs_outcome fixture_outcome(uint16_t status, uint32_t delay_ms);

/* One own buffer, lent and given back as io.c's pool would: a connection
 * has at most one, and gives back the one it was lent (else abort). */
struct fixture_own {
	uint8_t *buf;
	bool lent;
};
/* Sets env's get_buf, put_buf and ctx to lend own->buf. */
void fixture_lend(struct conn_env *env, struct fixture_own *own);

#endif
