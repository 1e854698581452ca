/* ringside ABI: the single source of truth for what JavaScript and the ring
 * thread share. src/native.ts mirrors these layouts; rs_layout() describes
 * them at run time so a test can check the mirror.
 *
 * Return convention (as liburing): 0 or a count on success, -errno on failure.
 * Every rs_* function is called from the JS thread only; the ring thread
 * never calls into JS, it only writes the counters block.
 */
#ifndef RINGSIDE_H
#define RINGSIDE_H

#include <stdint.h>

#define RS_ABI_VERSION 1

enum rs_mode {
	RS_MODE_SPIN = 0,   /* SQPOLL + userspace busy loop, parks after spin budget */
	RS_MODE_SQPOLL = 1, /* SQPOLL + blocking waits */
	RS_MODE_BATCH = 2,  /* no SQPOLL: submit_and_wait batching */
};

/* The canned response in every variant the server may need, prebuilt by JS.
 * HEAD variants hold the header block only. */
enum rs_response_kind {
	RS_RESP_CLOSE_10 = 0, /* HTTP/1.0, closes (the default response) */
	RS_RESP_KEEP_10,      /* HTTP/1.0 + Connection: keep-alive */
	RS_RESP_CLOSE_11,     /* HTTP/1.1 + Connection: close */
	RS_RESP_KEEP_11,      /* HTTP/1.1, persistent */
	RS_RESP_HEAD_CLOSE_10,
	RS_RESP_HEAD_KEEP_10,
	RS_RESP_HEAD_CLOSE_11,
	RS_RESP_HEAD_KEEP_11,
	RS_RESP_KINDS
};

#define RS_SPIN_FOREVER UINT32_MAX
#define RS_NO_CPU (-1)

/* X(type, name, array_len): array_len 0 for scalars. Field order is ABI. */
#define RS_CONFIG_FIELDS(X)                                              \
	X(char, host, 64)             /* numeric IPv4 or IPv6 address */ \
	X(uint32_t, port, 0)          /* 0: kernel picks, see rs_port */ \
	X(uint32_t, mode, 0)          /* enum rs_mode */                 \
	X(uint32_t, entries, 0)       /* SQ entries */                   \
	X(int32_t, sq_cpu, 0)         /* SQPOLL thread CPU or RS_NO_CPU */\
	X(int32_t, ring_cpu, 0)       /* ring thread CPU or RS_NO_CPU */ \
	X(uint32_t, sq_idle_ms, 0)    /* SQPOLL thread idle before sleep */\
	X(uint32_t, spin_budget_ms, 0) /* idle spin before park; RS_SPIN_FOREVER */\
	X(uint32_t, max_connections, 0)                                  \
	X(uint32_t, backlog, 0)                                          \
	X(uint32_t, max_header_bytes, 0)                                 \
	X(uint32_t, max_body_bytes, 0)                                   \
	X(uint32_t, keep_alive, 0)    /* 0: HTTP/1.0 + close always */   \
	X(uint32_t, max_requests, 0)  /* per connection, 0 = unlimited */ \
	X(uint32_t, idle_timeout_ms, 0)                                  \
	X(uint32_t, header_timeout_ms, 0)                                \
	X(uint32_t, reserved, 0)                                         \
	X(uint64_t, response_ptr, RS_RESP_KINDS) /* copied at start */   \
	X(uint64_t, response_len, RS_RESP_KINDS)

/* X(name). Every counter is a u64 written only by the ring thread. */
#define RS_COUNTER_FIELDS(X)                                              \
	X(state)            /* enum rs_state */                           \
	X(accepted)                                                       \
	X(active)           /* connections open now */                    \
	X(requests)         /* complete requests read */                  \
	X(responses)        /* responses fully sent, errors included */   \
	X(bytes_sent)                                                     \
	X(bad_requests)     /* 400 and 505 */                             \
	X(too_large)        /* 413 and 431 */                             \
	X(accept_errors)                                                  \
	X(accept_backoffs)  /* EMFILE/ENFILE/ENOMEM: paused accepting */  \
	X(recv_errors)                                                    \
	X(send_errors)                                                    \
	X(client_resets)    /* ECONNRESET/EPIPE from the peer */          \
	X(client_eof_early) /* peer closed before a complete request */   \
	X(header_timeouts)                                                \
	X(idle_timeouts)                                                  \
	X(lingering_closes) /* closed after draining unread input */      \
	X(sq_full)                                                        \
	X(cq_overflow)                                                    \
	X(parks)            /* blocking waits */                          \
	X(loops)            /* ring loop iterations */

enum rs_state {
	RS_STATE_STARTING = 0,
	RS_STATE_RUNNING = 1,
	RS_STATE_DRAINING = 2,
	RS_STATE_STOPPED = 3,
};

/* Features actually in use, as bits of rs_features(). */
enum rs_feature {
	RS_FEAT_SQPOLL = 1u << 0,
	RS_FEAT_SQ_AFF = 1u << 1,
	RS_FEAT_SINGLE_ISSUER = 1u << 2,
	RS_FEAT_DEFER_TASKRUN = 1u << 3,
	RS_FEAT_COOP_TASKRUN = 1u << 4,
	RS_FEAT_FIXED_FILES = 1u << 5,
	RS_FEAT_RING_AFF = 1u << 6,
	RS_FEAT_NODROP = 1u << 7,
};

#define RS_X_CONFIG_MEMBER(type, name, n) type name RS_X_DIM_##n;
#define RS_X_DIM_0
#define RS_X_DIM_64 [64]
#define RS_X_DIM_RS_RESP_KINDS [RS_RESP_KINDS]
struct rs_config {
	RS_CONFIG_FIELDS(RS_X_CONFIG_MEMBER)
};

#define RS_X_COUNTER_MEMBER(name) uint64_t name;
struct rs_counters {
	RS_COUNTER_FIELDS(RS_X_COUNTER_MEMBER)
};

struct rs_server;

/* Binds, listens, sets up the ring and starts the "ringside-ring" thread;
 * returns once it is serving. *out receives the server handle. On failure
 * rs_last_error() names the step that failed. */
int rs_start(const struct rs_config *cfg, struct rs_server **out);
/* Asks the ring thread to stop accepting and drain; returns at once. The
 * ring thread closes what is still open after drain_ms and sets state to
 * RS_STATE_STOPPED. */
int rs_stop(struct rs_server *s, uint32_t drain_ms);
/* Joins the ring thread and frees everything; the counters die with it. */
int rs_destroy(struct rs_server *s);
int rs_port(const struct rs_server *s);
uint32_t rs_features(const struct rs_server *s);
const struct rs_counters *rs_counters(const struct rs_server *s);
/* "step: reason" for the last failed rs_start, "" if none. */
const char *rs_last_error(void);
/* "config size=N host=O:64 port=O ...;counters size=N state=O ..." */
const char *rs_layout(void);
int rs_abi_version(void);

/* Diagnostics (--doctor): sets up and tears down a throwaway ring with
 * setup_flags (IORING_SETUP_*). On success *features (if not NULL) gets the
 * kernel's IORING_FEAT_* bits and, when ops is not NULL, ops[op] is set to 1
 * for each opcode below ops_len that io_uring_get_probe reports supported.
 * Returns the number of opcodes the kernel knows (last_op + 1), 0 when it
 * cannot be probed, or -errno when io_uring_setup fails. */
int rs_probe(uint32_t setup_flags, uint32_t *features, uint8_t *ops, uint32_t ops_len);

#endif
