/* The HTTP response policy: see policy.h. Keep-alive follows RFC 9112 9.3:
 * HTTP/1.1 persists unless "close", HTTP/1.0 only with "keep-alive". */
#include "policy.h"

#include <string.h>

static struct rs_decision decide_error(int verdict)
{
	struct rs_decision d = { .keep = false, .linger = true, .tally = RS_TALLY_BAD, .route = RS_NO_ROUTE,
				 .size = RS_SIZE_STATIC, .fault = RS_NO_FAULT };

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

/* ---- control values: pure parsers ---------------------------------------- */

struct cursor {
	const uint8_t *p, *end;
};

/* A whole number of at most 10 digits into *out; false if none. */
static bool take_number(struct cursor *c, uint64_t *out)
{
	uint64_t n = 0;
	int digits = 0;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && digits < 10) {
		n = n * 10 + (uint64_t)(*c->p++ - '0');
		digits++;
	}
	*out = n;
	return digits > 0 && !(c->p < c->end && *c->p >= '0' && *c->p <= '9');
}

static bool take_char(struct cursor *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* ":PERCENT" (up to 4 decimals) in parts per million, or 100% if absent. */
static bool take_weight(struct cursor *c, uint32_t *ppm)
{
	uint64_t whole, frac = 0, scale = 10000;

	if (!take_char(c, ':')) {
		*ppm = RS_PPM;
		return true;
	}
	if (!take_number(c, &whole) || whole > 100)
		return false;
	if (take_char(c, '.')) {
		int digits = 0;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && digits < 4) {
			frac = frac * 10 + (uint64_t)(*c->p++ - '0');
			scale /= 10;
			digits++;
		}
		if (!digits)
			return false;
	}
	*ppm = (uint32_t)(whole * 10000 + frac * scale);
	return *ppm <= RS_PPM;
}

/* DURATION: N, Nms, Ns or Nm, in ms. */
static bool take_duration(struct cursor *c, uint64_t *ms)
{
	uint64_t n;

	if (!take_number(c, &n))
		return false;
	if (c->end - c->p >= 2 && c->p[0] == 'm' && c->p[1] == 's')
		c->p += 2;
	else if (take_char(c, 's'))
		n *= 1000;
	else if (take_char(c, 'm'))
		n *= 60000;
	*ms = n;
	return true;
}

/* A comma-separated list of ITEM[:PERCENT], each item read by take_item;
 * the weights sum to at most 100%. */
static bool take_weights(struct cursor *c, struct rs_weights *out, const void *ctx,
			 bool (*take_item)(struct cursor *, const void *, uint32_t *))
{
	uint64_t sum = 0;

	out->n = 0;
	do {
		if (out->n == RS_MAX_WEIGHTS || !take_item(c, ctx, &out->value[out->n]) ||
		    !take_weight(c, &out->ppm[out->n]))
			return false;
		sum += out->ppm[out->n++];
	} while (take_char(c, ','));
	return c->p == c->end && sum <= RS_PPM;
}

static bool take_status(struct cursor *c, const void *ctx, uint32_t *out)
{
	const struct rs_policy *pol = ctx;
	uint64_t code;

	if (!take_number(c, &code) || code >= 600 || pol->status_index[code] == RS_NO_STATUS)
		return false;
	*out = (uint32_t)code;
	return true;
}

static bool take_delay(struct cursor *c, const void *ctx, uint32_t *out)
{
	uint64_t ms;

	if (!take_duration(c, &ms) || ms > *(const uint32_t *)ctx)
		return false;
	*out = (uint32_t)ms;
	return true;
}

static bool take_fault(struct cursor *c, const void *ctx, uint32_t *out)
{
	static const char *const names[RS_FAULTS] = { "reset", "close", "hang" };

	(void)ctx;
	for (uint32_t f = 0; f < RS_FAULTS; f++) {
		size_t len = strlen(names[f]);
		if ((size_t)(c->end - c->p) >= len && !memcmp(c->p, names[f], len)) {
			c->p += len;
			*out = f;
			return true;
		}
	}
	return false;
}

