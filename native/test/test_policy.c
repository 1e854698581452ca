/* Unit tests for the response policy (policy.c): which reply, keep or close,
 * linger, body to skip, for every kind of request and server setting. */
#include "policy.h"
#include "check.h"
#include "fixture.h"

#include <string.h>

/* The default response's reply ids (route 0). */
#define R(kind) rs_reply_of(0, kind)

static struct rs_policy close_only, keep, keep3, routed;
static uint64_t rng = 1;

static struct rs_request req(uint8_t minor, uint8_t connection, uint8_t head)
{
	return (struct rs_request){ .minor_version = minor, .connection = connection, .is_head = head };
}

static struct rs_decision decide(const struct rs_policy *p, struct rs_request r, uint32_t served)
{
	return rs_decide(p, 42, &r, (const uint8_t *)"/", served, &rng);
}

/* reply, keep, linger, skip and tally at once. */
static int is(struct rs_decision d, uint16_t reply, bool k, bool linger, uint64_t skip, enum rs_tally t)
{
	return d.reply == reply && d.keep == k && d.linger == linger && d.skip == skip && d.tally == t;
}

static void test_without_keep_alive(void)
{
	/* Every request gets the HTTP/1.0 response and a close, whatever it asks. */
	CHECK(is(decide(&close_only, req(1, RS_CONN_DEFAULT, 0), 0), R(RS_RESP_CLOSE_10), false, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&close_only, req(0, RS_CONN_KEEP_ALIVE, 0), 0), R(RS_RESP_CLOSE_10), false, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&close_only, req(1, RS_CONN_DEFAULT, 1), 0), R(RS_RESP_HEAD_CLOSE_10), false, false, 0, RS_TALLY_REQUEST));
}

static void test_keep_alive_table(void)
{
	/* The README's table: HTTP/1.1 persists unless close; 1.0 only with keep-alive. */
	CHECK(is(decide(&keep, req(1, RS_CONN_DEFAULT, 0), 0), R(RS_RESP_KEEP_11), true, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&keep, req(1, RS_CONN_CLOSE, 0), 0), R(RS_RESP_CLOSE_11), false, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&keep, req(1, RS_CONN_KEEP_ALIVE, 0), 0), R(RS_RESP_KEEP_11), true, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&keep, req(0, RS_CONN_DEFAULT, 0), 0), R(RS_RESP_CLOSE_10), false, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&keep, req(0, RS_CONN_KEEP_ALIVE, 0), 0), R(RS_RESP_KEEP_10), true, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&keep, req(0, RS_CONN_CLOSE, 0), 0), R(RS_RESP_CLOSE_10), false, false, 0, RS_TALLY_REQUEST));
	/* HEAD: the same header block without the body. */
	CHECK(decide(&keep, req(1, RS_CONN_DEFAULT, 1), 0).reply == R(RS_RESP_HEAD_KEEP_11));
	CHECK(decide(&keep, req(1, RS_CONN_CLOSE, 1), 0).reply == R(RS_RESP_HEAD_CLOSE_11));
	CHECK(decide(&keep, req(0, RS_CONN_KEEP_ALIVE, 1), 0).reply == R(RS_RESP_HEAD_KEEP_10));
	CHECK(decide(&keep, req(0, RS_CONN_DEFAULT, 1), 0).reply == R(RS_RESP_HEAD_CLOSE_10));
}

static void test_bodies(void)
{
	struct rs_request r = req(1, RS_CONN_DEFAULT, 0);

	r.content_length = 12345;
	CHECK(is(decide(&keep, r, 0), R(RS_RESP_KEEP_11), true, false, 12345, RS_TALLY_REQUEST));
	/* Chunked is answered, then read away: close, linger, nothing to skip. */
	r.content_length = 0;
	r.chunked = 1;
	CHECK(is(decide(&keep, r, 0), R(RS_RESP_CLOSE_11), false, true, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&close_only, r, 0), R(RS_RESP_CLOSE_10), false, true, 0, RS_TALLY_REQUEST));
}

