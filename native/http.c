/* Request framing: see http.h for the return convention.
 *
 * One forward pass over at most max_header bytes. Every byte is classified
 * as it is reached, so garbage is rejected at the first byte that cannot
 * start or continue a request, whatever follows. Running out of bytes is
 * reported internally as NEED and turned into RS_FRAME_MORE or
 * RS_FRAME_HEADER_TOO_LARGE only at the top, in rs_frame().
 */
#include "http.h"

#include <limits.h>
#include <string.h>

/* Internal verdict: the examined bytes end before a decision. Positive so it
 * cannot collide with an RS_FRAME_* error; never returned to callers. */
#define NEED 1

/* 19 decimal digits always fit in a uint64_t (max 9999999999999999999 <
 * 18446744073709551615), so the digit limit is also the overflow guard. */
#define CL_MAX_DIGITS 19

enum char_class {
	C_TCHAR = 1,  /* RFC 9110 token character: method, field name */
	C_TARGET = 2, /* request-target: VCHAR 0x21..0x7E */
	C_VALUE = 4,  /* field value: VCHAR, obs-text, SP, HTAB */
};

#define T (C_TCHAR | C_TARGET | C_VALUE)
#define V (C_TARGET | C_VALUE)

/* Ranges are disjoint on purpose: -Wextra rejects overridden initializers.
 * Bytes left out (CTLs, DEL) are 0: never valid anywhere in a header block
 * except CR and LF, which the parser checks for explicitly. */
static const uint8_t char_class[256] = {
	['\t'] = C_VALUE, [' '] = C_VALUE,
	[0x21] = T, [0x22] = V, [0x23 ... 0x27] = T, [0x28 ... 0x29] = V,
	[0x2a ... 0x2b] = T, [0x2c] = V, [0x2d ... 0x2e] = T, [0x2f] = V,
	[0x30 ... 0x39] = T, [0x3a ... 0x40] = V, [0x41 ... 0x5a] = T,
	[0x5b ... 0x5d] = V, [0x5e ... 0x7a] = T, [0x7b] = V, [0x7c] = T,
	[0x7d] = V, [0x7e] = T,
	[0x80 ... 0xff] = C_VALUE,
};

#undef T
#undef V

/* A byte span inside buf. */
struct span {
	const uint8_t *p;
	size_t n;
};

/* Parse state for one call. Positions index buf; end is the examined limit. */
struct parser {
	const uint8_t *buf;
	size_t pos;
	size_t end;
	uint64_t content_length;
	uint8_t minor_version;
	uint8_t is_head;
	uint8_t has_cl;
	uint8_t has_te;
	uint8_t te_chunked; /* the last coding seen so far is chunked */
	uint8_t hosts;
	uint8_t conn_close;
	uint8_t conn_keep_alive;
	struct span path;   /* what routes match: see target_path() */
	struct span query;  /* after the path's "?" */
	struct span ctl[RS_CTL_KEYS]; /* X-Ringside-* values */
};

static int is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static int is_alpha(uint8_t c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static uint8_t to_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

/* lit must be lowercase. */
static int equals_nocase(struct span s, const char *lit, size_t lit_len)
{
	if (s.n != lit_len)
		return 0;
	for (size_t i = 0; i < lit_len; i++)
		if (to_lower(s.p[i]) != (uint8_t)lit[i])
			return 0;
	return 1;
}

#define EQUALS_NOCASE(s, lit) equals_nocase(s, lit, sizeof(lit) - 1)

/* Consumes a line ending, CRLF or bare LF. A CR must be followed by LF. */
static int take_eol(struct parser *ps)
{
	if (ps->pos >= ps->end)
		return NEED;
	if (ps->buf[ps->pos] == '\n') {
		ps->pos++;
		return 0;
	}
	if (ps->buf[ps->pos] != '\r')
		return RS_FRAME_BAD;
	if (ps->pos + 1 >= ps->end)
		return NEED;
	if (ps->buf[ps->pos + 1] != '\n')
		return RS_FRAME_BAD;
	ps->pos += 2;
	return 0;
}

static int at_eol(const struct parser *ps)
{
	uint8_t c = ps->buf[ps->pos];
	return c == '\r' || c == '\n';
}

/* RFC 9112 2.2: a server SHOULD ignore empty lines before the request line. */
static int skip_empty_lines(struct parser *ps)
{
	while (ps->pos < ps->end && at_eol(ps)) {
		int rc = take_eol(ps);
		if (rc)
			return rc;
	}
	return ps->pos < ps->end ? 0 : NEED;
}

/* Word at a time (picohttpparser's idea without SSE): eight bytes are
 * skipped together when none of them can end or spoil a run; any word that
 * may is left to the byte loop, which decides. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* A byte of x below n (n <= 128; bytes >= 0x80 never count). */
#define HAS_LESS(x, n) (((x) - ONES * (n)) & ~(x) & HIGHS)
/* A byte of x equal to b. */
#define HAS_BYTE(x, b) HAS_LESS((x) ^ (ONES * (b)), 1)

static uint64_t load8(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof(x));
	return x;
}

