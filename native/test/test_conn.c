/* Unit tests for the connection state machine (conn.c), driven the way
 * ring.c drives it (test/sim.c). */
#include "conn.h"
#include "check.h"
#include "sim.h"

#include <string.h>

static void feed(struct sim *s, const char *data, size_t len)
{
	sim_feed(s, data, len);
}

static void feed_str(struct sim *s, const char *data)
{
	sim_feed(s, data, strlen(data));
}

#define GET11 "GET / HTTP/1.1\r\nHost: t\r\n\r\n"
#define GET11_CLOSE "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
#define HEAD11 "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"
#define POST5 "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n"
#define SLOW11 "GET /slow/1 HTTP/1.1\r\nHost: t\r\n\r\n"
#define CHUNKED "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"

static void test_pipelined_keep_alive(void)
{
	struct sim s;

	sim_open(&s, true, 0);
	feed_str(&s, GET11 HEAD11 POST5 "hello" GET11);
	CHECK(s.nsent == 4 && s.batches == 1);
	CHECK(s.sent[0] == rs_reply_of(0, RS_RESP_KEEP_11) && s.sent[1] == rs_reply_of(0, RS_RESP_HEAD_KEEP_11) && s.sent[2] == rs_reply_of(0, RS_RESP_KEEP_11) && s.sent[3] == rs_reply_of(0, RS_RESP_KEEP_11));
	CHECK(s.h.state == CONN_IDLE && s.io == CONN_IO_RECV && s.h.served == 4 && s.t.requests == 4);
}

static void test_body_in_pieces(void)
{
	struct sim s;

	sim_open(&s, true, 0);
	feed_str(&s, POST5 "he");
	CHECK(s.nsent == 0 && s.h.state == CONN_READING_BODY && s.h.skip == 3);
	feed_str(&s, "llo");
	CHECK(s.nsent == 1 && s.sent[0] == rs_reply_of(0, RS_RESP_KEEP_11) && s.h.state == CONN_IDLE);
}

static void test_iov_cap(void)
{
	struct sim s;
	char many[33 * sizeof(GET11)];

	/* 33 requests in one read: 32 replies in one send, then the last. */
	sim_open(&s, true, 0);
	many[0] = 0;
	for (int i = 0; i < 33; i++)
		strcat(many, GET11);
	feed_str(&s, many);
	CHECK(s.nsent == 33 && s.batches == 2 && s.h.state == CONN_IDLE);
}

static void test_closing_paths(void)
{
	struct sim s;

	/* Connection: close, nothing after it: close right behind the send. */
	sim_open(&s, true, 0);
	feed(&s, GET11_CLOSE, strlen(GET11_CLOSE));
	CHECK(s.nsent == 1 && s.sent[0] == rs_reply_of(0, RS_RESP_CLOSE_11) && s.io == CONN_IO_CLOSE && s.h.state == CONN_CLOSING);
	/* Chunked: answered, then the body is read away before the close. */
	sim_open(&s, true, 0);
	feed_str(&s, CHUNKED);
	CHECK(s.nsent == 1 && s.sent[0] == rs_reply_of(0, RS_RESP_CLOSE_11) && s.h.state == CONN_LINGERING);
	feed_str(&s, GET11); /* in the body or after it: never answered */
	CHECK(s.nsent == 1 && s.h.state == CONN_LINGERING);
	/* A valid request, then garbage: both answered, then linger. */
	sim_open(&s, true, 0);
	feed_str(&s, GET11 "\x01garbage");
	CHECK(s.nsent == 2 && s.sent[0] == rs_reply_of(0, RS_RESP_KEEP_11) && s.sent[1] == RS_REPLY_ERR_400);
	CHECK(s.h.state == CONN_LINGERING && s.t.requests == 1 && s.t.bad_requests == 1);
	/* Without keep-alive: one reply per connection; more input lingers. */
	sim_open(&s, false, 0);
	feed_str(&s, GET11 GET11);
	CHECK(s.nsent == 1 && s.sent[0] == rs_reply_of(0, RS_RESP_CLOSE_10) && s.h.state == CONN_LINGERING);
}

static void test_max_requests(void)
{
	struct sim s;

	sim_open(&s, true, 3);
	feed_str(&s, GET11 GET11 GET11 GET11 GET11);
	CHECK(s.nsent == 3 && s.sent[2] == rs_reply_of(0, RS_RESP_CLOSE_11) && s.h.state == CONN_LINGERING);
}

