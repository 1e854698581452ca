/* libFuzzer target for rs_frame(). Besides memory safety (ASan/UBSan) it
 * checks the contract in http.h:
 *   - the verdict is MORE, a known error, or 0 < r <= min(len, max_header);
 *   - the same bytes give the same verdict and the same request;
 *   - a complete block framed alone gives the same length again;
 *   - shorter prefixes of a complete block only ever say MORE.
 * Prefixes are copied to exact-size heap buffers so ASan sees any read past
 * the length given.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER 8192
#define MAX_BODY (1024 * 1024)

#define REQUIRE(cond)                                                    \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
				__FILE__, __LINE__, #cond);              \
			abort();                                         \
		}                                                        \
	} while (0)

static int known_verdict(int r, size_t len)
{
	size_t limit = len < MAX_HEADER ? len : MAX_HEADER;

	switch (r) {
	case RS_FRAME_MORE:
	case RS_FRAME_BAD:
	case RS_FRAME_HEADER_TOO_LARGE:
	case RS_FRAME_BODY_TOO_LARGE:
	case RS_FRAME_VERSION:
		return 1;
	default:
		return r > 0 && (size_t)r <= limit;
	}
}

static int same_request(const struct rs_request *a, const struct rs_request *b)
{
	return a->content_length == b->content_length &&
	       a->is_head == b->is_head &&
	       a->minor_version == b->minor_version &&
	       a->connection == b->connection && a->chunked == b->chunked;
}

/* rs_frame on a private copy of exactly len bytes. */
static int frame_copy(const uint8_t *data, size_t len, struct rs_request *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	REQUIRE(copy != NULL);
	memcpy(copy, data, len);
	r = rs_frame(copy, len, MAX_HEADER, MAX_BODY, out);
	free(copy);
	return r;
}

static void check_complete(const uint8_t *data, int r,
			   const struct rs_request *req)
{
	struct rs_request again;
	size_t n = (size_t)r;
	/* A few prefixes: the edges and two spread by the input itself. */
	size_t cuts[] = { 0, 1, n / 2, n - 1, data[0] % n, data[n - 1] % n };

	REQUIRE(frame_copy(data, n, &again) == r);
	REQUIRE(same_request(req, &again));
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (cuts[i] >= n)
			continue;
		REQUIRE(frame_copy(data, cuts[i], &again) == RS_FRAME_MORE);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rs_request req, req2;
	int r = rs_frame(data, size, MAX_HEADER, MAX_BODY, &req);

	REQUIRE(known_verdict(r, size));
	REQUIRE(rs_frame(data, size, MAX_HEADER, MAX_BODY, &req2) == r);
	if (r > 0) {
		REQUIRE(same_request(&req, &req2));
		check_complete(data, r, &req);
	}
	return 0;
}