bool rs_parse_weights_status(const struct rs_policy *pol, const uint8_t *v, uint32_t n, struct rs_weights *out)
{
	struct cursor c = { v, v + n };

	return take_weights(&c, out, pol, take_status);
}

bool rs_parse_weights_delay(const uint8_t *v, uint32_t n, uint32_t max_ms, struct rs_weights *out)
{
	struct cursor c = { v, v + n };

	return take_weights(&c, out, &max_ms, take_delay);
}

bool rs_parse_weights_fault(const uint8_t *v, uint32_t n, struct rs_weights *out)
{
	struct cursor c = { v, v + n };

	return take_weights(&c, out, NULL, take_fault);
}

bool rs_parse_size(const uint8_t *v, uint32_t n, uint32_t max, uint32_t *min_out, uint32_t *max_out)
{
	struct cursor c = { v, v + n };
	uint64_t lo, hi;

	if (!take_number(&c, &lo))
		return false;
	hi = lo;
	if (take_char(&c, '-') && !take_number(&c, &hi))
		return false;
	if (c.p != c.end || lo > hi || hi > max)
		return false;
	*min_out = (uint32_t)lo;
	*max_out = (uint32_t)hi;
	return true;
}

/* ---- draws ----------------------------------------------------------------- */

/* A draw in [0, RS_PPM). */
static uint32_t draw_ppm(uint64_t *rng)
{
	return (uint32_t)(((rs_rand(rng) >> 32) * RS_PPM) >> 32);
}

/* Draws a value of w, or returns `otherwise`. */
static uint32_t draw(const struct rs_weights *w, uint32_t otherwise, uint64_t *rng)
{
	uint32_t r = draw_ppm(rng), cum = 0;

	for (uint32_t i = 0; i < w->n; i++) {
		cum += w->ppm[i];
		if (r < cum)
			return w->value[i];
	}
	return otherwise;
}

static uint32_t draw_size(uint32_t lo, uint32_t hi, uint64_t *rng)
{
	return lo == hi ? lo : lo + (uint32_t)(rs_rand(rng) % ((uint64_t)hi - lo + 1));
}

/* ---- control: the request steers what is drawn ----------------------------- */

/* What the draws are taken from: the route's own weights, or what the
 * request asked for instead (parsed into asked). */
struct drawn_from {
	const struct rs_weights *statuses, *delays, *faults;
	uint32_t size_min, size_max;
	bool sized;
	struct rs_weights asked[3];
};

/* The value of key in a query "a=1&status=503&b" (the last one wins). */
static bool query_value(const uint8_t *q, uint32_t n, const char *key, struct cursor *out)
{
	size_t klen = strlen(key);
	const uint8_t *p = q, *end = q + n;
	bool found = false;

	while (p < end) {
		const uint8_t *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp ? amp : end;
		if ((size_t)(stop - p) > klen && !memcmp(p, key, klen) && p[klen] == '=') {
			*out = (struct cursor){ p + klen + 1, stop };
			found = true;
		}
		p = stop + (amp != NULL);
	}
	return found;
}

/* The value of a control: the query's over the header's. */
static bool control_value(const struct rs_policy *pol, const struct rs_request *req, const uint8_t *head,
			  enum rs_control_key k, struct cursor *out)
{
	static const char *const keys[RS_CTL_KEYS] = { "status", "delay", "size", "fault" };

	if ((pol->control & RS_CONTROL_QUERY) && query_value(head + req->query_off, req->query_len, keys[k], out))
		return true;
	if ((pol->control & RS_CONTROL_HEADER) && req->ctl_len[k]) {
		*out = (struct cursor){ head + req->ctl_off[k], head + req->ctl_off[k] + req->ctl_len[k] };
		return true;
	}
	return false;
}

/* Reads every control the request gives over f; the error reply of the
 * first that cannot be read, or 0. */
