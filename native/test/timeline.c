/* The connection state machine through time: see timeline.h. */
#include "timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TL_REQUIRE(cond)                                                         \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: clock invariant failed: %s (state %s, t=%llu)\n", \
				__FILE__, __LINE__, #cond, conn_state_name(tl->h.state), \
				(unsigned long long)tl->now);                    \
			abort();                                                 \
		}                                                                \
	} while (0)

/* The docs' table (docs/http.md), not conn.c's: what a visit may last. */
static uint64_t documented_bound(const struct timeline *tl, enum conn_state s)
{
	switch (s) {
	case CONN_READING:
	case CONN_READING_BODY:
	case CONN_HANGING: return tl->bounds.header_ms;
	case CONN_DELAYING: return tl->h.delay_ms;
	case CONN_SENDING:
	case CONN_SENDING_LAST: return tl->bounds.send_ms;
	case CONN_IDLE: return tl->bounds.idle_ms;
	case CONN_LINGERING: return tl->bounds.linger_ms;
	default: return 0;
	}
}

/* After every step: the visit so far within its bound, a new visit where the
 * state changed or progress was made, the whole life within the sum. */
static void observe(struct timeline *tl, bool progress)
{
	enum conn_state s = tl->h.state;

	if (tl->vstate == CONN_CLOSING)
		return; /* over: what follows is io.c's, not a clock's */
	TL_REQUIRE(tl->now - tl->vstart <= tl->vbound + TL_TICK);
	if (tl->env.draining && s != CONN_FREE && s != CONN_CLOSING)
		TL_REQUIRE(tl->now <= tl->drain_end + TL_TICK);
	if (s == CONN_CLOSING || s == CONN_FREE) {
		TL_REQUIRE(tl->now - tl->opened <= tl->bound_sum + (uint64_t)tl->visits * TL_TICK);
		tl->vstate = CONN_CLOSING;
		return;
	}
	if (s == tl->vstate && !progress)
		return;
	tl->vstate = s;
	tl->vstart = tl->now;
	tl->vbound = documented_bound(tl, s);
	tl->bound_sum += tl->vbound;
	tl->visits++;
}

/* Carries out what the machine asked for: a send waits for the client, a
 * delay for the clock, a linger reads on, a close happens at once. */
static void settle(struct timeline *tl, enum conn_io io)
{
	tl->io = io;
	if (io == CONN_IO_SEND)
		tl->sending = true;
	else if (io == CONN_IO_DELAY)
		tl->delaying = true;
	if (tl->h.state == CONN_CLOSING || tl->h.state == CONN_FREE)
		tl->sending = tl->delaying = false;
}

void tl_open(struct timeline *tl, bool keep_alive, bool routed)
{
	static const struct rs_route_match routes[] = {
		{ (const uint8_t *)"/slow/", 6, true },
		{ (const uint8_t *)"/flaky/", 7, true },
	};

	memset(tl, 0, sizeof(*tl));
	tl->pol = fixture_policy(keep_alive, 0);
	tl->pol.max_header = TL_CAP;
	tl->outcomes[0] = fixture_outcome(200, routed ? 300 : 0);
	tl->outcomes[1] = fixture_outcome(200, 2000);
	/* /flaky/: a fault, a 503 or a delay drawn for most requests */
	tl->outcomes[2] = fixture_outcome(200, 0);
	tl->outcomes[2].faults = (struct rs_weights){ .n = 3, .value = { RS_FAULT_RESET, RS_FAULT_CLOSE, RS_FAULT_HANG },
						      .ppm = { 150000, 150000, 200000 } };
	tl->outcomes[2].statuses = (struct rs_weights){ .n = 1, .value = { 503 }, .ppm = { 300000 } };
	tl->outcomes[2].delays = (struct rs_weights){ .n = 1, .value = { 700 }, .ppm = { 400000 } };
	tl->outcomes[2].drawn = true;
	tl->pol.outcomes = tl->outcomes;
	tl->rng = 1;
	if (routed) {
		tl->pol.nroutes = 2;
		tl->pol.routes = routes;
	}
	tl->bounds = (struct conn_bounds){ .header_ms = 1000, .send_ms = 1500, .idle_ms = 700, .linger_ms = 500 };
	tl->env = (struct conn_env){ .policy = &tl->pol, .bounds = &tl->bounds, .rng = &tl->rng, .buf_cap = TL_CAP * 2 };
	tl->lender.buf = tl->own;
	fixture_lend(&tl->env, &tl->lender);
	tl->now = tl->opened = 1000;
	tl->next_tick = tl->now + TL_TICK;
	tl->env.now_ms = tl->now;
	conn_open(&tl->h, &tl->env);
	tl->vstate = CONN_FREE;
	tl->vstart = tl->now;
	observe(tl, false);
}

