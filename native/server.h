/* The server's data, shared by every unit that builds or runs it: the rings,
 * their connection tables and counters, the user_data layout. Types and
 * inline helpers only: each unit's functions are declared in its own header,
 * so that which unit calls which is its #include lines, and that graph has no
 * cycle (test/native/layering.test.ts). Nothing here is ABI; see ringside.h. */
#ifndef RINGSIDE_SERVER_H
#define RINGSIDE_SERVER_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "conn.h"
#include "policy.h"
#include "ringside.h"

#define RS_EXPORT __attribute__((visibility("default")))

/* Timer sweep period: a state outlives its bound by at most this. */
#define RS_TICK_MS 100
/* Pause before accepting again after EMFILE/ENOMEM. */
#define RS_ACCEPT_BACKOFF_MS 100
/* Single-shot accepts kept in flight; each one holds a free slot, so
 * accepting can never overfill the connection table (see add_accept). */
#define RS_ACCEPT_DEPTH 16
/* A close is linked behind the last send only while this many slots stay
 * free: the kernel frees a linked close's slot at a time we cannot see. */
#define RS_LINK_CLOSE_HEADROOM 512
/* Batch mode: completions one wait may gather, and how long it may wait. */
#define RS_BATCH_MAX 32
#define RS_BATCH_WAIT_US 200
/* After the drain timeout, how long cancelled operations may take to finish. */
#define RS_HARD_STOP_MS 1000

/* user_data layout: bits 63..56 op type, 55..32 connection generation,
 * 31..0 connection index. The generation drops CQEs of a previous tenant of
 * a reused slot (completions only: see close_conn for submissions). */
enum op_type { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_CLOSE, OP_CANCEL, OP_SHUTDOWN, OP_WAKE, OP_DELAY };
/* A connection's operations in flight, one bit per type (at most one each). */
#define OPB(t) ((uint16_t)(1u << (t)))
/* Every op type has its bit in conn.ops (a u8 once lost OP_DELAY's: delays
 * of clients that left were never cancelled). */
_Static_assert(OP_DELAY < 16, "conn.ops is too narrow for every op type");

static inline uint64_t encode_ud(enum op_type t, uint32_t gen, uint32_t idx)
{
	return ((uint64_t)t << 56) | ((uint64_t)(gen & 0xffffff) << 32) | idx;
}
static inline enum op_type ud_type(uint64_t ud) { return (enum op_type)(ud >> 56); }
static inline uint32_t ud_gen(uint64_t ud) { return (uint32_t)(ud >> 32) & 0xffffff; }
static inline uint32_t ud_idx(uint64_t ud) { return (uint32_t)ud; }

#define RS_NO_BUF 0xffff

/* Pieces of a reply put together when sent: "HTTP/1.x ", the status line,
 * the header tail, the Content-length line, the body. */
#define RS_REPLY_IOVS 5
/* "Content-length: 4294967295\r\n\r\n" and its NUL. */
#define RS_LENGTH_LINE 40

/* A pipelined batch's sendmsg, or one reply put together from parts: lent
 * from a pool while the send is in flight, so that a connection answering
 * one prebuilt reply at a time carries none. */
struct sendvec {
	struct msghdr msg;
	struct iovec iov[RS_MAX_IOV * RS_REPLY_IOVS];
	char length_line[RS_MAX_IOV][RS_LENGTH_LINE];
};

/* One connection slot: the HTTP state machine plus the I/O that serves it. */
struct conn {
	struct conn_http http;
	uint32_t gen;
	int fd;                /* fixed file index, or a real fd without fixed files */
	uint16_t ops;          /* OPB() of each operation not yet completed; the
				* slot is closed and reused only once it is 0 */
	bool close_linked;     /* a close is linked behind the queued send */
	bool multishot;        /* the recv in flight is a multishot one */
	bool paused;           /* we cancelled the multishot: too much input held */
	bool starved;          /* the buffer ring ran dry under it: re-armed later */
	bool eof_pending;      /* the peer's EOF, after input still held */
	bool reset;            /* fault=reset: the close sends an RST */
	uint16_t held_head;    /* provided buffers with input it could not take yet */
	uint16_t held_tail;
	uint16_t held_count;
	uint16_t held_off;     /* bytes of the head buffer already taken */
	uint32_t sent;         /* bytes of a single reply already sent */
	struct __kernel_timespec delay; /* DELAYING: the timeout, read by the kernel */
	struct sendvec *vec;   /* a pipelined batch in flight, or NULL */
};

struct blob { const uint8_t *ptr; uint32_t len; };

/* A response's parts, for replies put together when sent (send.c). */
struct parts {
	struct blob tail[RS_RESP_KINDS]; /* header lines after the status line, no Content-length */
	struct blob body;
	bool body_reason;                /* a drawn status's body is its reason phrase */
};

/* Status codes are below this. */
#define RS_STATUS_CODES 600