static uint16_t read_controls(const struct rs_policy *pol, const struct rs_request *req, const uint8_t *head,
			      struct drawn_from *f)
{
	struct cursor v;

	if (control_value(pol, req, head, RS_CTL_STATUS, &v)) {
		if (!rs_parse_weights_status(pol, v.p, (uint32_t)(v.end - v.p), &f->asked[0]))
			return RS_REPLY_ERR_CONTROL_STATUS;
		f->statuses = &f->asked[0];
	}
	if (control_value(pol, req, head, RS_CTL_DELAY, &v)) {
		if (!rs_parse_weights_delay(v.p, (uint32_t)(v.end - v.p), pol->max_delay_ms, &f->asked[1]))
			return RS_REPLY_ERR_CONTROL_DELAY;
		f->delays = &f->asked[1];
	}
	if (control_value(pol, req, head, RS_CTL_SIZE, &v)) {
		if (!rs_parse_size(v.p, (uint32_t)(v.end - v.p), pol->max_size, &f->size_min, &f->size_max))
			return RS_REPLY_ERR_CONTROL_SIZE;
		f->sized = true;
	}
	if (control_value(pol, req, head, RS_CTL_FAULT, &v)) {
		if (!rs_parse_weights_fault(v.p, (uint32_t)(v.end - v.p), &f->asked[2]))
			return RS_REPLY_ERR_CONTROL_FAULT;
		f->faults = &f->asked[2];
	}
	return 0;
}

/* The draws, in a fixed order (fault, status, delay, size), each taken only
 * where there is something to draw from. */
static void draw_outcome(const struct rs_policy *pol, const struct rs_outcome *o, const struct drawn_from *f,
			 uint64_t *rng, struct rs_decision *d)
{
	uint32_t status = o->status;

	if (f->faults->n)
		d->fault = draw(f->faults, RS_NO_FAULT, rng);
	if (f->statuses->n)
		status = draw(f->statuses, o->status, rng);
	if (f->delays->n)
		d->delay_ms = draw(f->delays, d->delay_ms, rng);
	if (f->sized)
		d->size = draw_size(f->size_min, f->size_max, rng);
	d->status = status == o->status ? 0 : (uint16_t)status;
	d->outcome = d->fault != RS_NO_FAULT ? (uint16_t)(pol->nstatuses + d->fault) : pol->status_index[status];
}

/* A request whose control cannot be read: a 400 that names the control. */
static struct rs_decision control_error(uint16_t reply)
{
	struct rs_decision d = decide_error(RS_FRAME_BAD);

	d.reply = reply;
	d.tally = RS_TALLY_CONTROL;
	return d;
}

struct rs_decision rs_decide(const struct rs_policy *pol, int verdict, const struct rs_request *req,
			     const uint8_t *head, uint32_t served, uint64_t *rng)
{
	struct rs_decision d = { .tally = RS_TALLY_REQUEST, .size = RS_SIZE_STATIC, .fault = RS_NO_FAULT };
	bool v11 = req && req->minor_version > 0;
	const struct rs_outcome *o;
	int kind;

	if (verdict <= 0 || !req)
		return decide_error(verdict);
	if (pol->nroutes && head)
		d.route = req->path_len ? rs_match_route(pol, head + req->path_off, req->path_len)
					: rs_match_route(pol, (const uint8_t *)"/", 1);
	o = &pol->outcomes[d.route];
	d.delay_ms = o->delay_ms;
	d.outcome = pol->status_index[o->status];
	if (o->drawn || pol->control) {
		struct drawn_from f = { .statuses = &o->statuses, .delays = &o->delays, .faults = &o->faults,
					.size_min = o->size_min, .size_max = o->size_max, .sized = o->size_max > 0 };
		uint16_t err = pol->control && head ? read_controls(pol, req, head, &f) : 0;

		if (err)
			return control_error(err);
		draw_outcome(pol, o, &f, rng, &d);
	}
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
