/* The HTTP response policy: see policy.h. Keep-alive follows RFC 9112 9.3:
 * HTTP/1.1 persists unless "close", HTTP/1.0 only with "keep-alive". */
#include "policy.h"

static struct rs_decision decide_error(int verdict)
{
	struct rs_decision d = { .keep = false, .linger = true, .tally = RS_TALLY_BAD };

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

struct rs_decision rs_decide(const struct rs_policy *pol, int verdict,
			     const struct rs_request *req, uint32_t served, bool draining)
{
	struct rs_decision d = { .tally = RS_TALLY_REQUEST };
	bool v11 = req && req->minor_version > 0;
	int kind;

	if (verdict <= 0 || !req)
		return decide_error(verdict);
	d.keep = wants_keep(pol, req);
	/* A chunked body is not decoded: answer, then read it away and close. */
	if (req->chunked || draining || (pol->max_requests && served + 1 >= pol->max_requests))
		d.keep = false;
	d.linger = req->chunked;
	d.skip = req->chunked ? 0 : req->content_length;
	if (!pol->keep_alive)
		kind = RS_RESP_CLOSE_10;
	else if (v11)
		kind = d.keep ? RS_RESP_KEEP_11 : RS_RESP_CLOSE_11;
	else
		kind = d.keep ? RS_RESP_KEEP_10 : RS_RESP_CLOSE_10;
	d.reply = (uint16_t)(req->is_head ? kind + RS_RESP_HEAD_CLOSE_10 : kind);
	return d;
}

uint16_t rs_reply_closing(uint16_t reply)
{
	switch (reply) {
	case RS_RESP_KEEP_10: return RS_RESP_CLOSE_10;
	case RS_RESP_KEEP_11: return RS_RESP_CLOSE_11;
	case RS_RESP_HEAD_KEEP_10: return RS_RESP_HEAD_CLOSE_10;
	case RS_RESP_HEAD_KEEP_11: return RS_RESP_HEAD_CLOSE_11;
	default: return reply;
	}
}
