/* Every state's clock against a client that stalls and one that trickles
 * (a byte, or 1 KiB, at a time, faster than any bound): the connection is
 * cut at the state's bound, counted, and never gains time. The timeline
 * (test/timeline.c) aborts on any step that breaks the rule. */
#include "check.h"
#include "timeline.h"

#include <string.h>

#define GET11 "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
#define SLOW11 "GET /slow/x HTTP/1.1\r\nHost: t\r\n\r\n"
#define SLOW10 "GET /slow/x HTTP/1.0\r\n\r\n"

static void feed_str(struct timeline *tl, const char *s)
{
	tl_feed(tl, s, (uint32_t)strlen(s));
}

/* Sends `chunk` bytes of `fill` every `every` ms until the connection is
 * cut or `limit` ms have passed; returns how long it lasted. */
static uint64_t trickle(struct timeline *tl, char fill, uint32_t chunk, uint64_t every, uint64_t limit)
{
	static char buf[1024];
	uint64_t start = tl->now;

	memset(buf, fill, sizeof(buf));
	while (!tl_over(tl) && tl->now - start < limit) {
		tl_feed(tl, buf, chunk);
		tl_advance(tl, every);
	}
	return tl->now - start;
}

static void stall(struct timeline *tl, uint64_t limit)
{
	uint64_t start = tl->now;

	while (!tl_over(tl) && tl->now - start < limit)
		tl_advance(tl, 50);
}