static void test_max_requests_and_drain(void)
{
	struct rs_request r = req(1, RS_CONN_DEFAULT, 0);

	CHECK(decide(&keep3, r, 0).keep);
	CHECK(decide(&keep3, r, 1).keep);
	CHECK(is(decide(&keep3, r, 2), R(RS_RESP_CLOSE_11), false, false, 0, RS_TALLY_REQUEST));
	CHECK(decide(&keep, r, 1000000).keep); /* 0: unlimited */
	/* The drain sends a connection's last reply as its closing variant. */
	CHECK(rs_reply_closing(decide(&keep, r, 0).reply) == R(RS_RESP_CLOSE_11));
	CHECK(rs_reply_closing(decide(&keep, req(0, RS_CONN_KEEP_ALIVE, 1), 0).reply) == R(RS_RESP_HEAD_CLOSE_10));
}

static void test_errors(void)
{
	CHECK(is(rs_decide(&keep, RS_FRAME_BAD, NULL, NULL, 0, &rng), RS_REPLY_ERR_400, false, true, 0, RS_TALLY_BAD));
	CHECK(is(rs_decide(&keep, RS_FRAME_VERSION, NULL, NULL, 0, &rng), RS_REPLY_ERR_505, false, true, 0, RS_TALLY_BAD));
	CHECK(is(rs_decide(&keep, RS_FRAME_HEADER_TOO_LARGE, NULL, NULL, 0, &rng), RS_REPLY_ERR_431, false, true, 0, RS_TALLY_TOO_LARGE));
	CHECK(is(rs_decide(&close_only, RS_FRAME_BODY_TOO_LARGE, NULL, NULL, 5, &rng), RS_REPLY_ERR_413, false, true, 0, RS_TALLY_TOO_LARGE));
	CHECK(rs_reply_is_error(RS_REPLY_ERR_400) && !rs_reply_is_error(R(RS_RESP_HEAD_KEEP_11)));
	CHECK(rs_decide(&keep, RS_FRAME_BAD, NULL, NULL, 0, &rng).route == RS_NO_ROUTE);
}

static void test_closing_variant(void)
{
	CHECK(rs_reply_closing(R(RS_RESP_KEEP_11)) == R(RS_RESP_CLOSE_11));
	CHECK(rs_reply_closing(R(RS_RESP_KEEP_10)) == R(RS_RESP_CLOSE_10));
	CHECK(rs_reply_closing(R(RS_RESP_HEAD_KEEP_11)) == R(RS_RESP_HEAD_CLOSE_11));
	CHECK(rs_reply_closing(R(RS_RESP_HEAD_KEEP_10)) == R(RS_RESP_HEAD_CLOSE_10));
	/* Already closing replies, and errors, stay as they are. */
	for (uint16_t r = 0; r < rs_replies(0); r++)
		CHECK(rs_reply_closing(rs_reply_closing(r)) == rs_reply_closing(r));
	CHECK(rs_reply_closing(R(RS_RESP_CLOSE_11)) == R(RS_RESP_CLOSE_11));
	CHECK(rs_reply_closing(RS_REPLY_ERR_431) == RS_REPLY_ERR_431);
}

static const struct rs_route_match table[] = {
	{ (const uint8_t *)"/healthz", 8, false },
	{ (const uint8_t *)"/api/", 5, true },
	{ (const uint8_t *)"/api/v2/", 8, true },
	{ (const uint8_t *)"/api/v2/", 8, true }, /* a second equal prefix: never chosen */
	{ (const uint8_t *)"/api/exact", 10, false },
	{ (const uint8_t *)"", 0, true },         /* "*": everything else */
};
/* The default response and each route's: their delays. */
static struct rs_outcome routed_outcomes[7];

static void init_policies(void)
{
	static const uint32_t delays[7] = { 7, 0, 0, 250, 999, 5, 0 };

	close_only = fixture_policy(false, 0);
	keep = fixture_policy(true, 0);
	keep3 = fixture_policy(true, 3);
	for (int i = 0; i < 7; i++)
		routed_outcomes[i] = fixture_outcome(200, delays[i]);
	routed = fixture_policy(true, 0);
	routed.nroutes = 6;
	routed.routes = table;
	routed.outcomes = routed_outcomes;
}

