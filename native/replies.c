/* The replies a server sends, all prebuilt: the error responses, and the
 * default response and every route's response in each variant, copied out
 * of the config into one allocation (JS may free its buffers once rs_start
 * returns), with the routes' paths for the policy to match. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replies.h"

static const char *const error_lines[RS_REPLY_ERRORS] = {
	[RS_REPLY_ERR_400] = "400 Bad Request",
	[RS_REPLY_ERR_413] = "413 Content Too Large",
	[RS_REPLY_ERR_431] = "431 Request Header Fields Too Large",
	[RS_REPLY_ERR_505] = "505 HTTP Version Not Supported",
};
#define ERROR_MEM 512
/* A path longer than any request target the framer accepts is a mistake. */
#define ROUTE_PATH_MAX 8192

/* Error responses always close; built once, with their lengths computed. */
static int build_errors(struct rs_server *s, uint8_t *mem)
{
	size_t off = 0;

	for (int k = 0; k < RS_REPLY_ERRORS; k++) {
		const char *line = error_lines[k], *reason = line + 4;
		int n = snprintf((char *)mem + off, ERROR_MEM - off,
				 "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s\n",
				 line, strlen(reason) + 1, reason);
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

static size_t variants_len(const uint64_t *lens)
{
	size_t total = 0;

	for (int k = 0; k < RS_RESP_KINDS; k++)
		total += lens[k];
	return total;
}

/* Bytes for everything, or 0 when a route is out of bounds. */
static size_t total_len(const struct rs_config *cfg)
{
	size_t total = ERROR_MEM + variants_len(cfg->response_len);

	for (uint32_t i = 0; i < cfg->routes; i++) {
		const struct rs_route *r = &routes_of(cfg)[i];

		if (!r->path_ptr || !r->path_len || r->path_len > ROUTE_PATH_MAX || r->delay_ms > RS_MAX_DELAY_MS)
			return 0;
		for (int k = 0; k < RS_RESP_KINDS; k++)
			if (r->response_len[k] > UINT32_MAX || (r->response_len[k] && !r->response_ptr[k]))
				return 0;
		total += r->path_len + variants_len(r->response_len);
	}
	return total;
}

/* Copies one response's variants in as route `route`'s replies. */
static size_t copy_variants(struct rs_server *s, uint32_t route, const uint64_t *ptrs,
			    const uint64_t *lens, size_t off)
{
	for (int k = 0; k < RS_RESP_KINDS; k++) {
		uint32_t len = (uint32_t)lens[k];

		if (len)
			memcpy(s->reply_mem + off, (const void *)(uintptr_t)ptrs[k], len);
		s->replies[rs_reply_of(route, (uint32_t)k)] = (struct blob){ s->reply_mem + off, len };
		off += len;
	}
	return off;
}

static size_t copy_route(struct rs_server *s, uint32_t i, size_t off)
{
	const struct rs_route *r = &routes_of(&s->cfg)[i];

	memcpy(s->reply_mem + off, (const void *)(uintptr_t)r->path_ptr, r->path_len);
	s->routes[i] = (struct rs_route_match){ .path = s->reply_mem + off, .len = r->path_len,
						 .prefix = r->prefix != 0, .delay_ms = r->delay_ms };
	return copy_variants(s, i + 1, r->response_ptr, r->response_len, off + r->path_len);
}

int setup_replies(struct rs_server *s)
{
	size_t total = total_len(&s->cfg), off;

	if (!total)
		return -EINVAL;
	s->replies = calloc(rs_replies(s->cfg.routes), sizeof(*s->replies));
	s->routes = calloc(s->cfg.routes ? s->cfg.routes : 1, sizeof(*s->routes));
	s->reply_mem = malloc(total);
	if (!s->replies || !s->routes || !s->reply_mem)
		return -ENOMEM;
	off = copy_variants(s, 0, s->cfg.response_ptr, s->cfg.response_len, 0);
	for (uint32_t i = 0; i < s->cfg.routes; i++)
		off = copy_route(s, i, off);
	s->policy.nroutes = s->cfg.routes;
	s->policy.routes = s->routes;
	s->policy.delay_ms = s->cfg.delay_ms;
	return build_errors(s, s->reply_mem + off);
}