/* Provided buffers (a buffer ring, IORING_REGISTER_PBUF_RING): the kernel
 * picks one for each receive as data arrives, so an idle connection holds no
 * input buffer. Buffers with input a connection cannot take yet are held,
 * chained per connection through next[]. */
struct bufring {
	struct io_uring_buf_ring *br;
	size_t br_len;
	uint8_t *mem;
	size_t mem_len;
	uint32_t count;            /* a power of two */
	uint32_t size;             /* bytes each */
	uint32_t out;              /* handed to us by the kernel, not yet given back */
	uint16_t *next;            /* held chains, by buffer id */
	uint32_t *len;             /* bytes of input in a held buffer */
};

/* Fixed-size chunks lent out and given back (own input buffers, sendvecs):
 * one lazily backed mapping, a free stack. */
struct pool {
	uint8_t *mem;
	size_t mem_len;
	uint32_t size;
	uint32_t *free;
	uint32_t nfree;
};

/* One ring and the thread that runs it: its own io_uring, listening socket,
 * connection table and counters. Nothing in it is shared with another ring. */
struct ring {
	const struct rs_server *srv;
	uint32_t index;
	int32_t cpu;               /* pin the ring thread here, or RS_NO_CPU */
	int32_t sq_cpu;            /* pin its SQPOLL thread here, or RS_NO_CPU */
	char name[16];             /* thread name, as tools see it */
	struct io_uring uring;
	int listen_fd;
	int wake_fd;
	uint64_t wake_buf;
	uint32_t features;
	bool fixed_files;
	uint32_t accepts_inflight; /* single-shot accepts armed */
	uint64_t accept_resume_ms; /* backoff after EMFILE/ENOMEM, 0 if none */

	uint32_t nconns;
	struct conn *conns;
	uint32_t *free_slots;      /* slot stack, used without fixed files */
	uint32_t nfree;
	bool provided;             /* input arrives in bufs (else in own buffers) */
	bool use_multishot;        /* keep-alive connections read with one multishot recv */
	struct bufring bufs;
	struct pool inputs;        /* own input buffers, conn_env.buf_cap bytes */
	struct pool vecs;          /* struct sendvec */
	uint32_t nstarved;         /* connections waiting for provided buffers */
	uint32_t starve_cursor;    /* where feed_starved looks next */

	uint64_t now_ms;
	uint64_t next_tick_ms;
	uint64_t last_activity_ms;
	uint32_t idle_spins;       /* empty turns of a spinning loop, for the clock */
	uint64_t drain_deadline_ms;
	bool draining;
	bool done;

	pthread_t thread;
	int setup_result;          /* ring thread -> rs_start */
	int setup_done;
	bool thread_failed;        /* pthread_create failed: nothing to join */
	enum rs_step step;         /* the failed setup step */
	char error[160];

	uint64_t *route_requests;  /* requests by route, 0 the default (rs_route_requests) */
	uint64_t *route_outcomes;  /* ... and by what they came to (rs_route_outcomes) */
	uint64_t rng;              /* the policy's draws (policy.h: rs_rand) */
	struct rs_counters ctr __attribute__((aligned(64)));
};

struct rs_server {
	struct rs_config cfg;
	struct rs_policy policy;
	struct conn_bounds bounds; /* each state's clock (conn.h), from cfg */
	struct blob *replies;      /* by reply id (policy.h), rs_replies(routes) of them */
	struct rs_route_match *routes;
	struct rs_outcome *outcomes; /* what each response is drawn from: [0] default, [r] route r */
	struct parts *parts;       /* ... and put together from */
	struct blob status_line[RS_STATUS_CODES]; /* "503 Service Unavailable\r\n", len 0 if not in the table */
	struct blob reason_body[RS_STATUS_CODES]; /* "Service Unavailable\n" */
	uint16_t status_index[RS_STATUS_CODES];   /* the code's line in the table, or RS_NO_STATUS */
	uint32_t nstatuses;
	uint8_t *generated;        /* the bytes every generated body is cut from */
	size_t generated_len;
	uint8_t *reply_mem;        /* what replies and routes point into */
	uint32_t stop_drain_ms;
	int stop_requested;        /* written by the JS thread, read atomically */
	uint32_t features;         /* server-wide: reuseport, cpu_steering */
	uint32_t nrings;
	struct ring *rings;
};

/* Counters are read by JS concurrently: relaxed atomic stores, no tearing. */
#define CTR_ADD(r, f, v) \
	__atomic_store_n(&(r)->ctr.f, (r)->ctr.f + (uint64_t)(v), __ATOMIC_RELAXED)
#define CTR_SET(r, f, v) __atomic_store_n(&(r)->ctr.f, (uint64_t)(v), __ATOMIC_RELAXED)

/* Coarse clock: served from the vDSO without reading hardware, so the spin
 * loop can check it without a system call whatever the clocksource. */
static inline uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