static uint32_t match(const char *path)
{
	return rs_match_route(&routed, (const uint8_t *)path, (uint32_t)strlen(path));
}

static void test_route_matching(void)
{
	struct rs_policy none = fixture_policy(true, 0);

	CHECK(match("/healthz") == 1);
	CHECK(match("/healthz/") == 6 && match("/healthzz") == 6); /* exact means exact */
	CHECK(match("/api/") == 2 && match("/api/x") == 2);
	CHECK(match("/api/v2/users") == 3);                         /* the longest prefix */
	CHECK(match("/api/exact") == 5);                            /* exact beats any prefix */
	CHECK(match("/api") == 6 && match("") == 6);
	CHECK(match("/API/x") == 6);                                /* bytes as sent */
	CHECK(match("/api/%76%32/x") == 2);                         /* no decoding */
	CHECK(match("/api/../healthz") == 2);                       /* no dot segments resolved */
	CHECK(rs_match_route(&none, (const uint8_t *)"/x", 2) == 0);
}

static void test_route_decisions(void)
{
	struct rs_request r = req(1, RS_CONN_DEFAULT, 0);
	const char *head = "GET /api/v2/x?y=1 HTTP/1.1\r\n";
	struct rs_decision d;

	r.path_off = 4;
	r.path_len = 9; /* "/api/v2/x", the query left out by the framer */
	d = rs_decide(&routed, 42, &r, (const uint8_t *)head, 0, &rng);
	CHECK(d.route == 3 && d.delay_ms == 250 && d.reply == rs_reply_of(3, RS_RESP_KEEP_11));
	CHECK(rs_reply_route(d.reply) == 3 && rs_reply_kind(d.reply) == RS_RESP_KEEP_11);
	CHECK(rs_reply_closing(d.reply) == rs_reply_of(3, RS_RESP_CLOSE_11));
	r.is_head = 1;
	CHECK(rs_reply_closing(rs_decide(&routed, 42, &r, (const uint8_t *)head, 0, &rng).reply) == rs_reply_of(3, RS_RESP_HEAD_CLOSE_11));
	/* The default response takes the default delay. */
	d = rs_decide(&keep, 42, &r, (const uint8_t *)head, 0, &rng);
	CHECK(d.route == 0 && d.delay_ms == 0);
	CHECK(rs_replies(6) == RS_REPLY_ERRORS + 7 * RS_RESP_KINDS);
}

static const uint8_t *bytes(const char *s) { return (const uint8_t *)s; }
static uint32_t len(const char *s) { return (uint32_t)strlen(s); }

static void test_control_parsing(void)
{
	struct rs_weights w;
	uint32_t lo, hi;

	CHECK(rs_parse_weights_status(&keep, bytes("503"), 3, &w) && w.n == 1 && w.value[0] == 503 && w.ppm[0] == RS_PPM);
	CHECK(rs_parse_weights_status(&keep, bytes("503:10,429:5"), 12, &w) && w.n == 2 && w.ppm[0] == 100000 && w.ppm[1] == 50000);
	CHECK(rs_parse_weights_status(&keep, bytes("503:0.5"), 7, &w) && w.ppm[0] == 5000);
	CHECK(rs_parse_weights_status(&keep, bytes("503:33.3333"), 11, &w) && w.ppm[0] == 333333);
	static const char *const bad_status[] = { "", "5O3", "999", "600", "299", "503:", "503:101", "503:60,429:50",
						  "503,429", "503:10,", ",503", "503;10", "503:1.", "503:-1", "5030",
						  "503:10,429:5,200:1,201:1,204:1,205:1,304:1,404:1,500:1" };
	for (size_t i = 0; i < sizeof(bad_status) / sizeof(bad_status[0]); i++)
		CHECK(!rs_parse_weights_status(&keep, bytes(bad_status[i]), len(bad_status[i]), &w));
	CHECK(rs_parse_weights_delay(bytes("10ms:50,2s:5,1m:1"), 17, 60000, &w) && w.n == 3 && w.value[1] == 2000 && w.value[2] == 60000);
	CHECK(rs_parse_weights_delay(bytes("250"), 3, 1000, &w) && w.value[0] == 250);
	CHECK(!rs_parse_weights_delay(bytes("2s"), 2, 1000, &w));          /* over the server's limit */
	CHECK(!rs_parse_weights_delay(bytes("1h"), 2, 3600000, &w));       /* not a unit here */
	CHECK(!rs_parse_weights_delay(bytes("99999999999"), 11, UINT32_MAX, &w));
	CHECK(rs_parse_size(bytes("1024"), 4, 4096, &lo, &hi) && lo == 1024 && hi == 1024);
	CHECK(rs_parse_size(bytes("0-4096"), 6, 4096, &lo, &hi) && lo == 0 && hi == 4096);
	static const char *const bad_size[] = { "", "4097", "10-5", "1-", "-1", "1k", "1 ", "0x10", "1-2-3" };
	for (size_t i = 0; i < sizeof(bad_size) / sizeof(bad_size[0]); i++)
		CHECK(!rs_parse_size(bytes(bad_size[i]), len(bad_size[i]), 4096, &lo, &hi));
	CHECK(rs_parse_weights_fault(bytes("reset:1,close:2,hang"), 20, &w) == false); /* 1 + 2 + 100 > 100% */
	CHECK(rs_parse_weights_fault(bytes("reset:1,close:2,hang:3"), 22, &w) && w.n == 3 && w.value[2] == RS_FAULT_HANG);
	CHECK(!rs_parse_weights_fault(bytes("crash"), 5, &w) && !rs_parse_weights_fault(bytes("RESET"), 5, &w));
}