/* A reply still waiting for its body is owed even when it will be the
 * last: the send before it must not end the connection. */
static void test_last_reply_waits_for_its_body(void)
{
	struct sim s;

	sim_open(&s, true, 0);
	feed_str(&s, GET11 "POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhe");
	CHECK(s.nsent == 1 && s.h.state == CONN_READING_BODY);
	feed_str(&s, "llo");
	CHECK(s.nsent == 2 && s.sent[1] == rs_reply_of(0, RS_RESP_CLOSE_11) && s.io == CONN_IO_CLOSE);
}

static void test_drain(void)
{
	struct sim s;

	/* The header came before the drain, the body after: the reply closes. */
	sim_open(&s, true, 0);
	feed_str(&s, POST5);
	s.env.draining = true;
	feed_str(&s, "hello");
	CHECK(s.nsent == 1 && s.sent[0] == rs_reply_of(0, RS_RESP_CLOSE_11) && s.io == CONN_IO_CLOSE);
	/* A keep-alive reply sent when the drain began: closed once it is out. */
	sim_open(&s, true, 0);
	uint32_t taken;
	s.io = conn_feed(&s.h, (const uint8_t *)GET11, (uint32_t)strlen(GET11), &s.env, &s.t, &taken);
	CHECK(s.io == CONN_IO_SEND && s.h.replies[0].id == rs_reply_of(0, RS_RESP_KEEP_11) && taken == strlen(GET11));
	/* While sending it takes no input: held by the ring until the reply is out. */
	CHECK(conn_feed(&s.h, (const uint8_t *)GET11, 5, &s.env, &s.t, &taken) == CONN_IO_NONE && taken == 0);
	s.env.draining = true;
	CHECK(conn_on_sent(&s.h, &s.env, &s.t, false) == CONN_IO_CLOSE && s.h.state == CONN_CLOSING);
	CHECK(s.h.state != CONN_IDLE);
	/* ... with requests held behind it: they are read, and the next
	 * response is the last (it closes); the one after it is not answered. */
	sim_open(&s, true, 0);
	s.io = conn_feed(&s.h, (const uint8_t *)GET11, (uint32_t)strlen(GET11), &s.env, &s.t, &taken);
	s.env.draining = true;
	CHECK(conn_on_sent(&s.h, &s.env, &s.t, true) == CONN_IO_RECV && s.h.state == CONN_READING);
	s.io = conn_feed(&s.h, (const uint8_t *)HEAD11 GET11, (uint32_t)strlen(HEAD11 GET11), &s.env, &s.t, &taken);
	CHECK(s.io == CONN_IO_SEND && s.h.state == CONN_SENDING_LAST && s.h.nreplies == 1 && s.h.linger);
	CHECK(s.h.replies[0].id == rs_reply_of(0, RS_RESP_HEAD_CLOSE_11));
	/* Requests framed in the drain: the first is the last. */
	sim_open(&s, true, 0);
	s.env.draining = true;
	feed_str(&s, GET11 GET11 GET11);
	CHECK(s.nsent == 1 && s.sent[0] == rs_reply_of(0, RS_RESP_CLOSE_11) && s.h.state == CONN_LINGERING);
	/* A delayed batch queued before the drain: its last reply closes when
	 * the delay ends in the drain. */
	sim_open_routed(&s, true, 0);
	s.io = conn_feed(&s.h, (const uint8_t *)SLOW11, (uint32_t)strlen(SLOW11), &s.env, &s.t, &taken);
	CHECK(s.io == CONN_IO_DELAY && s.h.state == CONN_DELAYING && s.h.replies[0].id == rs_reply_of(2, RS_RESP_KEEP_11));
	s.env.draining = true;
	CHECK(conn_on_drain(&s.h, &s.env) == CONN_IO_NONE && s.h.state == CONN_DELAYING);
	CHECK(conn_on_delay_over(&s.h, &s.env) == CONN_IO_SEND && s.h.state == CONN_SENDING_LAST);
	CHECK(s.h.replies[0].id == rs_reply_of(2, RS_RESP_CLOSE_11));
	/* An idle connection closes when the drain begins. */
	sim_open(&s, true, 0);
	feed_str(&s, GET11);
	CHECK(conn_on_drain(&s.h, &s.env) == CONN_IO_CLOSE && s.h.state == CONN_CLOSING);
}