/* Field values: VCHAR, obs-text and SP stay; a CTL (CR, LF, HTAB
 * included) or DEL sends the word to the byte loop. */
static void skip_value_words(struct parser *ps)
{
	while (ps->pos + 8 <= ps->end) {
		uint64_t x = load8(ps->buf + ps->pos);

		if (HAS_LESS(x, 0x20) || HAS_BYTE(x, 0x7f))
			return;
		ps->pos += 8;
	}
}

/* Request targets: VCHAR only; SP, a CTL, DEL or a byte >= 0x80 sends the
 * word to the byte loop. */
static void skip_target_words(struct parser *ps)
{
	while (ps->pos + 8 <= ps->end) {
		uint64_t x = load8(ps->buf + ps->pos);

		if (HAS_LESS(x, 0x21) || HAS_BYTE(x, 0x7f) || (x & HIGHS))
			return;
		ps->pos += 8;
	}
}

/* Consumes 1+ bytes of class cls followed by the byte stop (not consumed
 * into the span, but skipped). Any other byte is BAD. */
static int take_run(struct parser *ps, uint8_t cls, uint8_t stop,
		    struct span *out)
{
	size_t start = ps->pos;

	if (cls == C_TARGET)
		skip_target_words(ps);
	while (ps->pos < ps->end && (char_class[ps->buf[ps->pos]] & cls))
		ps->pos++;
	if (ps->pos >= ps->end)
		return NEED;
	if (ps->buf[ps->pos] != stop || ps->pos == start)
		return RS_FRAME_BAD;
	out->p = ps->buf + start;
	out->n = ps->pos - start;
	ps->pos++;
	return 0;
}

/* "HTTP/" DIGIT "." DIGIT; '#' in the pattern stands for a digit. */
static int take_version(struct parser *ps, uint8_t *major, uint8_t *minor)
{
	static const char pattern[] = "HTTP/#.#";
	size_t start = ps->pos;

	for (size_t i = 0; i < sizeof(pattern) - 1; i++, ps->pos++) {
		if (ps->pos >= ps->end)
			return NEED;
		uint8_t c = ps->buf[ps->pos];
		int ok = pattern[i] == '#' ? c >= '0' && c <= '9'
					   : c == (uint8_t)pattern[i];
		if (!ok)
			return RS_FRAME_BAD;
	}
	*major = ps->buf[start + 5] - '0';
	*minor = ps->buf[start + 7] - '0';
	return 0;
}

/* The length of the scheme of an absolute-form target ("http" of
 * "http://h/a"), or 0 when t does not start with scheme "://": ALPHA
 * *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 3.1), so that a "://" in a
 * query or a path is never taken for one. */
static size_t scheme_len(struct span t)
{
	size_t i = 0;

	while (i < t.n && (is_alpha(t.p[i]) || (i && (is_digit(t.p[i]) || t.p[i] == '+' || t.p[i] == '-' || t.p[i] == '.'))))
		i++;
	return i && i + 3 <= t.n && t.p[i] == ':' && t.p[i + 1] == '/' && t.p[i + 2] == '/' ? i : 0;
}

/* The part of a request target that routes match: origin-form "/a/b?q" is
 * "/a/b"; absolute-form "http://host/a?q" is "/a" (or "/" with no path);
 * asterisk-form and anything else is the target itself, up to its "?". No
 * decoding and no normalisation: percent-escapes and dot segments are
 * matched as sent. */
static struct span target_path(struct span t)
{
	const uint8_t *p = t.p, *end = t.p + t.n, *q;
	size_t scheme = scheme_len(t);

	if (scheme) {
		p += scheme + 3;
		while (p < end && *p != '/' && *p != '?')
			p++;
		if (p == end || *p == '?') /* no path at all: empty, which stands for "/" */
			return (struct span){ p, 0 };
	}
	q = memchr(p, '?', (size_t)(end - p));
	return (struct span){ p, (size_t)((q ? q : end) - p) };
}

