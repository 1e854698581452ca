/* The HTTP response policy: pure, no I/O, no globals, no allocation.
 *
 * Given what the framer made of a request (or the error it found), what the
 * server is configured for and where the connection stands, rs_decide() says
 * which route's reply answers it and what was drawn for it (a status other
 * than its own, a generated body's size, a delay, a fault), whether the
 * connection stays open, whether unread input may follow (so the close must
 * linger) and how many body bytes to discard. Draws come from a generator the
 * caller owns (one per ring), so a seed replays them. io.c never decides any
 * of this itself.
 */
#ifndef RINGSIDE_POLICY_H
#define RINGSIDE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "ringside.h"

/* Every prebuilt reply has an id: the error responses first (they always
 * close), then for the default response (route 0) and each route r in config
 * order (1..n) its RS_RESP_KINDS variants. */
enum rs_reply_error {
	RS_REPLY_ERR_400,
	RS_REPLY_ERR_413,
	RS_REPLY_ERR_431,
	RS_REPLY_ERR_505,
	RS_REPLY_ERR_CONTROL_STATUS, /* 400s that name the control that could not be read */
	RS_REPLY_ERR_CONTROL_DELAY,
	RS_REPLY_ERR_CONTROL_SIZE,
	RS_REPLY_ERR_CONTROL_FAULT,
	RS_REPLY_ERRORS
};
#define RS_NO_ROUTE UINT32_MAX
/* A reply's body is the route's own, not a generated one. */
#define RS_SIZE_STATIC UINT32_MAX
/* No fault was drawn. */
#define RS_NO_FAULT RS_FAULTS
/* Not in the statuses table. */
#define RS_NO_STATUS UINT16_MAX

static inline uint16_t rs_reply_of(uint32_t route, uint32_t kind)
{
	return (uint16_t)(RS_REPLY_ERRORS + route * RS_RESP_KINDS + kind);
}
static inline bool rs_reply_is_error(uint16_t reply) { return reply < RS_REPLY_ERRORS; }
static inline uint32_t rs_reply_route(uint16_t reply) { return (uint32_t)(reply - RS_REPLY_ERRORS) / RS_RESP_KINDS; }
static inline uint32_t rs_reply_kind(uint16_t reply) { return (uint32_t)(reply - RS_REPLY_ERRORS) % RS_RESP_KINDS; }
/* How many reply ids a server with n routes has. */
static inline uint32_t rs_replies(uint32_t routes) { return RS_REPLY_ERRORS + (routes + 1) * RS_RESP_KINDS; }

/* Values drawn by weight: value[i] with probability ppm[i] / RS_PPM, the
 * rest of the time none of them. */
struct rs_weights {
	uint32_t n;
	uint32_t value[RS_MAX_WEIGHTS];
	uint32_t ppm[RS_MAX_WEIGHTS];
};

/* What a response (the default one, or a route's) is drawn from. */
struct rs_outcome {
	uint16_t status;          /* its own status code */
	uint32_t delay_ms;        /* its own delay */
	uint32_t size_min;        /* a generated body, drawn in [size_min, size_max] ... */
	uint32_t size_max;        /* ... when size_max > 0 */
	struct rs_weights statuses;
	struct rs_weights delays;
	struct rs_weights faults; /* values: enum rs_fault */
	bool drawn;               /* any weight or size: the draws are taken */
};

/* A route as the policy matches it. */
struct rs_route_match {
	const uint8_t *path;
	uint32_t len;
	bool prefix;       /* every path starting with it, else exactly it */
};

struct rs_policy {
	bool keep_alive;       /* --keep-alive: persistent connections allowed */
	uint32_t max_requests; /* responses per connection, 0 = unlimited */
	uint32_t max_header;   /* header block limit (framer) */
	uint64_t max_body;     /* body limit (framer) */
	uint32_t nroutes;
	const struct rs_route_match *routes;
	const struct rs_outcome *outcomes; /* [0] the default response, [r] route r */
	uint32_t control;      /* enum rs_control: which parts of a request may steer it */
	uint32_t max_delay_ms; /* ... and how far */
	uint32_t max_size;
	const uint16_t *status_index; /* a code (0..599) -> its line in the statuses table, or RS_NO_STATUS */
	uint32_t nstatuses;
};

/* Which counter a framed request moves. */
enum rs_tally { RS_TALLY_REQUEST, RS_TALLY_BAD, RS_TALLY_TOO_LARGE, RS_TALLY_CONTROL };

struct rs_decision {
	uint16_t reply;    /* a reply id (see rs_reply_of) */
	uint16_t status;   /* 0: the route's own; else drawn or asked for: put together when sent */
	uint32_t size;     /* RS_SIZE_STATIC, or a generated body of this size */
	uint32_t fault;    /* enum rs_fault, or RS_NO_FAULT */
	bool keep;         /* the connection stays open after this reply */
	bool linger;       /* input may follow that must be read before closing */
	uint64_t skip;     /* body bytes to discard before the reply is sent */
	enum rs_tally tally;
	uint32_t route;    /* 0 default, 1..n a route, RS_NO_ROUTE for an error */
	uint32_t delay_ms; /* hold the reply back this long */
	uint16_t outcome;  /* what it counts as: a line of the statuses table, or nstatuses + fault */
};

/* The route for a path: an exact route first, else the longest prefix route
 * (the first of equals), else 0, the default. Bytes as sent: no decoding. */
uint32_t rs_match_route(const struct rs_policy *pol, const uint8_t *path, uint32_t len);

/* verdict is rs_frame()'s return for the request at head: > 0 a complete
 * header block described by *req, < 0 an RS_FRAME_* error (req and head
 * unused). served is how many replies the connection sent before this one.
 * rng is the caller's generator, advanced by every draw. (The drain is the
 * state machine's: it makes the last reply a closing one.) */
struct rs_decision rs_decide(const struct rs_policy *pol, int verdict, const struct rs_request *req,
			     const uint8_t *head, uint32_t served, uint64_t *rng);

/* The variant of reply that closes the connection (HTTP/1.0 without
 * keep-alive, HTTP/1.1 with Connection: close; HEAD stays HEAD; the same
 * route). The drain sends a connection's last reply as this one. */
uint16_t rs_reply_closing(uint16_t reply);

/* The generator: xorshift64*, one state per ring; never 0. */
static inline uint64_t rs_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* A ring's first state from the seed (splitmix64, so nearby seeds and rings
 * start far apart). */
static inline uint64_t rs_rand_seed(uint64_t seed, uint32_t ring)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (ring + 1ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z ? z : 1;
}

/* Parses a control value (pure; exported for the tests and the fuzzer).
 * status: CODE or CODE:PERCENT[,CODE:PERCENT]... (codes of the statuses
 * table); delay: DURATION[:PERCENT]... (ms, s or m; a bare number is ms; each
 * at most max); size: N or N-M (at most max); fault: reset|close|hang
 * [:PERCENT]... . Percentages may have decimals and sum to at most 100; an
 * item without one is 100%. False when the value cannot be read. */
bool rs_parse_weights_status(const struct rs_policy *pol, const uint8_t *v, uint32_t n, struct rs_weights *out);
bool rs_parse_weights_delay(const uint8_t *v, uint32_t n, uint32_t max_ms, struct rs_weights *out);
bool rs_parse_size(const uint8_t *v, uint32_t n, uint32_t max, uint32_t *min_out, uint32_t *max_out);
bool rs_parse_weights_fault(const uint8_t *v, uint32_t n, struct rs_weights *out);

#endif
