/* libFuzzer target for the pure units: the framer (http.c), the response
 * policy (policy.c) and the connection state machine (conn.c). Besides
 * memory safety (ASan/UBSan) and the transition table (illegal transitions
 * abort in this build) it checks:
 * the framer's contract in http.h
 *   - the verdict is MORE, a known error, or 0 < r <= min(len, max_header);
 *   - a request's path lies inside its header block, and the route the
 *     policy matches for it is the one a plain search finds;
 *   - the same bytes give the same verdict and the same request;
 *   - a complete block framed alone gives the same length again;
 *   - shorter prefixes of a complete block only ever say MORE;
 * and, with the input as a client's byte stream (its first byte picking
 * keep-alive, drain, max-requests and a route table), the connection's
 *   - every request read is answered, except one still waiting for its body;
 *   - an error reply is the last one, and nothing is sent after the end;
 *   - without keep-alive, or draining, no reply keeps the connection open;
 *   - split into reads anywhere, the stream gets the same replies and end;
 *   - read into provided buffers or into an own buffer, likewise;
 * and, with the input as a script of events in time (bytes from a table of
 * request pieces or raw, time passing, the client reading, leaving or
 * resetting, the drain), the clock rule of test/timeline.h: no visit of a
 * state outlasts its bound by more than a tick, and a connection closes
 * within the sum of the bounds of its visits (faults and hangs drawn on a
 * flaky route included);
 * and the control parsers (?status= ...) on the same bytes: whatever they
 * accept is within its limits (known statuses, weights to 100%, max delay
 * and size).
 * Prefixes are copied to exact-size heap buffers so ASan sees any read past
 * the length given.
 */
#include "http.h"
#include "sim.h"
#include "timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER 8192
#define MAX_BODY (1024 * 1024)

#define REQUIRE(cond)                                                    \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
				__FILE__, __LINE__, #cond);              \
			abort();                                         \
		}                                                        \
	} while (0)

static int known_verdict(int r, size_t len)
{
	size_t limit = len < MAX_HEADER ? len : MAX_HEADER;

	switch (r) {
	case RS_FRAME_MORE:
	case RS_FRAME_BAD:
	case RS_FRAME_HEADER_TOO_LARGE:
	case RS_FRAME_BODY_TOO_LARGE:
	case RS_FRAME_VERSION:
		return 1;
	default:
		return r > 0 && (size_t)r <= limit;
	}
}

static int same_request(const struct rs_request *a, const struct rs_request *b)
{
	return a->content_length == b->content_length &&
	       a->is_head == b->is_head &&
	       a->minor_version == b->minor_version &&
	       a->connection == b->connection && a->chunked == b->chunked;
}

/* rs_frame on a private copy of exactly len bytes. */
static int frame_copy(const uint8_t *data, size_t len, struct rs_request *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	REQUIRE(copy != NULL);
	memcpy(copy, data, len);
	r = rs_frame(copy, len, MAX_HEADER, MAX_BODY, out);
	free(copy);
	return r;
}

static void check_complete(const uint8_t *data, int r,
			   const struct rs_request *req)
{
	struct rs_request again;
	size_t n = (size_t)r;
	/* A few prefixes: the edges and two spread by the input itself. */
	size_t cuts[] = { 0, 1, n / 2, n - 1, data[0] % n, data[n - 1] % n };

	REQUIRE(frame_copy(data, n, &again) == r);
	REQUIRE(same_request(req, &again));
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (cuts[i] >= n)
			continue;
		REQUIRE(frame_copy(data, cuts[i], &again) == RS_FRAME_MORE);
	}
}

/* Overlapping routes: exact and prefix on the same path, nested prefixes,
 * a prefix that is a whole path, equal prefixes (the first wins). */
static const struct rs_route_match match_table[] = {
	{ (const uint8_t *)"/", 1, true },
	{ (const uint8_t *)"/a", 2, false },
	{ (const uint8_t *)"/a", 2, true },
	{ (const uint8_t *)"/a/b/", 5, true },
	{ (const uint8_t *)"/a/b/", 5, true },
	{ (const uint8_t *)"/a/b/c", 6, false },
	{ (const uint8_t *)"*", 1, false },
};
#define MATCH_ROUTES (sizeof(match_table) / sizeof(match_table[0]))