/* What follows the path's "?", if anything. */
static struct span target_query(struct span t, struct span path)
{
	const uint8_t *after = path.p + path.n, *end = t.p + t.n;

	if (after < end && *after == '?')
		return (struct span){ after + 1, (size_t)(end - after - 1) };
	return (struct span){ end, 0 };
}

static int parse_request_line(struct parser *ps)
{
	struct span method, target;
	uint8_t major, minor;
	int rc;

	if ((rc = take_run(ps, C_TCHAR, ' ', &method)) ||
	    (rc = take_run(ps, C_TARGET, ' ', &target)) ||
	    (rc = take_version(ps, &major, &minor)) || (rc = take_eol(ps)))
		return rc;
	/* Judged only once the line is well formed: a malformed line is BAD. */
	if (major != 1)
		return RS_FRAME_VERSION;
	ps->minor_version = minor == 0 ? 0 : 1;
	ps->is_head = method.n == 4 && memcmp(method.p, "HEAD", 4) == 0;
	ps->path = target_path(target);
	ps->query = target_query(target, ps->path);
	return 0;
}

/* Next element of a comma-separated list with OWS trimmed; empty elements
 * are skipped (RFC 9110 5.6.1). Returns 0 when the list is exhausted. */
static int next_element(struct span *list, struct span *elem)
{
	const uint8_t *p = list->p, *end = list->p + list->n;

	while (p < end && (is_ows(*p) || *p == ','))
		p++;
	elem->p = p;
	while (p < end && *p != ',')
		p++;
	elem->n = (size_t)(p - elem->p);
	while (elem->n > 0 && is_ows(elem->p[elem->n - 1]))
		elem->n--;
	list->p = p;
	list->n = (size_t)(end - p);
	return elem->n > 0;
}

/* 1*DIGIT, nothing else: no sign, no list, no inner space. */
static int apply_content_length(struct parser *ps, struct span v)
{
	uint64_t n = 0;

	if (v.n == 0 || v.n > CL_MAX_DIGITS)
		return RS_FRAME_BAD;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return RS_FRAME_BAD;
		n = n * 10 + (uint64_t)(v.p[i] - '0');
	}
	if (ps->has_cl && ps->content_length != n)
		return RS_FRAME_BAD;
	ps->has_cl = 1;
	ps->content_length = n;
	return 0;
}

/* Several Transfer-Encoding lines form one list; only the final coding
 * matters for framing and it is judged at the end of the block. */
static int apply_transfer_encoding(struct parser *ps, struct span v)
{
	struct span coding;
	int seen = 0;

	/* RFC 9112 6.1: in HTTP/1.0 it means the framing is faulty. */
	if (ps->minor_version == 0)
		return RS_FRAME_BAD;
	while (next_element(&v, &coding)) {
		ps->te_chunked = EQUALS_NOCASE(coding, "chunked");
		seen = 1;
	}
	if (!seen)
		return RS_FRAME_BAD;
	ps->has_te = 1;
	return 0;
}

static void apply_connection(struct parser *ps, struct span v)
{
	struct span token;

	while (next_element(&v, &token)) {
		if (EQUALS_NOCASE(token, "close"))
			ps->conn_close = 1;
		else if (EQUALS_NOCASE(token, "keep-alive"))
			ps->conn_keep_alive = 1;
	}
}

/* X-Ringside-Status, -Delay, -Size, -Fault: kept for the policy (which
 * reads them only with --control header); the last of a name wins. */
static void capture_control(struct parser *ps, struct span name, struct span value)
{
	static const char *const keys[RS_CTL_KEYS] = { "status", "delay", "size", "fault" };
	struct span key = { name.p + 11, name.n - 11 };

	if (!EQUALS_NOCASE(((struct span){ name.p, 11 }), "x-ringside-"))
		return;
	for (int k = 0; k < RS_CTL_KEYS; k++)
		if (equals_nocase(key, keys[k], strlen(keys[k])))
			ps->ctl[k] = value;
}

