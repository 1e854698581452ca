/* Shared between setup.c (building the server) and ring.c (running it).
 * Nothing here is ABI; see ringside.h for that. */
#ifndef RINGSIDE_RING_INTERNAL_H
#define RINGSIDE_RING_INTERNAL_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "ringside.h"

#define RS_EXPORT __attribute__((visibility("default")))

/* Responses answered with one sendmsg per batch of pipelined requests. */
#define RS_MAX_IOV 32
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

enum rs_error_kind { RS_ERR_400, RS_ERR_413, RS_ERR_431, RS_ERR_505, RS_ERR_KINDS };

/* user_data layout: bits 63..56 op type, 55..32 connection generation,
 * 31..0 connection index. The generation drops CQEs of a previous tenant of
 * a reused slot. */
enum op_type { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_CLOSE, OP_CANCEL, OP_SHUTDOWN, OP_WAKE };

static inline uint64_t encode_ud(enum op_type t, uint32_t gen, uint32_t idx)
{
	return ((uint64_t)t << 56) | ((uint64_t)(gen & 0xffffff) << 32) | idx;
}
static inline enum op_type ud_type(uint64_t ud) { return (enum op_type)(ud >> 56); }
static inline uint32_t ud_gen(uint64_t ud) { return (uint32_t)(ud >> 32) & 0xffffff; }
static inline uint32_t ud_idx(uint64_t ud) { return (uint32_t)ud; }

enum conn_state {
	CONN_FREE = 0,
	CONN_READING,   /* recv armed, waiting for (more of) a request */
	CONN_SENDING,   /* sendmsg armed */
	CONN_LINGERING, /* write side shut; reading until EOF before close */
	CONN_CLOSING,   /* closed by us; waiting for its last operations */
};

struct conn {
	uint8_t *buf;          /* max_header_bytes, preallocated */
	uint32_t len;          /* bytes held in buf */
	uint32_t gen;
	enum conn_state state;
	int fd;                /* fixed file index, or a real fd without fixed files */
	uint64_t skip;         /* request body bytes still to discard */
	uint64_t deadline_ms;  /* header, idle or linger deadline */
	uint32_t served;       /* requests answered */
	uint8_t inflight;      /* operations on fd not yet completed */
	int16_t pending_kind;  /* response owed once the body is read, or -1 */
	bool close_after;      /* close once the queued responses are sent */
	bool linger;           /* input may be unread: shut down and drain first */
	bool expired;          /* a timeout cancelled its recv or send */
	bool close_linked;     /* a close is linked behind the queued send */
	struct msghdr msg;
	struct iovec iov[RS_MAX_IOV];
	uint32_t niov;         /* responses queued in iov */
};

struct blob { const uint8_t *ptr; uint32_t len; };

struct rs_server {
	struct rs_config cfg;
	struct io_uring ring;
	int listen_fd;
	int wake_fd;
	uint64_t wake_buf;
	uint32_t features;
	bool fixed_files;
	uint32_t accepts_inflight; /* single-shot accepts armed */
	bool accept_paused;        /* no free slot: re-armed when one frees */
	uint64_t accept_resume_ms; /* backoff after EMFILE/ENOMEM, 0 if none */

	struct conn *conns;
	uint32_t *free_slots;      /* slot stack, used without fixed files */
	uint32_t nfree;
	uint8_t *buf_slab;
	size_t buf_slab_len;

	struct blob resp[RS_RESP_KINDS];
	struct blob err[RS_ERR_KINDS];
	uint8_t err_mem[512];
	uint8_t *resp_mem;

	uint64_t now_ms;
	uint64_t next_tick_ms;
	uint64_t last_activity_ms;
	uint64_t drain_deadline_ms;
	uint32_t stop_drain_ms;
	int stop_requested;        /* written by JS thread, read atomically */
	bool draining;
	bool done;

	pthread_t thread;
	int setup_result;          /* ring thread -> rs_start */
	int setup_done;
	char error[160];

	struct rs_counters ctr __attribute__((aligned(64)));
};

/* Counters are read by JS concurrently: relaxed atomic stores, no tearing. */
#define CTR_ADD(s, f, v) \
	__atomic_store_n(&(s)->ctr.f, (s)->ctr.f + (uint64_t)(v), __ATOMIC_RELAXED)
#define CTR_SET(s, f, v) __atomic_store_n(&(s)->ctr.f, (uint64_t)(v), __ATOMIC_RELAXED)

/* setup.c */
int setup_errors(struct rs_server *s);
int setup_listener(struct rs_server *s);
int setup_conns(struct rs_server *s);
int setup_ring(struct rs_server *s);
void set_error(struct rs_server *s, const char *step, int err);
uint64_t now_ms(void);

/* ring.c */
void *ring_thread_main(void *arg);

#endif
