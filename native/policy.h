/* The HTTP response policy: pure, no I/O, no globals, no allocation.
 *
 * Given what the framer made of a request (or the error it found), what the
 * server is configured for and where the connection stands, rs_decide() says
 * which prebuilt reply answers it, whether the connection stays open, whether
 * unread input may follow (so the close must linger), and how many body bytes
 * to discard. ring.c never decides any of this itself.
 */
#ifndef RINGSIDE_POLICY_H
#define RINGSIDE_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "ringside.h"

/* Every reply the server can send: the canned response's variants (enum
 * rs_response_kind), then the error responses, which always close. */
enum rs_reply {
	RS_REPLY_ERR_400 = RS_RESP_KINDS,
	RS_REPLY_ERR_413,
	RS_REPLY_ERR_431,
	RS_REPLY_ERR_505,
	RS_REPLIES
};

struct rs_policy {
	bool keep_alive;       /* --keep-alive: persistent connections allowed */
	uint32_t max_requests; /* responses per connection, 0 = unlimited */
	uint32_t max_header;   /* header block limit (framer) */
	uint64_t max_body;     /* body limit (framer) */
};

/* Which counter a framed request moves. */
enum rs_tally { RS_TALLY_REQUEST, RS_TALLY_BAD, RS_TALLY_TOO_LARGE };

struct rs_decision {
	uint16_t reply;    /* enum rs_response_kind or enum rs_reply */
	bool keep;         /* the connection stays open after this reply */
	bool linger;       /* input may follow that must be read before closing */
	uint64_t skip;     /* body bytes to discard before the reply is sent */
	enum rs_tally tally;
};

/* verdict is rs_frame()'s return for the request: > 0 a complete header
 * block described by *req, < 0 an RS_FRAME_* error (req unused). served is
 * how many replies the connection sent before this one. */
struct rs_decision rs_decide(const struct rs_policy *pol, int verdict,
			     const struct rs_request *req, uint32_t served, bool draining);

/* The variant of reply that closes the connection (HTTP/1.0 without
 * keep-alive, HTTP/1.1 with Connection: close; HEAD stays HEAD). A reply
 * chosen before the drain began is sent as this one during it. */
uint16_t rs_reply_closing(uint16_t reply);

/* True if the reply is one of the error responses. */
static inline bool rs_reply_is_error(uint16_t reply) { return reply >= RS_REPLY_ERR_400; }

#endif