/* The route a plain search finds: the first exact one, else the first of the
 * longest prefixes, else the default (0). */
static uint32_t plain_match(const uint8_t *path, uint32_t len)
{
	uint32_t best = 0, best_len = 0;

	for (uint32_t i = 0; i < MATCH_ROUTES; i++)
		if (!match_table[i].prefix && match_table[i].len == len && !memcmp(match_table[i].path, path, len))
			return i + 1;
	for (uint32_t i = 0; i < MATCH_ROUTES; i++) {
		const struct rs_route_match *m = &match_table[i];
		if (m->prefix && m->len <= len && !memcmp(m->path, path, m->len) && (!best || m->len > best_len)) {
			best = i + 1;
			best_len = m->len;
		}
	}
	return best;
}

static void check_route(const uint8_t *data, int r, const struct rs_request *req)
{
	struct rs_policy pol = { .nroutes = MATCH_ROUTES, .routes = match_table };
	const uint8_t *path = req->path_len ? data + req->path_off : (const uint8_t *)"/";
	uint32_t len = req->path_len ? req->path_len : 1;

	REQUIRE(req->path_off + (uint64_t)req->path_len <= (uint64_t)r);
	REQUIRE(!memchr(path, '?', len) && !memchr(path, ' ', len));
	REQUIRE(rs_match_route(&pol, path, len) == plain_match(path, len));
}

static void check_frame(const uint8_t *data, size_t size)
{
	struct rs_request req, req2;
	int r = rs_frame(data, size, MAX_HEADER, MAX_BODY, &req);

	REQUIRE(known_verdict(r, size));
	REQUIRE(rs_frame(data, size, MAX_HEADER, MAX_BODY, &req2) == r);
	if (r > 0) {
		check_route(data, r, &req);
		REQUIRE(same_request(&req, &req2));
		check_complete(data, r, &req);
	}
}

static bool keeps_open(uint16_t reply)
{
	uint32_t k = rs_reply_kind(reply);

	return !rs_reply_is_error(reply) && (k == RS_RESP_KEEP_10 || k == RS_RESP_KEEP_11 ||
					     k == RS_RESP_HEAD_KEEP_10 || k == RS_RESP_HEAD_KEEP_11);
}

static void check_replies(const struct sim *s)
{
	const struct conn_tally *t = &s->t;
	int owed = (int)(t->requests + t->bad_requests + t->too_large) - (s->h.owed ? 1 : 0);

	if (s->nsent < SIM_MAX_SENT)
		REQUIRE(s->nsent == owed);
	for (int i = 0; i < s->nsent; i++) {
		REQUIRE(s->sent[i] < rs_replies(s->pol.nroutes));
		if (rs_reply_is_error(s->sent[i]))
			REQUIRE(i == s->nsent - 1);
		if (!s->pol.keep_alive || s->env.draining)
			REQUIRE(!keeps_open(s->sent[i]));
	}
}

static void same_outcome(const struct sim *a, const struct sim *b)
{
	REQUIRE(a->nsent == b->nsent);
	REQUIRE(!memcmp(a->sent, b->sent, sizeof(uint16_t) * (size_t)a->nsent));
	REQUIRE(a->t.requests == b->t.requests && a->t.bad_requests == b->t.bad_requests);
	REQUIRE(a->t.too_large == b->t.too_large);
	REQUIRE(sim_same_end(a->h.state, b->h.state));
}

static void open_sim(struct sim *s, bool routed, bool keep_alive, uint32_t max_requests)
{
	if (routed)
		sim_open_routed(s, keep_alive, max_requests);
	else
		sim_open(s, keep_alive, max_requests);
}

/* The client's stream through the connection state machine: whole, split,
 * and read the other way. */
static void check_conn(const uint8_t *data, size_t size)
{
	static struct sim whole, split, own;
	bool keep_alive = data[0] & 1, draining = data[0] & 2, routed = data[0] & 16;
	uint32_t max_requests = (data[0] >> 2) & 3;
	size_t cut = size > 2 ? data[1] % size : 0;

	data++, size--;
	cut = cut > size ? size : cut;
	open_sim(&whole, routed, keep_alive, max_requests);
	whole.env.draining = draining;
	sim_feed(&whole, data, size);
	check_replies(&whole);
	open_sim(&split, routed, keep_alive, max_requests);
	split.env.draining = draining;
	sim_feed(&split, data, cut);
	sim_feed(&split, data + cut, size - cut);
	same_outcome(&split, &whole);
	open_sim(&own, routed, keep_alive, max_requests);
	own.env.draining = draining;
	own.own_mode = true;
	sim_feed(&own, data, size);
	same_outcome(&own, &whole);
}

