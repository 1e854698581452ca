/* The HTTP response policy: see policy.h. Keep-alive follows RFC 9112 9.3:
 * HTTP/1.1 persists unless "close", HTTP/1.0 only with "keep-alive". */
#include "policy.h"

#include <string.h>

static struct rs_decision decide_error(int verdict)
{
	struct rs_decision d = { .keep = false, .linger = true, .tally = RS_TALLY_BAD, .route = RS_NO_ROUTE };

	switch (verdict) {
	case RS_FRAME_HEADER_TOO_LARGE:
		d.reply = RS_REPLY_ERR_431;
		d.tally = RS_TALLY_TOO_LARGE;
		break;
	case RS_FRAME_BODY_TOO_LARGE:
		d.reply = RS_REPLY_ERR_413;
		d.tally = RS_TALLY_TOO_LARGE;
		break;
	case RS_FRAME_VERSION:
		d.reply = RS_REPLY_ERR_505;
		break;
	default:
		d.reply = RS_REPLY_ERR_400;
		break;
	}
	return d;
}

static bool wants_keep(const struct rs_policy *pol, const struct rs_request *req)
{
	if (!pol->keep_alive)
		return false;
	if (req->minor_version > 0)
		return req->connection != RS_CONN_CLOSE;
	return req->connection == RS_CONN_KEEP_ALIVE;
}

uint32_t rs_match_route(const struct rs_policy *pol, const uint8_t *path, uint32_t len)
{
	uint32_t best = 0, best_len = 0;

	for (uint32_t i = 0; i < pol->nroutes; i++) {
		const struct rs_route_match *r = &pol->routes[i];

		if (!r->prefix) {
			if (r->len == len && !memcmp(r->path, path, len))
				return i + 1;
		} else if (r->len <= len && (!best || r->len > best_len) && !memcmp(r->path, path, r->len)) {
			best = i + 1;
			best_len = r->len;
		}
	}
	return best;
}

struct rs_decision rs_decide(const struct rs_policy *pol, int verdict, const struct rs_request *req,
			     const uint8_t *head, uint32_t served)
{
	struct rs_decision d = { .tally = RS_TALLY_REQUEST };
	bool v11 = req && req->minor_version > 0;
	int kind;

	if (verdict <= 0 || !req)
		return decide_error(verdict);
	if (pol->nroutes && head)
		d.route = req->path_len ? rs_match_route(pol, head + req->path_off, req->path_len)
					: rs_match_route(pol, (const uint8_t *)"/", 1);
	d.delay_ms = d.route ? pol->routes[d.route - 1].delay_ms : pol->delay_ms;
	d.keep = wants_keep(pol, req);
	/* A chunked body is not decoded: answer, then read it away and close. */
	if (req->chunked || (pol->max_requests && served + 1 >= pol->max_requests))
		d.keep = false;
	d.linger = req->chunked;
	d.skip = req->chunked ? 0 : req->content_length;
	if (!pol->keep_alive)
		kind = RS_RESP_CLOSE_10;
	else if (v11)
		kind = d.keep ? RS_RESP_KEEP_11 : RS_RESP_CLOSE_11;
	else
		kind = d.keep ? RS_RESP_KEEP_10 : RS_RESP_CLOSE_10;
	d.reply = rs_reply_of(d.route, (uint32_t)(req->is_head ? kind + RS_RESP_HEAD_CLOSE_10 : kind));
	return d;
}

static uint32_t closing_kind(uint32_t kind)
{
	switch (kind) {
	case RS_RESP_KEEP_10: return RS_RESP_CLOSE_10;
	case RS_RESP_KEEP_11: return RS_RESP_CLOSE_11;
	case RS_RESP_HEAD_KEEP_10: return RS_RESP_HEAD_CLOSE_10;
	case RS_RESP_HEAD_KEEP_11: return RS_RESP_HEAD_CLOSE_11;
	default: return kind;
	}
}

uint16_t rs_reply_closing(uint16_t reply)
{
	if (rs_reply_is_error(reply))
		return reply;
	return rs_reply_of(rs_reply_route(reply), closing_kind(rs_reply_kind(reply)));
}