bool tl_over(const struct timeline *tl)
{
	return tl->h.state == CONN_CLOSING || tl->h.state == CONN_FREE;
}

void tl_feed(struct timeline *tl, const void *data, uint32_t n)
{
	const uint8_t *p = data;

	while (n && !tl_over(tl)) {
		uint32_t taken;
		enum conn_io io = conn_feed(&tl->h, p, n, &tl->env, &tl->t, &taken);

		if (io == CONN_IO_NONE)
			return; /* sending or delaying: io.c holds it; the client stalls */
		settle(tl, io);
		observe(tl, false);
		p += taken;
		n -= taken;
	}
}

/* What the ring does at time now: the delay fires, then the sweep. */
static void fire_due(struct timeline *tl, bool tick)
{
	tl->env.now_ms = tl->now;
	if (tl->delaying && tl->now >= tl->h.deadline_ms) {
		tl->delaying = false;
		settle(tl, conn_on_delay_over(&tl->h, &tl->env));
		observe(tl, true);
	}
	if (!tick || tl_over(tl))
		return;
	if (tl->env.draining && tl->now >= tl->drain_end)
		settle(tl, conn_on_drain_over(&tl->h, &tl->env, &tl->t));
	else if (conn_deadline_passed(&tl->h, tl->now))
		settle(tl, conn_on_deadline(&tl->h, &tl->env, &tl->t));
	observe(tl, false);
}

void tl_advance(struct timeline *tl, uint64_t ms)
{
	uint64_t end = tl->now + ms;

	while (!tl_over(tl)) {
		uint64_t next = tl->next_tick;
		bool tick;

		if (tl->delaying && tl->h.deadline_ms < next)
			next = tl->h.deadline_ms;
		if (next > end)
			break;
		tick = next == tl->next_tick;
		tl->now = next;
		if (tick)
			tl->next_tick += TL_TICK;
		fire_due(tl, tick);
	}
	if (end > tl->now)
		tl->now = end;
	while (tl->next_tick <= tl->now)
		tl->next_tick += TL_TICK;
	tl->env.now_ms = tl->now;
	observe(tl, false);
}

void tl_read(struct timeline *tl)
{
	if (!tl->sending || tl_over(tl))
		return;
	tl->sending = false;
	tl->sent++;
	settle(tl, conn_on_sent(&tl->h, &tl->env, &tl->t, false));
	observe(tl, true);
}

void tl_eof(struct timeline *tl)
{
	/* io.c: an EOF waits behind a send; a held-back response's client is gone. */
	if (tl_over(tl) || (tl->h.state != CONN_DELAYING && !conn_takes_input(&tl->h)))
		return;
	settle(tl, conn_on_eof(&tl->h, &tl->env, &tl->t));
	observe(tl, false);
}

void tl_reset(struct timeline *tl)
{
	if (tl_over(tl))
		return;
	settle(tl, conn_on_error(&tl->h, &tl->env, &tl->t));
	observe(tl, false);
}

void tl_drain(struct timeline *tl, uint64_t drain_ms)
{
	if (tl->env.draining || tl_over(tl))
		return;
	tl->env.draining = true;
	tl->drain_ms = drain_ms;
	tl->drain_end = tl->now + drain_ms;
	settle(tl, conn_on_drain(&tl->h, &tl->env));
	observe(tl, false);
}
