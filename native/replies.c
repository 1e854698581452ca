/* The bytes a server sends, all copied out of the config into one
 * allocation at start (JS may free its buffers once rs_start returns): the
 * error responses; the default response's and every route's prebuilt
 * variants, and their parts for replies put together when sent; the
 * statuses table; the routes' paths for the policy to match. */
#define _GNU_SOURCE
#include "replies.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const error_lines[RS_REPLY_ERRORS] = {
	[RS_REPLY_ERR_400] = "400 Bad Request",
	[RS_REPLY_ERR_413] = "413 Content Too Large",
	[RS_REPLY_ERR_431] = "431 Request Header Fields Too Large",
	[RS_REPLY_ERR_505] = "505 HTTP Version Not Supported",
	[RS_REPLY_ERR_CONTROL_STATUS] = "400 Bad Request",
	[RS_REPLY_ERR_CONTROL_DELAY] = "400 Bad Request",
	[RS_REPLY_ERR_CONTROL_SIZE] = "400 Bad Request",
	[RS_REPLY_ERR_CONTROL_FAULT] = "400 Bad Request",
};
/* A control error's body names the control. */
static const char *const error_bodies[RS_REPLY_ERRORS] = {
	[RS_REPLY_ERR_CONTROL_STATUS] = "Bad Request: control 'status' cannot be read (CODE or CODE:PERCENT,...)",
	[RS_REPLY_ERR_CONTROL_DELAY] = "Bad Request: control 'delay' cannot be read or is over the server's --max-delay",
	[RS_REPLY_ERR_CONTROL_SIZE] = "Bad Request: control 'size' cannot be read or is over the server's --max-size",
	[RS_REPLY_ERR_CONTROL_FAULT] = "Bad Request: control 'fault' cannot be read (reset, close or hang[:PERCENT],...)",
};
#define ERROR_MEM 2048
/* A path longer than any request target the framer accepts is a mistake. */
#define ROUTE_PATH_MAX 8192

/* Error responses always close; built once, with their lengths computed. */
static int build_errors(struct rs_server *s, uint8_t *mem)
{
	size_t off = 0;

	for (int k = 0; k < RS_REPLY_ERRORS; k++) {
		const char *line = error_lines[k], *body = error_bodies[k] ? error_bodies[k] : line + 4;
		int n = snprintf((char *)mem + off, ERROR_MEM - off,
				 "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s\n",
				 line, strlen(body) + 1, body);
		if (n < 0 || (size_t)n >= ERROR_MEM - off)
			return -ENOSPC;
		s->replies[k] = (struct blob){ mem + off, (uint32_t)n };
		off += (size_t)n;
	}
	return 0;
}

static const struct rs_route *routes_of(const struct rs_config *cfg)
{
	return (const struct rs_route *)(uintptr_t)cfg->routes_ptr;
}

/* One response's bytes as the config gives them (the default's or a route's). */
struct response_src {
	const uint64_t *response_ptr, *response_len, *tail_ptr, *tail_len;
	uint64_t body_ptr;
	uint32_t body_len, body_reason;
};
#define RESPONSE_SRC(x) ((struct response_src){ (x)->response_ptr, (x)->response_len, (x)->tail_ptr, \
						 (x)->tail_len, (x)->body_ptr, (x)->body_len, (x)->body_reason })

/* Bytes of one response, or 0 when a length is out of bounds or a pointer missing. */
static size_t response_len(struct response_src r)
{
	size_t total = r.body_len;

	if (r.body_len && !r.body_ptr)
		return 0;
	for (int k = 0; k < RS_RESP_KINDS; k++) {
		if (r.response_len[k] > UINT32_MAX || (r.response_len[k] && !r.response_ptr[k]) ||
		    r.tail_len[k] > UINT32_MAX || (r.tail_len[k] && !r.tail_ptr[k]))
			return 0;
		total += r.response_len[k] + r.tail_len[k];
	}
	return total ? total : 1;
}

/* Bytes for everything, or 0 when something is out of bounds. */
static size_t total_len(const struct rs_config *cfg)
{
	size_t total = ERROR_MEM + 2 * (size_t)cfg->statuses_len, one = response_len(RESPONSE_SRC(cfg));

	if (!one || !cfg->statuses_ptr || !cfg->statuses_len)
		return 0;
	total += one;
	for (uint32_t i = 0; i < cfg->routes; i++) {
		const struct rs_route *r = &routes_of(cfg)[i];

		one = response_len(RESPONSE_SRC(r));
		if (!one || !r->path_ptr || !r->path_len || r->path_len > ROUTE_PATH_MAX)
			return 0;
		total += r->path_len + one;
	}
	return total;
}