/* A route of 503 at 10% and 429 at 5%, delays 10 ms at 50%, resets at 1%:
 * a seed gives the same counts every time, and they fall within 5 standard
 * deviations of the weights. */
static void test_weighted_draws(void)
{
	enum { N = 100000 };
	struct rs_outcome o = fixture_outcome(200, 0);
	struct rs_policy p = fixture_policy(true, 0);
	struct rs_request r = req(1, RS_CONN_DEFAULT, 0);
	uint32_t counts[2][600] = { 0 }, delayed[2] = { 0 }, resets[2] = { 0 }, miscounted = 0;

	o.statuses = (struct rs_weights){ .n = 2, .value = { 503, 429 }, .ppm = { 100000, 50000 } };
	o.delays = (struct rs_weights){ .n = 1, .value = { 10 }, .ppm = { 500000 } };
	o.faults = (struct rs_weights){ .n = 1, .value = { RS_FAULT_RESET }, .ppm = { 10000 } };
	o.drawn = true;
	p.outcomes = &o;
	for (int run = 0; run < 2; run++) {
		uint64_t seeded = rs_rand_seed(42, 0);
		for (int i = 0; i < N; i++) {
			struct rs_decision d = rs_decide(&p, 42, &r, bytes("/"), 0, &seeded);
			if (d.fault == RS_FAULT_RESET) {
				resets[run]++;
				miscounted += d.outcome != FIXTURE_STATUSES + RS_FAULT_RESET;
				continue;
			}
			counts[run][d.status ? d.status : 200]++;
			delayed[run] += d.delay_ms == 10;
			miscounted += d.outcome != fixture_status_index()[d.status ? d.status : 200];
		}
	}
	CHECK(!memcmp(counts[0], counts[1], sizeof(counts[0])) && delayed[0] == delayed[1] && resets[0] == resets[1]);
	CHECK(miscounted == 0);
	/* N p +- 5 sqrt(N p (1 - p)), of the requests that were not reset (N' ~ 99000) */
	CHECK(counts[0][503] > 9900 - 475 && counts[0][503] < 9900 + 475);
	CHECK(counts[0][429] > 4950 - 345 && counts[0][429] < 4950 + 345);
	CHECK(delayed[0] > 49500 - 790 && delayed[0] < 49500 + 790);
	CHECK(resets[0] > 1000 - 160 && resets[0] < 1000 + 160);
	CHECK(counts[0][200] + counts[0][503] + counts[0][429] + resets[0] == N);
	/* Another seed, other draws. */
	uint64_t other = rs_rand_seed(43, 0), first = rs_rand_seed(42, 0);
	CHECK(rs_rand(&other) != rs_rand(&first) && rs_rand_seed(42, 1) != rs_rand_seed(42, 0));
}

