/* Unit tests for the response policy (policy.c): which reply, keep or close,
 * linger, body to skip, for every kind of request and server setting. */
#include "policy.h"
#include "check.h"

#include <string.h>

/* The default response's reply ids (route 0). */
#define R(kind) rs_reply_of(0, kind)

static const struct rs_policy close_only = { .keep_alive = false, .max_header = 8192, .max_body = 1 << 20 };
static const struct rs_policy keep = { .keep_alive = true, .max_header = 8192, .max_body = 1 << 20 };
static const struct rs_policy keep3 = { .keep_alive = true, .max_requests = 3, .max_header = 8192, .max_body = 1 << 20 };

static struct rs_request req(uint8_t minor, uint8_t connection, uint8_t head)
{
	return (struct rs_request){ .minor_version = minor, .connection = connection, .is_head = head };
}

static struct rs_decision decide(const struct rs_policy *p, struct rs_request r, uint32_t served)
{
	return rs_decide(p, 42, &r, (const uint8_t *)"/", served);
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
	CHECK(is(rs_decide(&keep, RS_FRAME_BAD, NULL, NULL, 0), RS_REPLY_ERR_400, false, true, 0, RS_TALLY_BAD));
	CHECK(is(rs_decide(&keep, RS_FRAME_VERSION, NULL, NULL, 0), RS_REPLY_ERR_505, false, true, 0, RS_TALLY_BAD));
	CHECK(is(rs_decide(&keep, RS_FRAME_HEADER_TOO_LARGE, NULL, NULL, 0), RS_REPLY_ERR_431, false, true, 0, RS_TALLY_TOO_LARGE));
	CHECK(is(rs_decide(&close_only, RS_FRAME_BODY_TOO_LARGE, NULL, NULL, 5), RS_REPLY_ERR_413, false, true, 0, RS_TALLY_TOO_LARGE));
	CHECK(rs_reply_is_error(RS_REPLY_ERR_400) && !rs_reply_is_error(R(RS_RESP_HEAD_KEEP_11)));
	CHECK(rs_decide(&keep, RS_FRAME_BAD, NULL, NULL, 0).route == RS_NO_ROUTE);
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
	{ (const uint8_t *)"/healthz", 8, false, 0 },
	{ (const uint8_t *)"/api/", 5, true, 0 },
	{ (const uint8_t *)"/api/v2/", 8, true, 250 },
	{ (const uint8_t *)"/api/v2/", 8, true, 999 }, /* a second equal prefix: never chosen */
	{ (const uint8_t *)"/api/exact", 10, false, 5 },
	{ (const uint8_t *)"", 0, true, 0 },             /* "*": everything else */
};
static const struct rs_policy routed = { .keep_alive = true, .max_header = 8192, .max_body = 1 << 20,
					 .delay_ms = 7, .nroutes = 6, .routes = table };

static uint32_t match(const char *path)
{
	return rs_match_route(&routed, (const uint8_t *)path, (uint32_t)strlen(path));
}

static void test_route_matching(void)
{
	static const struct rs_policy none = { .keep_alive = true };

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
	d = rs_decide(&routed, 42, &r, (const uint8_t *)head, 0);
	CHECK(d.route == 3 && d.delay_ms == 250 && d.reply == rs_reply_of(3, RS_RESP_KEEP_11));
	CHECK(rs_reply_route(d.reply) == 3 && rs_reply_kind(d.reply) == RS_RESP_KEEP_11);
	CHECK(rs_reply_closing(d.reply) == rs_reply_of(3, RS_RESP_CLOSE_11));
	r.is_head = 1;
	CHECK(rs_reply_closing(rs_decide(&routed, 42, &r, (const uint8_t *)head, 0).reply) == rs_reply_of(3, RS_RESP_HEAD_CLOSE_11));
	/* The default response takes the default delay. */
	d = rs_decide(&keep, 42, &r, (const uint8_t *)head, 0);
	CHECK(d.route == 0 && d.delay_ms == 0);
	CHECK(rs_replies(6) == RS_REPLY_ERRORS + 7 * RS_RESP_KINDS);
}

void run_policy_tests(void)
{
	test_route_matching();
	test_route_decisions();
	test_without_keep_alive();
	test_keep_alive_table();
	test_bodies();
	test_max_requests_and_drain();
	test_errors();
	test_closing_variant();
}