static struct blob copy_blob(struct rs_server *s, uint64_t ptr, uint64_t len, size_t *off)
{
	struct blob b = { s->reply_mem + *off, (uint32_t)len };

	if (len)
		memcpy(s->reply_mem + *off, (const void *)(uintptr_t)ptr, len);
	*off += len;
	return b;
}

/* Copies one response in as route `route`'s: its variants and its parts. */
static void copy_response(struct rs_server *s, uint32_t route, struct response_src r, size_t *off)
{
	struct parts *p = &s->parts[route];

	for (int k = 0; k < RS_RESP_KINDS; k++) {
		s->replies[rs_reply_of(route, (uint32_t)k)] = copy_blob(s, r.response_ptr[k], r.response_len[k], off);
		p->tail[k] = copy_blob(s, r.tail_ptr[k], r.tail_len[k], off);
	}
	p->body = copy_blob(s, r.body_ptr, r.body_len, off);
	p->body_reason = r.body_reason != 0;
}

static void copy_route(struct rs_server *s, uint32_t i, size_t *off)
{
	const struct rs_route *r = &routes_of(&s->cfg)[i];

	s->routes[i] = (struct rs_route_match){ .path = s->reply_mem + *off, .len = r->path_len, .prefix = r->prefix != 0 };
	copy_blob(s, r->path_ptr, r->path_len, off);
	copy_response(s, i + 1, RESPONSE_SRC(r), off);
}

/* One "NNN Reason\r\n" line of the statuses table: its status line and its
 * reason body ("Reason\n", written at *reasons). */
static int add_status(struct rs_server *s, const uint8_t *line, size_t n, uint8_t **reasons)
{
	unsigned code;

	if (n < 7 || line[3] != ' ' || line[n - 2] != '\r' || line[n - 1] != '\n' ||
	    sscanf((const char *)line, "%3u", &code) != 1 || code < 100 || code >= RS_STATUS_CODES ||
	    s->status_line[code].len || s->nstatuses == RS_MAX_STATUSES)
		return -EINVAL;
	s->status_line[code] = (struct blob){ line, (uint32_t)n };
	memcpy(*reasons, line + 4, n - 6);
	(*reasons)[n - 6] = '\n';
	s->reason_body[code] = (struct blob){ *reasons, (uint32_t)(n - 5) };
	*reasons += n - 5;
	s->status_index[code] = (uint16_t)s->nstatuses++;
	return 0;
}

/* The statuses table: every status a reply may carry, one line each. */
static int copy_statuses(struct rs_server *s, size_t *off)
{
	struct blob table = copy_blob(s, s->cfg.statuses_ptr, s->cfg.statuses_len, off);
	uint8_t *reasons = s->reply_mem + *off;
	const uint8_t *p = table.ptr, *end = table.ptr + table.len;

	for (int c = 0; c < RS_STATUS_CODES; c++)
		s->status_index[c] = RS_NO_STATUS;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || add_status(s, p, (size_t)(nl + 1 - p), &reasons) < 0)
			return -EINVAL;
		p = nl + 1;
	}
	*off += (size_t)(reasons - (s->reply_mem + *off));
	return 0;
}

int setup_replies(struct rs_server *s)
{
	size_t total = total_len(&s->cfg), off = 0;

	if (!total)
		return -EINVAL;
	s->replies = calloc(rs_replies(s->cfg.routes), sizeof(*s->replies));
	s->routes = calloc(s->cfg.routes ? s->cfg.routes : 1, sizeof(*s->routes));
	s->parts = calloc(s->cfg.routes + 1, sizeof(*s->parts));
	s->reply_mem = malloc(total);
	if (!s->replies || !s->routes || !s->parts || !s->reply_mem)
		return -ENOMEM;
	copy_response(s, 0, RESPONSE_SRC(&s->cfg), &off);
	for (uint32_t i = 0; i < s->cfg.routes; i++)
		copy_route(s, i, &off);
	if (copy_statuses(s, &off) < 0)
		return -EINVAL;
	s->policy.nroutes = s->cfg.routes;
	s->policy.routes = s->routes;
	s->policy.status_index = s->status_index;
	s->policy.nstatuses = s->nstatuses;
	return build_errors(s, s->reply_mem + off);
}

void free_replies(struct rs_server *s)
{
	free(s->replies);
	free(s->routes);
	free(s->parts);
	free(s->reply_mem);
}
