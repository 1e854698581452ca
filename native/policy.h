/* The HTTP response policy: pure, no I/O, no globals, no allocation.
 *
 * Given what the framer made of a request (or the error it found), what the
 * server is configured for and where the connection stands, rs_decide() says
 * which route's prebuilt reply answers it, whether the connection stays open,
 * whether unread input may follow (so the close must linger), how many body
 * bytes to discard and how long the reply is held back. ring.c never decides
 * any of this itself.
 */
#ifndef RINGSIDE_POLICY_H
#define RINGSIDE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "ringside.h"

/* Every reply the server can send has an id: the error responses first
 * (they always close), then for the default response (route 0) and each
 * route r in config order (1..n) its RS_RESP_KINDS variants. */
enum rs_reply_error {
	RS_REPLY_ERR_400,
	RS_REPLY_ERR_413,
	RS_REPLY_ERR_431,
	RS_REPLY_ERR_505,
	RS_REPLY_ERRORS
};
#define RS_NO_ROUTE UINT32_MAX

static inline uint16_t rs_reply_of(uint32_t route, uint32_t kind)
{
	return (uint16_t)(RS_REPLY_ERRORS + route * RS_RESP_KINDS + kind);
}
static inline bool rs_reply_is_error(uint16_t reply) { return reply < RS_REPLY_ERRORS; }
static inline uint32_t rs_reply_route(uint16_t reply) { return (uint32_t)(reply - RS_REPLY_ERRORS) / RS_RESP_KINDS; }
static inline uint32_t rs_reply_kind(uint16_t reply) { return (uint32_t)(reply - RS_REPLY_ERRORS) % RS_RESP_KINDS; }
/* How many reply ids a server with n routes has. */
static inline uint32_t rs_replies(uint32_t routes) { return RS_REPLY_ERRORS + (routes + 1) * RS_RESP_KINDS; }

/* A route as the policy matches it. */
struct rs_route_match {
	const uint8_t *path;
	uint32_t len;
	bool prefix;       /* every path starting with it, else exactly it */
	uint32_t delay_ms;
};

struct rs_policy {
	bool keep_alive;       /* --keep-alive: persistent connections allowed */
	uint32_t max_requests; /* responses per connection, 0 = unlimited */
	uint32_t max_header;   /* header block limit (framer) */
	uint64_t max_body;     /* body limit (framer) */
	uint32_t delay_ms;     /* the default response's delay */
	uint32_t nroutes;
	const struct rs_route_match *routes;
};

/* Which counter a framed request moves. */
enum rs_tally { RS_TALLY_REQUEST, RS_TALLY_BAD, RS_TALLY_TOO_LARGE };

struct rs_decision {
	uint16_t reply;    /* a reply id (see rs_reply_of) */
	bool keep;         /* the connection stays open after this reply */
	bool linger;       /* input may follow that must be read before closing */
	uint64_t skip;     /* body bytes to discard before the reply is sent */
	enum rs_tally tally;
	uint32_t route;    /* 0 default, 1..n a route, RS_NO_ROUTE for an error */
	uint32_t delay_ms; /* hold the reply back this long */
};

/* The route for a path: an exact route first, else the longest prefix route
 * (the first of equals), else 0, the default. Bytes as sent: no decoding. */
uint32_t rs_match_route(const struct rs_policy *pol, const uint8_t *path, uint32_t len);

/* verdict is rs_frame()'s return for the request at head: > 0 a complete
 * header block described by *req, < 0 an RS_FRAME_* error (req and head
 * unused). served is how many replies the connection sent before this one.
 * (The drain is the state machine's: it makes the last reply a closing one.) */
struct rs_decision rs_decide(const struct rs_policy *pol, int verdict, const struct rs_request *req,
			     const uint8_t *head, uint32_t served);

/* The variant of reply that closes the connection (HTTP/1.0 without
 * keep-alive, HTTP/1.1 with Connection: close; HEAD stays HEAD; the same
 * route). The drain sends a connection's last reply as this one. */
uint16_t rs_reply_closing(uint16_t reply);

#endif