static void test_eof(void)
{
	struct sim s;

	sim_open(&s, true, 0); /* nothing sent yet */
	CHECK(conn_on_eof(&s.h, &s.env, &s.t) == CONN_IO_CLOSE && s.t.eof_early == 1);
	sim_open(&s, true, 0); /* idle between requests: a normal end */
	feed_str(&s, GET11);
	CHECK(s.h.state == CONN_IDLE && conn_on_eof(&s.h, &s.env, &s.t) == CONN_IO_CLOSE && s.t.eof_early == 0);
	sim_open(&s, true, 0); /* mid-header */
	feed_str(&s, GET11 "GET / HT");
	conn_on_eof(&s.h, &s.env, &s.t);
	CHECK(s.t.eof_early == 1);
	sim_open(&s, true, 0); /* mid-body */
	feed_str(&s, POST5 "he");
	conn_on_eof(&s.h, &s.env, &s.t);
	CHECK(s.t.eof_early == 1 && s.h.state == CONN_CLOSING);
}

/* The table itself (a refused transition aborts in this build). */
static void test_transition_table(void)
{
	CHECK(!conn_transition_allowed(CONN_FREE, CONN_SENDING));
	CHECK(conn_transition_allowed(CONN_READING, CONN_SENDING_LAST));
	CHECK(!conn_transition_allowed(CONN_SENDING_LAST, CONN_IDLE));
	CHECK(conn_transition_allowed(CONN_SENDING_LAST, CONN_LINGERING));
	CHECK(!conn_transition_allowed(CONN_LINGERING, CONN_SENDING));
	CHECK(!conn_transition_allowed(CONN_DELAYING, CONN_READING) && !conn_transition_allowed(CONN_DELAYING, CONN_DELAYING));
	CHECK(!conn_transition_allowed(CONN_CLOSING, CONN_READING) && !conn_transition_allowed(CONN_CLOSING, CONN_CLOSING));
	CHECK(conn_transition_allowed(CONN_CLOSING, CONN_FREE));
	/* Every state but FREE can be closed; only CLOSING and SENDING_LAST free a slot. */
	for (int from = CONN_READING; from < CONN_STATES; from++) {
		if (from != CONN_CLOSING)
			CHECK(conn_transition_allowed(from, CONN_CLOSING));
		CHECK(conn_transition_allowed(from, CONN_FREE) == (from == CONN_CLOSING || from == CONN_SENDING_LAST));
	}
	CHECK(strcmp(conn_state_name(CONN_READING_BODY), "READING_BODY") == 0);
}

/* Split at every byte into two reads: the same replies, tallies and end. */
static void check_split_invariant(const char *stream, bool keep_alive, uint32_t max_requests)
{
	struct sim whole, split;
	size_t len = strlen(stream);

	sim_open(&whole, keep_alive, max_requests);
	feed(&whole, stream, len);
	for (size_t cut = 0; cut <= len; cut++) {
		sim_open(&split, keep_alive, max_requests);
		feed(&split, stream, cut);
		feed(&split, stream + cut, len - cut);
		CHECK(split.nsent == whole.nsent && !memcmp(split.sent, whole.sent, sizeof(uint16_t) * (size_t)whole.nsent));
		CHECK(sim_same_end(split.h.state, whole.h.state) && split.t.requests == whole.t.requests);
		CHECK(split.t.bad_requests == whole.t.bad_requests && split.t.too_large == whole.t.too_large);
	}
}

/* The same stream read into provided buffers and read into an own buffer:
 * the same replies, tallies and end. */
static void check_paths_agree(const char *stream, size_t len, bool keep_alive)
{
	static struct sim provided, own;

	sim_open(&provided, keep_alive, 0);
	sim_feed(&provided, stream, len);
	sim_open(&own, keep_alive, 0);
	own.own_mode = true;
	sim_feed(&own, stream, len);
	CHECK(provided.nsent == own.nsent && !memcmp(provided.sent, own.sent, sizeof(uint16_t) * (size_t)own.nsent));
	CHECK(provided.t.requests == own.t.requests && provided.t.bad_requests == own.t.bad_requests &&
	      provided.t.too_large == own.t.too_large);
	CHECK(sim_same_end(provided.h.state, own.h.state));
	CHECK(!provided.lender.lent || provided.h.len); /* an own buffer only while input waits */
}

