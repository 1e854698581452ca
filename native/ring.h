/* Shared between api.c (the exported functions), setup.c (building a ring)
 * and ring.c (running it). Nothing here is ABI; see ringside.h for that. */
#ifndef RINGSIDE_RING_H
#define RINGSIDE_RING_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "conn.h"
#include "policy.h"
#include "ringside.h"

#define RS_EXPORT __attribute__((visibility("default")))

/* How long a closing connection may keep sending before we close anyway. */
#define RS_LINGER_MS 5000
/* Timer sweep period; deadlines are coarse by design (seconds-scale). */
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
enum op_type { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_CLOSE, OP_CANCEL, OP_SHUTDOWN, OP_WAKE };

static inline uint64_t encode_ud(enum op_type t, uint32_t gen, uint32_t idx)
{
	return ((uint64_t)t << 56) | ((uint64_t)(gen & 0xffffff) << 32) | idx;
}
static inline enum op_type ud_type(uint64_t ud) { return (enum op_type)(ud >> 56); }
static inline uint32_t ud_gen(uint64_t ud) { return (uint32_t)(ud >> 32) & 0xffffff; }
static inline uint32_t ud_idx(uint64_t ud) { return (uint32_t)ud; }

/* One connection slot: the HTTP state machine plus the I/O that serves it. */
struct conn {
	struct conn_http http;
	uint32_t gen;
	int fd;                /* fixed file index, or a real fd without fixed files */
	uint8_t inflight;      /* operations on fd not yet completed */
	bool expired;          /* a timeout cancelled its recv or send */
	bool close_linked;     /* a close is linked behind the queued send */
	uint64_t deadline_ms;  /* header, idle or linger deadline */
	struct msghdr msg;
	struct iovec iov[RS_MAX_IOV];
};

struct blob { const uint8_t *ptr; uint32_t len; };

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
	uint8_t *buf_slab;
	size_t buf_slab_len;

	uint64_t now_ms;
	uint64_t next_tick_ms;
	uint64_t last_activity_ms;
	uint64_t drain_deadline_ms;
	bool draining;
	bool done;

	pthread_t thread;
	int setup_result;          /* ring thread -> rs_start */
	int setup_done;
	enum rs_step step;         /* the failed setup step */
	char error[160];

	struct rs_counters ctr __attribute__((aligned(64)));
};

struct rs_server {
	struct rs_config cfg;
	struct rs_policy policy;
	struct blob replies[RS_REPLIES];
	uint8_t *reply_mem;
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

/* setup.c */
int setup_replies(struct rs_server *s);
int check_port_free(struct rs_server *s, struct ring *r0);
int setup_listener(struct ring *r, uint32_t port);
int setup_cpu_steering(struct rs_server *s);
int setup_conns(struct ring *r);
int setup_ring(struct ring *r);
void set_error(struct ring *r, enum rs_step step, int err);
uint64_t now_ms(void);

/* ring.c */
void *ring_thread_main(void *arg);

/* probe.c: the opcodes ring.c submits */
extern const uint8_t rs_ops_used[];
extern const size_t rs_ops_used_len;

#endif