/* Per-request control: off by default; when on, the query's value over the
 * header's; an unreadable value is a 400 that names it; limits hold. */
static void test_control_decisions(void)
{
	static const char head[] = "GET /x?a=1&status=503&delay=250ms&size=100-200&fault=hang:0 HTTP/1.1\r\n";
	struct rs_policy p = fixture_policy(true, 0);
	struct rs_request r = req(1, RS_CONN_DEFAULT, 0);
	struct rs_decision d;
	uint64_t seeded = 7;

	r.path_off = 4;
	r.path_len = 2;
	r.query_off = 7;
	r.query_len = (uint32_t)(strstr(head, " HTTP") - head) - 7;
	p.max_delay_ms = 1000;
	p.max_size = 4096;
	d = rs_decide(&p, 42, &r, bytes(head), 0, &seeded); /* control off: nothing steers */
	CHECK(d.status == 0 && d.delay_ms == 0 && d.size == RS_SIZE_STATIC && d.fault == RS_NO_FAULT);
	p.control = RS_CONTROL_HEADER;                     /* headers only: the query is ignored */
	d = rs_decide(&p, 42, &r, bytes(head), 0, &seeded);
	CHECK(d.status == 0 && d.delay_ms == 0);
	p.control = RS_CONTROL_BOTH;
	d = rs_decide(&p, 42, &r, bytes(head), 0, &seeded);
	CHECK(d.status == 503 && d.delay_ms == 250 && d.size >= 100 && d.size <= 200 && d.fault == RS_NO_FAULT);
	CHECK(d.outcome == fixture_status_index()[503] && d.tally == RS_TALLY_REQUEST);
	p.max_delay_ms = 100;                              /* a delay over the limit: 400 naming it */
	d = rs_decide(&p, 42, &r, bytes(head), 0, &seeded);
	CHECK(d.reply == RS_REPLY_ERR_CONTROL_DELAY && d.tally == RS_TALLY_CONTROL && !d.keep && d.route == RS_NO_ROUTE);
	p.max_delay_ms = 1000;
	p.max_size = 150;
	CHECK(rs_decide(&p, 42, &r, bytes(head), 0, &seeded).reply == RS_REPLY_ERR_CONTROL_SIZE);
	/* The header alone, and a header the query overrides. */
	static const char head2[] = "GET /x?status=204 HTTP/1.1\r\nX-Ringside-Status: 429\r\nX-Ringside-Fault: reset\r\n";
	struct rs_request r2 = req(1, RS_CONN_DEFAULT, 0);
	r2.path_off = 4;
	r2.path_len = 2;
	r2.query_off = 7;
	r2.query_len = 10;
	r2.ctl_off[RS_CTL_STATUS] = (uint32_t)(strstr(head2, "429") - head2);
	r2.ctl_len[RS_CTL_STATUS] = 3;
	r2.ctl_off[RS_CTL_FAULT] = (uint32_t)(strstr(head2, "reset") - head2);
	r2.ctl_len[RS_CTL_FAULT] = 5;
	d = rs_decide(&p, 42, &r2, bytes(head2), 0, &seeded);
	CHECK(d.status == 204 && d.fault == RS_FAULT_RESET && d.outcome == FIXTURE_STATUSES + RS_FAULT_RESET);
	p.control = RS_CONTROL_HEADER;
	d = rs_decide(&p, 42, &r2, bytes(head2), 0, &seeded);
	CHECK(d.status == 429 && d.fault == RS_FAULT_RESET);
	r2.ctl_len[RS_CTL_STATUS] = 2; /* "42": not in the statuses table */
	CHECK(rs_decide(&p, 42, &r2, bytes(head2), 0, &seeded).reply == RS_REPLY_ERR_CONTROL_STATUS);
}

void run_policy_tests(void)
{
	init_policies();
	test_control_parsing();
	test_weighted_draws();
	test_control_decisions();
	test_route_matching();
	test_route_decisions();
	test_without_keep_alive();
	test_keep_alive_table();
	test_bodies();
	test_max_requests_and_drain();
	test_errors();
	test_closing_variant();
}