/* Requests and bodies that cross provided buffers (SIM_BUF bytes each). */
static void test_across_buffers(void)
{
	char big[SIM_CAP - 100], many[40 * sizeof(GET11)], over[SIM_CAP + 200];
	struct sim s;

	/* A header block of ~900 bytes spans two buffers: answered once whole. */
	snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: t\r\nX-Pad: %0*d\r\n\r\n", (int)sizeof(big) - 46, 0);
	sim_open(&s, true, 0);
	feed_str(&s, big);
	CHECK(s.nsent == 1 && s.sent[0] == rs_reply_of(0, RS_RESP_KEEP_11) && s.h.state == CONN_IDLE && !s.lender.lent);
	/* 40 pipelined requests over two buffers: all answered, in order. */
	many[0] = 0;
	for (int i = 0; i < 40; i++)
		strcat(many, GET11);
	sim_open(&s, true, 0);
	feed_str(&s, many);
	CHECK(s.nsent == 40 && s.h.state == CONN_IDLE && !s.lender.lent);
	/* A header block over the limit, whatever the buffers: 431. */
	snprintf(over, sizeof(over), "GET / HTTP/1.1\r\nHost: t\r\nX-Pad: %0*d\r\n\r\n", (int)sizeof(over) - 46, 0);
	sim_open(&s, true, 0);
	feed_str(&s, over);
	CHECK(s.nsent == 1 && s.sent[0] == RS_REPLY_ERR_431 && s.t.too_large == 1);
	/* A body of three buffers and a half, skipped, then the next request. */
	sim_open(&s, true, 0);
	feed_str(&s, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1800\r\n\r\n");
	for (int i = 0; i < 18; i++)
		feed_str(&s, "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789");
	feed_str(&s, GET11);
	CHECK(s.nsent == 2 && s.h.state == CONN_IDLE && s.t.requests == 2);
	check_paths_agree(many, strlen(many), true);
	check_paths_agree(big, strlen(big), true);
	check_paths_agree(over, strlen(over), true);
}

/* Pipelined requests to mixed routes: each its route's reply, in order; the
 * batch is held back by the longest delay in it, and the next one starts afresh. */
static void test_routes_and_delays(void)
{
	static const char batch[] = "GET /api/x HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
				    "HEAD /nope?q HTTP/1.1\r\nHost: t\r\n\r\nGET /slow/1 HTTP/1.1\r\nHost: t\r\n\r\n";
	static const char health[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
	static const char post[] = "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nab";
	struct sim s;
	uint32_t taken;

	sim_open_routed(&s, true, 0);
	s.io = conn_feed(&s.h, (const uint8_t *)batch, sizeof batch - 1, &s.env, &s.t, &taken);
	CHECK(s.io == CONN_IO_DELAY && s.h.state == CONN_DELAYING && s.h.nreplies == 4 && taken == sizeof batch - 1);
	CHECK(s.h.replies[0].id == rs_reply_of(3, RS_RESP_KEEP_11) && s.h.replies[1].id == rs_reply_of(1, RS_RESP_KEEP_11));
	CHECK(s.h.replies[2].id == rs_reply_of(0, RS_RESP_HEAD_KEEP_11) && s.h.replies[3].id == rs_reply_of(2, RS_RESP_KEEP_11));
	CHECK(s.h.delay_ms == 250);
	CHECK(s.t.noutcomes == 4 && s.t.outcomes[0].route == 3 && s.t.outcomes[1].route == 1 && s.t.outcomes[2].route == 0 && s.t.outcomes[3].route == 2);
	CHECK(s.t.delayed == 4 && conn_on_delay_over(&s.h, &s.env) == CONN_IO_SEND && s.h.state == CONN_SENDING);
	conn_on_sent(&s.h, &s.env, &s.t, false);
	CHECK(s.h.delay_ms == 0 && s.h.state == CONN_IDLE);
	s.io = conn_feed(&s.h, (const uint8_t *)health, sizeof health - 1, &s.env, &s.t, &taken);
	CHECK(s.io == CONN_IO_SEND && s.h.delay_ms == 0);
	conn_on_sent(&s.h, &s.env, &s.t, false);
	/* The default response takes the default delay; a body keeps it until the reply is queued. */
	sim_feed(&s, post, sizeof post - 1);
	CHECK(s.h.state == CONN_READING_BODY && s.h.delay_ms == 0);
	s.io = conn_feed(&s.h, (const uint8_t *)"c", 1, &s.env, &s.t, &taken);
	CHECK(s.io == CONN_IO_DELAY && s.h.delay_ms == 10 && s.h.replies[0].id == rs_reply_of(0, RS_RESP_KEEP_11));
	/* An error is answered at once, whatever the delay. */
	sim_open_routed(&s, true, 0);
	s.io = conn_feed(&s.h, (const uint8_t *)"\x16\x03\x01", 3, &s.env, &s.t, &taken);
	CHECK(s.io == CONN_IO_SEND && s.h.state == CONN_SENDING_LAST && s.h.replies[0].id == RS_REPLY_ERR_400 && s.t.delayed == 0);
	/* ... and behind delayed replies it keeps its place: all go at the delay. */
	sim_open_routed(&s, true, 0);
	s.io = conn_feed(&s.h, (const uint8_t *)SLOW11 GET11 "\x16", (uint32_t)strlen(SLOW11 GET11 "\x16"), &s.env, &s.t, &taken);
	CHECK(s.io == CONN_IO_DELAY && s.h.nreplies == 3 && s.h.delay_ms == 250 && s.h.replies[2].id == RS_REPLY_ERR_400);
	CHECK(conn_on_delay_over(&s.h, &s.env) == CONN_IO_SEND && s.h.state == CONN_SENDING_LAST);
}

/* A fault drawn for a request acts once the replies before it are out:
 * reset and close end the connection, hang answers nothing more. */
static void test_faults(void)
{
	static const enum conn_io io_of[RS_FAULTS] = { CONN_IO_RESET, CONN_IO_CLOSE, CONN_IO_RECV };

	for (uint32_t f = 0; f < RS_FAULTS; f++) {
		struct sim s;

		sim_open_routed(&s, true, 0);
		s.outcomes[3].faults = (struct rs_weights){ .n = 1, .value = { f }, .ppm = { RS_PPM } };
		s.outcomes[3].drawn = true;
		feed_str(&s, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /api/x HTTP/1.1\r\nHost: t\r\n\r\n" GET11);
		CHECK(s.nsent == 1 && s.sent[0] == rs_reply_of(1, RS_RESP_KEEP_11) && s.io == io_of[f]);
		CHECK(s.t.requests == 2 && s.t.faults[f] == 1);
		CHECK(s.t.noutcomes == 2 && s.t.outcomes[1].route == 3 && s.t.outcomes[1].outcome == FIXTURE_STATUSES + f);
		CHECK(s.h.state == (f == RS_FAULT_HANG ? CONN_HANGING : CONN_CLOSING));
		feed_str(&s, GET11); /* after a hang: read, never answered */
		CHECK(s.nsent == 1);
	}
}

/* A status drawn instead of the route's own is put together when sent; a
 * generated body's size is drawn too. */
static void test_drawn_replies(void)
{
	struct sim s;

	sim_open_routed(&s, false, 0);
	s.outcomes[1].statuses = (struct rs_weights){ .n = 1, .value = { 503 }, .ppm = { RS_PPM } };
	s.outcomes[1].size_min = 10;
	s.outcomes[1].size_max = 10;
	s.outcomes[1].drawn = true;
	uint32_t taken;
	s.io = conn_feed(&s.h, (const uint8_t *)"GET /healthz HTTP/1.0\r\n\r\n", 25, &s.env, &s.t, &taken);
	CHECK(s.io == CONN_IO_SEND && s.h.replies[0].id == rs_reply_of(1, RS_RESP_CLOSE_10));
	CHECK(s.h.replies[0].status == 503 && s.h.replies[0].size == 10 && !conn_reply_prebuilt(s.h.replies[0]));
	CHECK(s.t.outcomes[0].outcome == fixture_status_index()[503]);
}

static void test_split_anywhere(void)
{
	check_split_invariant(GET11 HEAD11 POST5 "hello" GET11, true, 0);
	check_split_invariant(POST5 "hello" GET11_CLOSE GET11, true, 0);
	check_split_invariant(GET11 CHUNKED GET11, true, 0);
	check_split_invariant(GET11 "\r\n\r\nGET / HTTP/2.0\r\n\r\n", true, 0);
	check_split_invariant(GET11 GET11 GET11, true, 2);
	check_split_invariant(GET11 GET11, false, 0);
}

void run_conn_tests(void)
{
	test_pipelined_keep_alive();
	test_body_in_pieces();
	test_iov_cap();
	test_closing_paths();
	test_max_requests();
	test_last_reply_waits_for_its_body();
	test_drain();
	test_eof();
	test_transition_table();
	test_across_buffers();
	test_routes_and_delays();
	test_split_anywhere();
	test_faults();
	test_drawn_replies();
}