/* Pieces a script feeds, so that it reaches every state in few bytes. */
static const char *const pieces[] = {
	"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
	"GET /slow/a HTTP/1.1\r\nHost: t\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n",
	"hello",
	"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET / HT",
	"X-Pad: aaaaaaaa\r\n",
	"\r\n",
	"\x16\x03\x01\x02\x00",
	"HEAD /slow/b HTTP/1.1\r\nHost: t\r\n\r\n",
	"GET /flaky/c HTTP/1.1\r\nHost: t\r\n\r\n",
	"GET /flaky/d HTTP/1.0\r\n\r\n",
};
#define PIECES (sizeof(pieces) / sizeof(pieces[0]))

/* data as a script of events; the timeline checks the clock rule at every step. */
static void check_timeline(const uint8_t *data, size_t size)
{
	static struct timeline tl;
	size_t i = 1;

	tl_open(&tl, data[0] & 1, data[0] & 2);
	while (i + 1 < size && !tl_over(&tl)) {
		uint8_t op = data[i] % 8, arg = data[i + 1];

		i += 2;
		if (op == 0) {
			const char *p = pieces[arg % PIECES];
			tl_feed(&tl, p, (uint32_t)strlen(p));
		} else if (op == 1) {
			uint32_t n = arg % 64 + 1 < size - i ? arg % 64 + 1 : (uint32_t)(size - i);
			tl_feed(&tl, data + i, n);
			i += n;
		} else if (op == 2 || op == 3) {
			tl_advance(&tl, (uint64_t)arg * (op == 2 ? 5 : 50));
		} else if (op == 4) {
			tl_read(&tl);
		} else if (op == 5 && arg % 4 == 0) {
			tl_eof(&tl);
		} else if (op == 6 && arg % 4 == 0) {
			tl_reset(&tl);
		} else if (op == 7 && arg % 4 == 0) {
			tl_drain(&tl, (uint64_t)arg * 20);
		}
	}
	/* Left alone, every connection ends: stalled, it is cut by a clock. */
	tl_advance(&tl, 60000);
	REQUIRE(tl_over(&tl));
}

static uint64_t weights_sum(const struct rs_weights *w)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < w->n; i++)
		sum += w->ppm[i];
	return sum;
}

/* The control parsers on any bytes: what they accept is within its limits. */
static void check_controls(const uint8_t *data, size_t size)
{
	struct rs_policy pol = fixture_policy(true, 0);
	uint32_t n = size > 64 ? 64 : (uint32_t)size, lo, hi;
	struct rs_weights w;

	if (rs_parse_weights_status(&pol, data, n, &w)) {
		REQUIRE(w.n >= 1 && w.n <= RS_MAX_WEIGHTS && weights_sum(&w) <= RS_PPM);
		for (uint32_t i = 0; i < w.n; i++)
			REQUIRE(w.value[i] < 600 && fixture_status_index()[w.value[i]] != RS_NO_STATUS);
	}
	if (rs_parse_weights_delay(data, n, 5000, &w)) {
		REQUIRE(w.n >= 1 && weights_sum(&w) <= RS_PPM);
		for (uint32_t i = 0; i < w.n; i++)
			REQUIRE(w.value[i] <= 5000);
	}
	if (rs_parse_size(data, n, 4096, &lo, &hi))
		REQUIRE(lo <= hi && hi <= 4096);
	if (rs_parse_weights_fault(data, n, &w)) {
		REQUIRE(w.n >= 1 && weights_sum(&w) <= RS_PPM);
		for (uint32_t i = 0; i < w.n; i++)
			REQUIRE(w.value[i] < RS_FAULTS);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_frame(data, size);
	check_controls(data, size);
	if (size) {
		check_conn(data, size);
		check_timeline(data, size);
	}
	return 0;
}
