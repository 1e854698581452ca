/* Unit tests for the response policy (policy.c): which reply, keep or close,
 * linger, body to skip, for every kind of request and server setting. */
#include "policy.h"
#include "check.h"

static const struct rs_policy close_only = { .keep_alive = false, .max_header = 8192, .max_body = 1 << 20 };
static const struct rs_policy keep = { .keep_alive = true, .max_header = 8192, .max_body = 1 << 20 };
static const struct rs_policy keep3 = { .keep_alive = true, .max_requests = 3, .max_header = 8192, .max_body = 1 << 20 };

static struct rs_request req(uint8_t minor, uint8_t connection, uint8_t head)
{
	return (struct rs_request){ .minor_version = minor, .connection = connection, .is_head = head };
}

static struct rs_decision decide(const struct rs_policy *p, struct rs_request r, uint32_t served, bool draining)
{
	return rs_decide(p, 42, &r, served, draining);
}

/* reply, keep, linger, skip and tally at once. */
static int is(struct rs_decision d, uint16_t reply, bool k, bool linger, uint64_t skip, enum rs_tally t)
{
	return d.reply == reply && d.keep == k && d.linger == linger && d.skip == skip && d.tally == t;
}

static void test_without_keep_alive(void)
{
	/* Every request gets the HTTP/1.0 response and a close, whatever it asks. */
	CHECK(is(decide(&close_only, req(1, RS_CONN_DEFAULT, 0), 0, false), RS_RESP_CLOSE_10, false, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&close_only, req(0, RS_CONN_KEEP_ALIVE, 0), 0, false), RS_RESP_CLOSE_10, false, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&close_only, req(1, RS_CONN_DEFAULT, 1), 0, false), RS_RESP_HEAD_CLOSE_10, false, false, 0, RS_TALLY_REQUEST));
}

static void test_keep_alive_table(void)
{
	/* The README's table: HTTP/1.1 persists unless close; 1.0 only with keep-alive. */
	CHECK(is(decide(&keep, req(1, RS_CONN_DEFAULT, 0), 0, false), RS_RESP_KEEP_11, true, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&keep, req(1, RS_CONN_CLOSE, 0), 0, false), RS_RESP_CLOSE_11, false, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&keep, req(1, RS_CONN_KEEP_ALIVE, 0), 0, false), RS_RESP_KEEP_11, true, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&keep, req(0, RS_CONN_DEFAULT, 0), 0, false), RS_RESP_CLOSE_10, false, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&keep, req(0, RS_CONN_KEEP_ALIVE, 0), 0, false), RS_RESP_KEEP_10, true, false, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&keep, req(0, RS_CONN_CLOSE, 0), 0, false), RS_RESP_CLOSE_10, false, false, 0, RS_TALLY_REQUEST));
	/* HEAD: the same header block without the body. */
	CHECK(decide(&keep, req(1, RS_CONN_DEFAULT, 1), 0, false).reply == RS_RESP_HEAD_KEEP_11);
	CHECK(decide(&keep, req(1, RS_CONN_CLOSE, 1), 0, false).reply == RS_RESP_HEAD_CLOSE_11);
	CHECK(decide(&keep, req(0, RS_CONN_KEEP_ALIVE, 1), 0, false).reply == RS_RESP_HEAD_KEEP_10);
	CHECK(decide(&keep, req(0, RS_CONN_DEFAULT, 1), 0, false).reply == RS_RESP_HEAD_CLOSE_10);
}

static void test_bodies(void)
{
	struct rs_request r = req(1, RS_CONN_DEFAULT, 0);

	r.content_length = 12345;
	CHECK(is(decide(&keep, r, 0, false), RS_RESP_KEEP_11, true, false, 12345, RS_TALLY_REQUEST));
	/* Chunked is answered, then read away: close, linger, nothing to skip. */
	r.content_length = 0;
	r.chunked = 1;
	CHECK(is(decide(&keep, r, 0, false), RS_RESP_CLOSE_11, false, true, 0, RS_TALLY_REQUEST));
	CHECK(is(decide(&close_only, r, 0, false), RS_RESP_CLOSE_10, false, true, 0, RS_TALLY_REQUEST));
}

static void test_max_requests_and_drain(void)
{
	struct rs_request r = req(1, RS_CONN_DEFAULT, 0);

	CHECK(decide(&keep3, r, 0, false).keep);
	CHECK(decide(&keep3, r, 1, false).keep);
	CHECK(is(decide(&keep3, r, 2, false), RS_RESP_CLOSE_11, false, false, 0, RS_TALLY_REQUEST));
	CHECK(decide(&keep, r, 1000000, false).keep); /* 0: unlimited */
	/* During the drain every reply closes. */
	CHECK(is(decide(&keep, r, 0, true), RS_RESP_CLOSE_11, false, false, 0, RS_TALLY_REQUEST));
	CHECK(decide(&keep, req(0, RS_CONN_KEEP_ALIVE, 1), 0, true).reply == RS_RESP_HEAD_CLOSE_10);
}

static void test_errors(void)
{
	CHECK(is(rs_decide(&keep, RS_FRAME_BAD, NULL, 0, false), RS_REPLY_ERR_400, false, true, 0, RS_TALLY_BAD));
	CHECK(is(rs_decide(&keep, RS_FRAME_VERSION, NULL, 0, false), RS_REPLY_ERR_505, false, true, 0, RS_TALLY_BAD));
	CHECK(is(rs_decide(&keep, RS_FRAME_HEADER_TOO_LARGE, NULL, 0, false), RS_REPLY_ERR_431, false, true, 0, RS_TALLY_TOO_LARGE));
	CHECK(is(rs_decide(&close_only, RS_FRAME_BODY_TOO_LARGE, NULL, 5, true), RS_REPLY_ERR_413, false, true, 0, RS_TALLY_TOO_LARGE));
	CHECK(rs_reply_is_error(RS_REPLY_ERR_400) && !rs_reply_is_error(RS_RESP_HEAD_KEEP_11));
}

static void test_closing_variant(void)
{
	CHECK(rs_reply_closing(RS_RESP_KEEP_11) == RS_RESP_CLOSE_11);
	CHECK(rs_reply_closing(RS_RESP_KEEP_10) == RS_RESP_CLOSE_10);
	CHECK(rs_reply_closing(RS_RESP_HEAD_KEEP_11) == RS_RESP_HEAD_CLOSE_11);
	CHECK(rs_reply_closing(RS_RESP_HEAD_KEEP_10) == RS_RESP_HEAD_CLOSE_10);
	/* Already closing replies, and errors, stay as they are. */
	for (uint16_t r = 0; r < RS_REPLIES; r++)
		CHECK(rs_reply_closing(rs_reply_closing(r)) == rs_reply_closing(r));
	CHECK(rs_reply_closing(RS_RESP_CLOSE_11) == RS_RESP_CLOSE_11);
	CHECK(rs_reply_closing(RS_REPLY_ERR_431) == RS_REPLY_ERR_431);
}

void run_policy_tests(void)
{
	test_without_keep_alive();
	test_keep_alive_table();
	test_bodies();
	test_max_requests_and_drain();
	test_errors();
	test_closing_variant();
}
