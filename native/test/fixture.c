/* Policies for the C tests: see fixture.h. */
#include "fixture.h"

#include <stdlib.h>

const uint16_t *fixture_status_index(void)
{
	static const uint16_t codes[FIXTURE_STATUSES] = { 200, 201, 204, 205, 304, 404, 429, 500, 503 };
	static uint16_t index[600];
	static bool done;

	if (!done) {
		for (int c = 0; c < 600; c++)
			index[c] = RS_NO_STATUS;
		for (uint16_t i = 0; i < FIXTURE_STATUSES; i++)
			index[codes[i]] = i;
		done = true;
	}
	return index;
}

struct rs_outcome fixture_outcome(uint16_t status, uint32_t delay_ms)
{
	return (struct rs_outcome){ .status = status, .delay_ms = delay_ms };
}

struct rs_policy fixture_policy(bool keep_alive, uint32_t max_requests)
{
	static struct rs_outcome plain[1];

	plain[0] = fixture_outcome(200, 0);
	return (struct rs_policy){ .keep_alive = keep_alive, .max_requests = max_requests, .max_header = 8192,
				   .max_body = 1 << 20, .outcomes = plain, .status_index = fixture_status_index(),
				   .nstatuses = FIXTURE_STATUSES };
}

static uint8_t *get_own(void *ctx)
{
	struct fixture_own *own = ctx;

	if (own->lent)
		abort();
	own->lent = true;
	return own->buf;
}

static void put_own(void *ctx, uint8_t *buf)
{
	struct fixture_own *own = ctx;

	if (!own->lent || buf != own->buf)
		abort();
	own->lent = false;
}

void fixture_lend(struct conn_env *env, struct fixture_own *own)
{
	env->get_buf = get_own;
	env->put_buf = put_own;
	env->ctx = own;
}
