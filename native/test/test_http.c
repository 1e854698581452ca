/* Unit tests for rs_frame(). Plain C, no framework (test/check.h).
 *
 * Every input goes through frame_guarded(), which places it at the end of
 * a page followed by a PROT_NONE page (as
 * picohttpparser's tests do), so any read past len faults.
 */
#include "http.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_HEADER 8192
#define MAX_BODY (1024 * 1024)

static uint8_t *guard_end; /* first byte of the PROT_NONE page */
static size_t page_size;

static int setup_guard_page(void)
{
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + page_size, page_size, PROT_NONE))
		return -1;
	guard_end = p + page_size;
	return 0;
}

/* rs_frame on bytes placed so that the last one touches the guard page;
 * -100 (no verdict) if they do not fit in a page. */
static int frame_guarded(const void *s, size_t len, size_t max_header,
			 uint64_t max_body, struct rs_request *out)
{
	if (len > page_size)
		return -100;
	uint8_t *dst = guard_end - len;
	memcpy(dst, s, len);
	return rs_frame(dst, len, max_header, max_body, out);
}

static int frame(const char *s, struct rs_request *out)
{
	return frame_guarded(s, strlen(s), MAX_HEADER, MAX_BODY, out);
}

static int frame_max_body(const char *s, uint64_t max_body,
			  struct rs_request *out)
{
	return frame_guarded(s, strlen(s), MAX_HEADER, max_body, out);
}

/* Every prefix says MORE until the first one that decides, and every longer
 * prefix repeats that verdict: a request split at any byte frames alike. */
static int prefixes_agree(const char *s, size_t len)
{
	struct rs_request req;
	int decided = RS_FRAME_MORE;

	for (size_t k = 0; k <= len; k++) {
		int r = frame_guarded(s, k, MAX_HEADER, MAX_BODY, &req);
		if (decided == RS_FRAME_MORE)
			decided = r;
		else if (r != decided)
			return 0;
	}
	return 1;
}

struct frame_case {
	const char *input;
	size_t len;  /* sizeof the literal: inputs may hold NULs */
	int expect;  /* > 0: a complete block, of len - tail bytes */
	size_t tail; /* bytes after the block (body, next request) */
};

#define OK(s) { s, sizeof(s) - 1, 1, 0 }
#define OK_TAIL(s, tail) { s, sizeof(s) - 1, 1, tail }
#define ERR(s, e) { s, sizeof(s) - 1, e, 0 }

#define CURL_GET                                                        \
	"GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/8.5.0\r\n" \
	"Accept: */*\r\n\r\n"
#define WRK_GET "GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n"
#define H11 "GET / HTTP/1.1\r\nHost: a\r\n"