static void test_reading(void)
{
	struct timeline tl;

	tl_open(&tl, true, false); /* stalls mid-header */
	feed_str(&tl, "GET / HTTP/1.1\r\n");
	stall(&tl, 10000);
	CHECK(tl_over(&tl) && tl.t.header_timeouts == 1 && tl.now - tl.opened <= 1000 + TL_TICK);
	tl_open(&tl, true, false); /* a header line a byte at a time */
	feed_str(&tl, "GET / HTTP/1.1\r\nX-Slow: ");
	trickle(&tl, 'a', 1, 50, 10000);
	CHECK(tl_over(&tl) && tl.t.header_timeouts == 1 && tl.now - tl.opened <= 1000 + TL_TICK);
	tl_open(&tl, false, false); /* a body 1 KiB at a time: one clock from the header's first byte */
	feed_str(&tl, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 900000\r\n\r\n");
	CHECK(tl.h.state == CONN_READING_BODY);
	trickle(&tl, 'b', 1024, 50, 10000);
	CHECK(tl_over(&tl) && tl.t.header_timeouts == 1 && tl.now - tl.opened <= 1000 + TL_TICK);
}

static void test_idle(void)
{
	struct timeline tl;

	tl_open(&tl, true, false);
	feed_str(&tl, GET11);
	tl_read(&tl);
	CHECK(tl.h.state == CONN_IDLE);
	stall(&tl, 10000);
	CHECK(tl_over(&tl) && tl.t.idle_timeouts == 1);
	tl_open(&tl, true, false); /* trickling after a request: a new request's clock, no more */
	feed_str(&tl, GET11);
	tl_read(&tl);
	trickle(&tl, 'x', 1, 50, 10000);
	CHECK(tl_over(&tl) && (tl.t.header_timeouts == 1 || tl.t.bad_requests == 1));
}

static void test_sending(void)
{
	struct timeline tl;

	tl_open(&tl, true, false); /* a client that never reads */
	feed_str(&tl, GET11);
	CHECK(tl.h.state == CONN_SENDING);
	stall(&tl, 10000);
	CHECK(tl_over(&tl) && tl.t.send_timeouts == 1);
	tl_open(&tl, true, false); /* ... and keeps sending requests meanwhile */
	feed_str(&tl, GET11);
	trickle(&tl, 'G', 1024, 50, 10000);
	CHECK(tl_over(&tl) && tl.t.send_timeouts == 1);
}

static void test_delaying(void)
{
	struct timeline tl;

	tl_open(&tl, true, true); /* the response goes at its delay, whatever the client sends */
	feed_str(&tl, SLOW11);
	CHECK(tl.h.state == CONN_DELAYING && tl.t.delayed == 1);
	trickle(&tl, 'G', 1, 50, 1900);
	CHECK(tl.h.state == CONN_DELAYING);
	tl_advance(&tl, 100);
	CHECK(tl.h.state == CONN_SENDING && tl.now - tl.opened == 2000);
	tl_open(&tl, false, true); /* close mode: input during the delay is read and discarded */
	feed_str(&tl, SLOW10);
	trickle(&tl, 'x', 1024, 50, 2000);
	CHECK(tl.h.state == CONN_SENDING_LAST && tl.h.linger);
	tl_read(&tl);
	CHECK(tl.h.state == CONN_LINGERING);
	tl_open(&tl, false, true); /* a client that leaves during the delay frees the slot at once */
	feed_str(&tl, SLOW10);
	tl_advance(&tl, 300);
	tl_eof(&tl);
	CHECK(tl_over(&tl) && tl.t.delayed_cut == 1);
	tl_open(&tl, true, true);
	feed_str(&tl, SLOW11);
	tl_advance(&tl, 300);
	tl_reset(&tl);
	CHECK(tl_over(&tl) && tl.t.delayed_cut == 1);
}

static void test_lingering(void)
{
	static const char *const starts[] = {
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS ClientHello on the plain port */
		"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
	};

	for (int i = 0; i < 2; i++) {
		struct timeline tl;
		uint64_t lasted;

		tl_open(&tl, true, false);
		feed_str(&tl, starts[i]);
		tl_read(&tl);
		CHECK(tl.h.state == CONN_LINGERING);
		lasted = trickle(&tl, 'z', i ? 1 : 1024, 50, 20000);
		CHECK(tl_over(&tl) && tl.t.linger_timeouts == 1 && lasted <= 500 + TL_TICK);
		tl_open(&tl, true, false);
		feed_str(&tl, starts[i]);
		tl_read(&tl);
		stall(&tl, 20000);
		CHECK(tl_over(&tl) && tl.t.linger_timeouts == 1);
	}
}

/* A request drawn to hang is never answered: the connection reads on and is
 * cut at the header bound, however the client trickles; the drain closes it
 * at once. */
static void test_hanging(void)
{
	struct timeline tl;
	int hung = 0;

	for (uint64_t seed = 1; seed < 200 && hung < 3; seed++) {
		tl_open(&tl, true, true);
		tl.rng = seed;
		feed_str(&tl, "GET /flaky/x HTTP/1.1\r\nHost: t\r\n\r\n");
		if (tl.h.state != CONN_HANGING)
			continue;
		hung++;
		CHECK(tl.t.faults[RS_FAULT_HANG] == 1 && tl.h.nreplies == 0);
		if (hung == 3) {
			tl_drain(&tl, 5000);
			CHECK(tl_over(&tl) && tl.t.drain_timeouts == 0);
			continue;
		}
		trickle(&tl, 'G', hung == 1 ? 1 : 1024, 50, 10000);
		CHECK(tl_over(&tl) && tl.t.header_timeouts == 1 && tl.now - tl.opened <= 1000 + TL_TICK);
	}
	CHECK(hung == 3);
}

static void test_drain(void)
{
	struct timeline tl;

	tl_open(&tl, true, false); /* a request still arriving gets the drain's bound, no more */
	feed_str(&tl, "GET / HTTP/1.1\r\nX-Slow: ");
	tl_drain(&tl, 300);
	trickle(&tl, 'a', 1, 50, 10000);
	CHECK(tl_over(&tl) && tl.t.drain_timeouts == 1);
	tl_open(&tl, true, true); /* a delay longer than the drain: cut, and counted as cut */
	feed_str(&tl, SLOW11);
	tl_drain(&tl, 500);
	stall(&tl, 10000);
	CHECK(tl_over(&tl) && tl.t.drain_timeouts == 1 && tl.t.delayed_cut == 1);
	tl_open(&tl, true, true); /* a delay within the drain: its response is the last */
	feed_str(&tl, SLOW11);
	tl_drain(&tl, 5000);
	tl_advance(&tl, 2000);
	CHECK(tl.h.state == CONN_SENDING_LAST && tl.h.replies[0].id == rs_reply_of(1, RS_RESP_CLOSE_11));
}

void run_clock_tests(void)
{
	test_reading();
	test_idle();
	test_sending();
	test_delaying();
	test_lingering();
	test_drain();
	test_hanging();
}