/* Acts on the few fields that affect framing; the rest are only validated. */
static int apply_field(struct parser *ps, struct span name, struct span value)
{
	int rc = 0;

	if (EQUALS_NOCASE(name, "content-length"))
		rc = apply_content_length(ps, value);
	else if (EQUALS_NOCASE(name, "transfer-encoding"))
		rc = apply_transfer_encoding(ps, value);
	else if (EQUALS_NOCASE(name, "connection"))
		apply_connection(ps, value);
	else if (EQUALS_NOCASE(name, "host") && ++ps->hosts > 1)
		rc = RS_FRAME_BAD; /* RFC 9112 3.2: more than one Host */
	else if (name.n > 11 && (name.p[0] | 0x20) == 'x' && name.p[1] == '-')
		capture_control(ps, name, value);
	if (rc)
		return rc;
	/* Both framings at once: a smuggling vector (RFC 9112 6.1). */
	return ps->has_cl && ps->has_te ? RS_FRAME_BAD : 0;
}

/* One field line: name ":" OWS value OWS eol. The caller has checked that
 * the line is not empty. */
static int parse_field_line(struct parser *ps)
{
	struct span name, value;
	size_t stop;
	int rc;

	/* obs-fold, or whitespace before the first field (RFC 9112 2.2, 5.2) */
	if (is_ows(ps->buf[ps->pos]))
		return RS_FRAME_BAD;
	if ((rc = take_run(ps, C_TCHAR, ':', &name)))
		return rc;
	while (ps->pos < ps->end && is_ows(ps->buf[ps->pos]))
		ps->pos++;
	value.p = ps->buf + ps->pos;
	skip_value_words(ps);
	while (ps->pos < ps->end && (char_class[ps->buf[ps->pos]] & C_VALUE))
		ps->pos++;
	stop = ps->pos;
	if ((rc = take_eol(ps)))
		return rc;
	while (ps->buf + stop > value.p && is_ows(ps->buf[stop - 1]))
		stop--;
	value.n = (size_t)(ps->buf + stop - value.p);
	return apply_field(ps, name, value);
}

/* Field lines up to and including the empty line. */
static int parse_fields(struct parser *ps)
{
	for (;;) {
		if (ps->pos >= ps->end)
			return NEED;
		if (at_eol(ps))
			return take_eol(ps);
		int rc = parse_field_line(ps);
		if (rc)
			return rc;
	}
}

/* Whole-block rules, checked once the empty line has been seen. */
static int check_block(const struct parser *ps, uint64_t max_body)
{
	if (ps->minor_version == 1 && ps->hosts == 0)
		return RS_FRAME_BAD; /* RFC 9112 3.2 */
	if (ps->has_te && !ps->te_chunked)
		return RS_FRAME_BAD; /* RFC 9112 6.3: length unknowable */
	if (ps->has_cl && ps->content_length > max_body)
		return RS_FRAME_BODY_TOO_LARGE;
	return 0;
}

static void fill_request(const struct parser *ps, struct rs_request *out)
{
	out->content_length = ps->has_cl ? ps->content_length : 0;
	out->is_head = ps->is_head;
	out->minor_version = ps->minor_version;
	out->connection = RS_CONN_DEFAULT;
	if (ps->conn_close)
		out->connection = RS_CONN_CLOSE;
	else if (ps->conn_keep_alive)
		out->connection = RS_CONN_KEEP_ALIVE;
	out->chunked = ps->has_te; /* check_block: TE implies final chunked */
	out->path_off = (uint32_t)(ps->path.p - ps->buf);
	out->path_len = (uint32_t)ps->path.n;
	out->query_off = (uint32_t)(ps->query.p - ps->buf);
	out->query_len = (uint32_t)ps->query.n;
	for (int k = 0; k < RS_CTL_KEYS; k++) {
		out->ctl_off[k] = ps->ctl[k].n ? (uint32_t)(ps->ctl[k].p - ps->buf) : 0;
		out->ctl_len[k] = (uint32_t)ps->ctl[k].n;
	}
}

int rs_frame(const uint8_t *buf, size_t len, size_t max_header,
	     uint64_t max_body, struct rs_request *out)
{
	struct parser ps = { .buf = buf };
	int rc;

	/* The length is returned as an int. */
	if (max_header > INT_MAX)
		max_header = INT_MAX;
	ps.end = len < max_header ? len : max_header;
	if ((rc = skip_empty_lines(&ps)) || (rc = parse_request_line(&ps)) ||
	    (rc = parse_fields(&ps)) || (rc = check_block(&ps, max_body))) {
		if (rc != NEED)
			return rc;
		/* Out of bytes: more may come, unless the limit was reached. */
		return len >= max_header ? RS_FRAME_HEADER_TOO_LARGE
					 : RS_FRAME_MORE;
	}
	fill_request(&ps, out);
	return (int)ps.pos;
}