static const struct frame_case cases[] = {
	/* Clients as they really send. */
	OK(CURL_GET),
	OK(WRK_GET),
	OK("GET / HTTP/1.0\r\nHost: localhost:8080\r\nUser-Agent: "
	   "ApacheBench/2.3\r\nAccept: */*\r\n\r\n"),
	OK("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: localhost\r\n"
	   "User-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n"),
	OK("HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n"),
	OK_TAIL("POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
		"hello", 5),
	OK("GET / HTTP/1.0\r\n\r\n"),
	OK("GET /a?b=c&d=%20#f HTTP/1.1\r\nHost: a\r\n\r\n"),
	OK("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
	OK("M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n"),
	OK("GET / HTTP/1.9\r\nHost: a\r\n\r\n"),
	/* Line endings. */
	OK("GET / HTTP/1.1\nHost: a\nAccept: */*\n\n"),
	OK("GET / HTTP/1.1\r\nHost: a\nAccept: */*\r\n\n"),
	OK("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	OK("\n\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	/* Field values. */
	OK(H11 "X-Empty:\r\nX-Ows: \t \r\n\r\n"),
	OK(H11 "X-Tab:\tv\ta\tl\r\nX-Obs: caf\xc3\xa9\xff\r\n\r\n"),
	OK(H11 "X-Trail: v   \t\r\n\r\n"),
	OK(H11 "!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n"),
	/* Pipelining: only the first block counts; the rest is not read. */
	OK_TAIL(WRK_GET WRK_GET, sizeof(WRK_GET) - 1),
	OK_TAIL(WRK_GET "\x01\x02garbage", 9),
	OK_TAIL(WRK_GET "GET", 3),

	/* Garbage is rejected at once. */
	ERR("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", RS_FRAME_BAD),
	ERR("\x80\xff\xfe binary", RS_FRAME_BAD),
	ERR("G\x00T / HTTP/1.1\r\n\r\n", RS_FRAME_BAD),
	ERR(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("\r\r\n", RS_FRAME_BAD),
	ERR("\r\nGE\rT", RS_FRAME_BAD),
	/* Request line shape. */
	ERR("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", RS_FRAME_VERSION),
	ERR("GET / HTTP/0.9\r\n\r\n", RS_FRAME_VERSION),
	ERR("GET / HTTP/3.0\r\nHost: a\r\n\r\n", RS_FRAME_VERSION),
	ERR("GET / HTTP/2.0x\r\n\r\n", RS_FRAME_BAD),
	ERR("GET /\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET / http/1.1\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET HTTP/1.1\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET / HTTP/1.10\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET / HTTP/1\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET / HTTP/1.1\rHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("/ HTTP/1.1\r\nHost: a\r\n\r\n", RS_FRAME_BAD),
	/* Field line shape. */
	ERR(H11 "X-Fold: a\r\n b\r\n\r\n", RS_FRAME_BAD),
	ERR("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET / HTTP/1.1\r\nHost : a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 ": empty name\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "NoColon\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "X-A(b: v\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "X-Nul: a\x00" "b\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "X-Del: a\x7f\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "X-Vt: a\x0b\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "X-Cr: a\rb\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "\r\r\n", RS_FRAME_BAD),
	/* Content-Length. */
	OK_TAIL(H11 "Content-Length: 3\r\ncontent-LENGTH:  3 \r\n\r\nabc", 3),
	OK(H11 "Content-Length: 0005\r\n\r\n"),
	ERR(H11 "Content-Length: 3\r\nContent-Length: 4\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Content-Length:\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Content-Length: -1\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Content-Length: +1\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Content-Length: 1 2\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Content-Length: 3, 3\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Content-Length: 0x10\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Content-Length: 18446744073709551616\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Content-Length: 00000000000000000001\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Content-Length: 9999999999999999999\r\n\r\n",
	    RS_FRAME_BODY_TOO_LARGE),
	ERR(H11 "Content-Length: 1048577\r\n\r\n", RS_FRAME_BODY_TOO_LARGE),
	OK(H11 "Content-Length: 1048576\r\n\r\n"),
	/* A bad block is bad before its body is too large. */
	ERR("GET / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", RS_FRAME_BAD),
	/* Transfer-Encoding. */
	OK(H11 "Transfer-Encoding: chunked\r\n\r\n"),
	OK(H11 "Transfer-Encoding: gzip , CHUNKED \r\n\r\n"),
	OK(H11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
	ERR(H11 "Transfer-Encoding: chunked, gzip\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
	    RS_FRAME_BAD),
	ERR(H11 "Transfer-Encoding: gzip\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Transfer-Encoding: chunkedx\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Transfer-Encoding:\r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Transfer-Encoding: , \r\n\r\n", RS_FRAME_BAD),
	ERR(H11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	    RS_FRAME_BAD),
	ERR(H11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	    RS_FRAME_BAD),
	ERR("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	    RS_FRAME_BAD),
	/* Host (RFC 9112 3.2). */
	ERR("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", RS_FRAME_BAD),
	ERR("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", RS_FRAME_BAD),
	ERR("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", RS_FRAME_BAD),
	OK("GET / HTTP/1.1\r\nHost:\r\n\r\n"),
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct frame_case *c = &cases[i];
		int expect = c->expect > 0 ? (int)(c->len - c->tail)
					   : c->expect;
		struct rs_request req;
		int r = frame_guarded(c->input, c->len, MAX_HEADER, MAX_BODY,
				      &req);
		if (r != expect)
			fprintf(stderr, "case %zu: got %d, want %d\n", i, r,
				expect);
		CHECK(r == expect);
		CHECK(prefixes_agree(c->input, c->len));
	}
}

/* Garbage is judged on its first byte, not after max_header bytes. */
static void test_reject_early(void)
{
	struct rs_request req;

	CHECK(frame_guarded("\x16", 1, MAX_HEADER, MAX_BODY, &req) ==
	      RS_FRAME_BAD);
	CHECK(frame_guarded("\0", 1, MAX_HEADER, MAX_BODY, &req) ==
	      RS_FRAME_BAD);
	CHECK(frame(H11 "X: a\x01", &req) == RS_FRAME_BAD);
	CHECK(frame("GET / HTTP/1.1\r\nHost: a\r\n\r", &req) ==
	      RS_FRAME_MORE);
	CHECK(frame("PRI * HTTP/2.0", &req) == RS_FRAME_MORE);
}

static void test_fields(void)
{
	struct rs_request req;

	memset(&req, 0xaa, sizeof(req));
	CHECK(frame(CURL_GET, &req) == (int)strlen(CURL_GET));
	CHECK(req.minor_version == 1 && req.is_head == 0);
	CHECK(req.content_length == 0 && req.chunked == 0);
	CHECK(req.connection == RS_CONN_DEFAULT);

	CHECK(frame("GET / HTTP/1.0\r\n\r\n", &req) > 0);
	CHECK(req.minor_version == 0 && req.connection == RS_CONN_DEFAULT);
	CHECK(frame("GET / HTTP/1.7\r\nHost: a\r\n\r\n", &req) > 0);
	CHECK(req.minor_version == 1);

	CHECK(frame("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", &req) > 0);
	CHECK(req.is_head == 1);
	CHECK(frame("head / HTTP/1.1\r\nHost: a\r\n\r\n", &req) > 0);
	CHECK(req.is_head == 0);
	CHECK(frame("HEADS / HTTP/1.1\r\nHost: a\r\n\r\n", &req) > 0);
	CHECK(req.is_head == 0);

	CHECK(frame("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
		    "hello", &req) > 0);
	CHECK(req.content_length == 5 && req.chunked == 0);
	CHECK(frame(H11 "Content-Length: 0005\r\n\r\n", &req) > 0);
	CHECK(req.content_length == 5);
	CHECK(frame(H11 "Transfer-Encoding: gzip, chunked\r\n\r\n", &req) > 0);
	CHECK(req.chunked == 1 && req.content_length == 0);

	/* Nothing is written unless a block is complete. */
	memset(&req, 0x55, sizeof(req));
	CHECK(frame("GET / HTTP/1.1\r\n", &req) == RS_FRAME_MORE);
	CHECK(frame("\x01", &req) == RS_FRAME_BAD);
	CHECK(req.content_length == 0x5555555555555555ULL);
	CHECK(req.is_head == 0x55 && req.connection == 0x55);
}

static int connection_of(const char *fields)
{
	char buf[512];
	struct rs_request req;

	snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n%s\r\n",
		 fields);
	if (frame(buf, &req) <= 0)
		return -1;
	return req.connection;
}

/* The path routes match: the target without its query, and for an
 * absolute-form target without scheme and authority. */
static int path_is(const char *request, const char *want)
{
	struct rs_request req;
	int r = frame(request, &req);

	return r > 0 && req.path_len == strlen(want) &&
	       !memcmp(guard_end - strlen(request) + req.path_off, want, req.path_len);
}

static void test_paths(void)
{
	CHECK(path_is("GET /a/b HTTP/1.1\r\nHost: a\r\n\r\n", "/a/b"));
	CHECK(path_is("GET /a/b?x=1&y=/z HTTP/1.1\r\nHost: a\r\n\r\n", "/a/b"));
	CHECK(path_is("GET /? HTTP/1.1\r\nHost: a\r\n\r\n", "/"));
	CHECK(path_is("GET http://h.example:8080/a/b?q HTTP/1.1\r\nHost: a\r\n\r\n", "/a/b"));
	CHECK(path_is("GET http://h.example HTTP/1.1\r\nHost: a\r\n\r\n", "")); /* stands for "/" */
	CHECK(path_is("GET http://h.example?to=/x HTTP/1.1\r\nHost: a\r\n\r\n", ""));
	CHECK(path_is("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "*"));
	CHECK(path_is("GET /%2e%2e/a/./b#f HTTP/1.1\r\nHost: a\r\n\r\n", "/%2e%2e/a/./b#f"));
	CHECK(path_is("\r\nGET /after-empty-line HTTP/1.1\r\nHost: a\r\n\r\n", "/after-empty-line"));
	/* A "://" that is not a scheme's, in a query or a path, is not absolute-form. */
	CHECK(path_is("GET x?u=http://h/api HTTP/1.1\r\nHost: a\r\n\r\n", "x"));
	CHECK(path_is("GET /r?u=http://h/api HTTP/1.1\r\nHost: a\r\n\r\n", "/r"));
	CHECK(path_is("GET a/b://h/api HTTP/1.1\r\nHost: a\r\n\r\n", "a/b://h/api"));
	CHECK(path_is("GET 1http://h/api HTTP/1.1\r\nHost: a\r\n\r\n", "1http://h/api"));
	CHECK(path_is("GET svn+ssh.v2://h/api?x HTTP/1.1\r\nHost: a\r\n\r\n", "/api"));
	CHECK(path_is("GET HTTPS://H/Api HTTP/1.1\r\nHost: a\r\n\r\n", "/Api"));
}

static void test_connection(void)
{
	CHECK(connection_of("") == RS_CONN_DEFAULT);
	CHECK(connection_of("Connection: close\r\n") == RS_CONN_CLOSE);
	CHECK(connection_of("connection: CLOSE\r\n") == RS_CONN_CLOSE);
	CHECK(connection_of("Connection: keep-alive\r\n") ==
	      RS_CONN_KEEP_ALIVE);
	CHECK(connection_of("Connection: Keep-Alive, Upgrade\r\n") ==
	      RS_CONN_KEEP_ALIVE);
	CHECK(connection_of("Connection: keep-alive, close\r\n") ==
	      RS_CONN_CLOSE);
	CHECK(connection_of("Connection: close\r\n"
			    "Connection: keep-alive\r\n") ==
	      RS_CONN_CLOSE);
	CHECK(connection_of("Connection: Upgrade\r\n"
			    "Connection:keep-alive\r\n") ==
	      RS_CONN_KEEP_ALIVE);
	CHECK(connection_of("Connection: ,, close ,\r\n") == RS_CONN_CLOSE);
	CHECK(connection_of("Connection: Upgrade\r\n") == RS_CONN_DEFAULT);
	CHECK(connection_of("Connection: closed, keep-aliveX\r\n") ==
	      RS_CONN_DEFAULT);
	CHECK(connection_of("Connection:\r\n") == RS_CONN_DEFAULT);
	CHECK(connection_of("X-Connection: close\r\n") == RS_CONN_DEFAULT);
}

/* Frames tmpl with its '@' replaced by byte b. */
static int accepts_byte(const char *tmpl, int b)
{
	struct rs_request req;
	char buf[64];
	size_t n = strlen(tmpl);

	memcpy(buf, tmpl, n);
	*(char *)memchr(buf, '@', n) = (char)b;
	return frame_guarded(buf, n, MAX_HEADER, MAX_BODY, &req) > 0;
}

/* Each byte value in each position, against the grammar's own sets. */
static void test_byte_classes(void)
{
	static const char tchar_extra[] = "!#$%&'*+-.^_`|~";

	for (int b = 0; b < 256; b++) {
		int alnum = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') ||
			    (b >= 'A' && b <= 'Z');
		int tchar = alnum || (b && strchr(tchar_extra, b));
		int vchar = b >= 0x21 && b <= 0x7e;
		int value = vchar || b >= 0x80 || b == ' ' || b == '\t';

		CHECK(accepts_byte("G@T / HTTP/1.0\r\n\r\n", b) == tchar);
		CHECK(accepts_byte("GET /@ HTTP/1.0\r\n\r\n", b) == vchar);
		/* ':' would just end the name early. */
		CHECK(b == ':' ||
		      accepts_byte("GET / HTTP/1.0\r\nX@: v\r\n\r\n", b) ==
			      tchar);
		/* CR and LF end the value instead. */
		CHECK(b == '\r' || b == '\n' ||
		      accepts_byte("GET / HTTP/1.0\r\nX: a@b\r\n\r\n", b) ==
			      value);
	}
}

/* The same in long targets and values, the byte at every offset of the
 * words the framer skips eight at a time. */
static void test_byte_classes_in_words(void)
{
	static const char target[] = "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.0\r\n\r\n";
	static const char value[] = "GET / HTTP/1.0\r\nX: vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\r\n\r\n";
	char tmpl[sizeof(value)];

	for (size_t at = 0; at < 32; at++) {
		for (int b = 0; b < 256; b++) {
			int vchar = b >= 0x21 && b <= 0x7e;
			int ok_value = vchar || b >= 0x80 || b == ' ' || b == '\t';

			memcpy(tmpl, target, sizeof(target));
			tmpl[5 + at] = '@';
			CHECK(accepts_byte(tmpl, b) == vchar);
			memcpy(tmpl, value, sizeof(value));
			tmpl[19 + at] = '@';
			CHECK(b == '\r' || b == '\n' || accepts_byte(tmpl, b) == ok_value);
		}
	}
}

/* A request of exactly len bytes: padding in an X-Pad field. */
static size_t build_request(char *buf, size_t len, const char *lead)
{
	static const char head[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
	size_t fixed = strlen(lead) + sizeof(head) - 1 + 4;

	if (len < fixed)
		return 0;
	size_t pos = (size_t)sprintf(buf, "%s%s", lead, head);
	memset(buf + pos, 'p', len - fixed);
	memcpy(buf + pos + len - fixed, "\r\n\r\n", 4);
	return len;
}

static void test_limits(void)
{
	static char buf[1 << 16];
	struct rs_request req;
	size_t n = build_request(buf, 1000, "");

	CHECK(n == 1000);
	CHECK(frame_guarded(buf, n, 1000, MAX_BODY, &req) == 1000);
	CHECK(frame_guarded(buf, n, 999, MAX_BODY, &req) ==
	      RS_FRAME_HEADER_TOO_LARGE);
	CHECK(frame_guarded(buf, n, 1001, MAX_BODY, &req) == 1000);
	/* Incomplete: MORE below the limit, TOO_LARGE once it is reached. */
	CHECK(frame_guarded(buf, 998, 1000, MAX_BODY, &req) == RS_FRAME_MORE);
	CHECK(frame_guarded(buf, 999, 1000, MAX_BODY, &req) == RS_FRAME_MORE);
	CHECK(frame_guarded(buf, 999, 999, MAX_BODY, &req) ==
	      RS_FRAME_HEADER_TOO_LARGE);
	CHECK(frame_guarded(buf, 0, 0, MAX_BODY, &req) ==
	      RS_FRAME_HEADER_TOO_LARGE);
	CHECK(frame_guarded(buf, 0, 1, MAX_BODY, &req) == RS_FRAME_MORE);

	/* Leading empty lines count against the limit. */
	n = build_request(buf, 1000, "\r\n\r\n");
	CHECK(n == 1000);
	CHECK(frame_guarded(buf, n, 1000, MAX_BODY, &req) == 1000);
	CHECK(frame_guarded(buf, n, 999, MAX_BODY, &req) ==
	      RS_FRAME_HEADER_TOO_LARGE);

	/* A bad byte inside the limit wins; one beyond it is never seen. */
	n = build_request(buf, 1000, "");
	buf[500] = '\x01';
	CHECK(frame_guarded(buf, n, 999, MAX_BODY, &req) == RS_FRAME_BAD);
	buf[500] = 'p';
	buf[999] = '\x01';
	CHECK(frame_guarded(buf, n, 999, MAX_BODY, &req) ==
	      RS_FRAME_HEADER_TOO_LARGE);

	/* A whole page: the longest block the guard page can hold. */
	n = page_size < sizeof(buf) ? page_size : sizeof(buf);
	n = build_request(buf, n, "");
	CHECK(frame_guarded(buf, n, page_size, MAX_BODY, &req) == (int)n);
	CHECK(frame_guarded(buf, n, n - 1, MAX_BODY, &req) ==
	      RS_FRAME_HEADER_TOO_LARGE);
	CHECK(rs_frame((const uint8_t *)buf, n, SIZE_MAX, MAX_BODY, &req) ==
	      (int)n);

	/* max_body: the limit is inclusive. */
	CHECK(frame_max_body(H11 "Content-Length: 10\r\n\r\n", 10, &req) > 0);
	CHECK(frame_max_body(H11 "Content-Length: 11\r\n\r\n", 10, &req) ==
	      RS_FRAME_BODY_TOO_LARGE);
	CHECK(frame_max_body(H11 "Content-Length: 9999999999999999999\r\n\r\n",
			     UINT64_MAX, &req) > 0);
	CHECK(req.content_length == 9999999999999999999ULL);
}

int run_http_tests(void)
{
	if (setup_guard_page()) {
		perror("mmap");
		return -1;
	}
	test_cases();
	test_reject_early();
	test_fields();
	test_connection();
	test_paths();
	test_byte_classes();
	test_byte_classes_in_words();
	test_limits();
	return 0;
}
