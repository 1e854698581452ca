/* The connection state machine driven without sockets: see sim.h. */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

void sim_open(struct sim *s, bool keep_alive, uint32_t max_requests)
{
	memset(s, 0, sizeof(*s));
	s->pol = fixture_policy(keep_alive, max_requests);
	s->pol.max_header = SIM_CAP;
	s->outcomes[0] = fixture_outcome(200, 0);
	s->pol.outcomes = s->outcomes;
	s->rng = 1;
	s->bounds = (struct conn_bounds){ .header_ms = 10000, .send_ms = 10000, .idle_ms = 5000, .linger_ms = 5000 };
	s->env = (struct conn_env){ .policy = &s->pol, .bounds = &s->bounds, .rng = &s->rng, .buf_cap = SIM_CAP + SIM_BUF };
	s->lender.buf = s->own;
	fixture_lend(&s->env, &s->lender);
	conn_open(&s->h, &s->env);
	s->io = CONN_IO_RECV;
}

static void settle(struct sim *s)
{
	while (s->io == CONN_IO_SEND || s->io == CONN_IO_DELAY) {
		if (s->io == CONN_IO_DELAY) {
			s->io = conn_on_delay_over(&s->h, &s->env);
			continue;
		}
		for (int i = 0; i < s->h.nreplies && s->nsent < SIM_MAX_SENT; i++)
			s->sent[s->nsent++] = s->h.replies[i].id;
		s->batches++;
		s->io = conn_on_sent(&s->h, &s->env, &s->t, false);
	}
	if (s->io == CONN_IO_LINGER)
		s->io = CONN_IO_RECV; /* the ring shuts down, then reads to EOF */
}

static bool ended(const struct sim *s)
{
	return s->h.state == CONN_CLOSING;
}

/* One provided buffer's worth, offered until the connection took it all. */
static void feed_buffer(struct sim *s, const uint8_t *p, uint32_t n)
{
	uint32_t off = 0, taken;

	while (off < n && !ended(s)) {
		s->io = conn_feed(&s->h, p + off, n - off, &s->env, &s->t, &taken);
		if (s->io == CONN_IO_NONE)
			abort(); /* sends complete at once here: it always takes input */
		settle(s);
		off += taken;
	}
}

/* Reads straight into the own buffer, as without buffer rings. */
static void feed_own(struct sim *s, const uint8_t *p, size_t len)
{
	while (len && !ended(s)) {
		uint8_t *buf = conn_own_buffer(&s->h, &s->env);
		uint32_t room = SIM_CAP - s->h.len;
		uint32_t n = len < room ? (uint32_t)len : room;

		memcpy(buf + s->h.len, p, n);
		s->io = conn_on_input(&s->h, n, &s->env, &s->t);
		settle(s);
		p += n;
		len -= n;
	}
}

void sim_feed(struct sim *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (s->own_mode) {
		feed_own(s, p, len);
		return;
	}
	while (len && !ended(s)) {
		uint32_t n = len < SIM_BUF ? (uint32_t)len : SIM_BUF;

		feed_buffer(s, p, n);
		p += n;
		len -= n;
	}
}

static const struct rs_route_match sim_table[] = {
	{ (const uint8_t *)"/healthz", 8, false },
	{ (const uint8_t *)"/slow/", 6, true },
	{ (const uint8_t *)"/api/", 5, true },
};

void sim_open_routed(struct sim *s, bool keep_alive, uint32_t max_requests)
{
	sim_open(s, keep_alive, max_requests);
	s->outcomes[0] = fixture_outcome(200, 10);
	s->outcomes[1] = fixture_outcome(200, 0);
	s->outcomes[2] = fixture_outcome(200, 250);
	s->outcomes[3] = fixture_outcome(200, 0);
	s->pol.nroutes = 3;
	s->pol.routes = sim_table;
}

bool sim_same_end(enum conn_state a, enum conn_state b)
{
	bool a_ends = a == CONN_CLOSING || a == CONN_LINGERING;
	bool b_ends = b == CONN_CLOSING || b == CONN_LINGERING;

	return a == b || (a_ends && b_ends);
}
