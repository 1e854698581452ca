/* Request framing: pure, no I/O, no globals, no allocation.
 *
 * rs_frame() looks at the bytes a connection has buffered and says what they
 * hold. It parses from the start every time (the caller keeps no parser
 * state), so a request split at any byte gives the same verdict once whole.
 *
 * Return convention (as picohttpparser): > 0 the length of a complete header
 * block (request line, header lines and the empty line) and *out is filled;
 * RS_FRAME_MORE when the bytes so far are a valid prefix; any other negative
 * value is an RS_FRAME_* error for which the caller answers and closes.
 * Empty lines before the request line are skipped (RFC 9112 2.2) and count in
 * the returned length and against max_header.
 *
 * Only the first max_header bytes are examined (a max_header above INT_MAX
 * counts as INT_MAX, so the length fits the int). A byte that cannot belong
 * to a request is BAD as soon as it is seen, complete block or not; a prefix
 * of a complete block is always MORE. *out is written only when > 0.
 */
#ifndef RINGSIDE_HTTP_H
#define RINGSIDE_HTTP_H

#include <stddef.h>
#include <stdint.h>

enum rs_frame_verdict {
	RS_FRAME_MORE = 0,           /* valid prefix, need more bytes */
	RS_FRAME_BAD = -1,           /* 400: not METHOD SP TARGET SP HTTP/x.y, bad header */
	RS_FRAME_HEADER_TOO_LARGE = -2, /* 431: no end of header block within the limit */
	RS_FRAME_BODY_TOO_LARGE = -3,   /* 413: Content-Length over the body limit */
	RS_FRAME_VERSION = -4,       /* 505: HTTP major version other than 1 */
};

enum rs_conn_token {
	RS_CONN_DEFAULT = 0,  /* no Connection header, or neither token */
	RS_CONN_CLOSE = 1,    /* Connection: close (wins over keep-alive) */
	RS_CONN_KEEP_ALIVE = 2,
};

/* The headers a request may steer its response with (--control header),
 * in the order of the query keys: status, delay, size, fault. */
enum rs_control_key { RS_CTL_STATUS, RS_CTL_DELAY, RS_CTL_SIZE, RS_CTL_FAULT, RS_CTL_KEYS };

struct rs_request {
	uint64_t content_length; /* body bytes that follow the header block */
	uint32_t path_off;       /* the target's path, from buf: without the query, and */
	uint32_t path_len;       /* for an absolute-form target without scheme and authority
				  * (0 for "http://host" alone: the path is "/") */
	uint32_t query_off;      /* the query after the path's "?", from buf (0 bytes: none) */
	uint32_t query_len;
	uint32_t ctl_off[RS_CTL_KEYS]; /* X-Ringside-Status, -Delay, -Size, -Fault values, from buf */
	uint32_t ctl_len[RS_CTL_KEYS]; /* (0: not sent) */
	uint8_t is_head;         /* method is exactly HEAD */
	uint8_t minor_version;   /* HTTP/1.<minor>, 0 or 1 (other minors count as 1) */
	uint8_t connection;      /* enum rs_conn_token */
	uint8_t chunked;         /* Transfer-Encoding: chunked; body length unknown */
};

int rs_frame(const uint8_t *buf, size_t len, size_t max_header,
	     uint64_t max_body, struct rs_request *out);

#endif
