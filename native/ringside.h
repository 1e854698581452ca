/* ringside ABI: the single source of truth for what JavaScript and the ring
 * threads share. Every struct, enum and constant below is also described at
 * run time by rs_describe() (native/describe.c), and src/native.ts encodes
 * and decodes by name against that description: a new config field is a
 * line here, a line in src/options.ts and the C that uses it.
 *
 * Return convention (as liburing): 0 or a count on success, -errno on failure.
 * Every rs_* function is called from the JS thread only; a ring thread never
 * calls into JS, it only writes its counters block.
 */
#ifndef RINGSIDE_H
#define RINGSIDE_H

#include <stdint.h>

#define RS_ABI_VERSION 5

/* ---- enums: X(C_NAME, name as described) -------------------------------- */

#define RS_MODE_LIST(X)                                                     \
	X(SPIN, spin)     /* SQPOLL + userspace busy loop, parks after the spin budget */ \
	X(SQPOLL, sqpoll) /* SQPOLL + blocking waits */                      \
	X(BATCH, batch)   /* no SQPOLL: submit_and_wait batching */

/* The canned response in every variant the server may need, prebuilt by JS.
 * HEAD variants hold the header block only. */
#define RS_RESPONSE_KIND_LIST(X)                                            \
	X(CLOSE_10, close10)        /* HTTP/1.0, closes (the default response) */ \
	X(KEEP_10, keep10)          /* HTTP/1.0 + Connection: keep-alive */   \
	X(CLOSE_11, close11)        /* HTTP/1.1 + Connection: close */        \
	X(KEEP_11, keep11)          /* HTTP/1.1, persistent */                \
	X(HEAD_CLOSE_10, headClose10)                                        \
	X(HEAD_KEEP_10, headKeep10)                                          \
	X(HEAD_CLOSE_11, headClose11)                                        \
	X(HEAD_KEEP_11, headKeep11)

/* Faults a response can be drawn to be instead (weights in fault_ppm). */
#define RS_FAULT_LIST(X)                                                    \
	X(RESET, reset) /* an RST instead of the response */                 \
	X(CLOSE, close) /* a close (FIN) without the response */            \
	X(HANG, hang)   /* no response; cut at header_timeout_ms */

/* Per-request control (--control): which parts of a request may steer its
 * response; a bit set. */
#define RS_CONTROL_LIST(X)                                                  \
	X(OFF, off)       /* none: no client can steer the response */       \
	X(QUERY, query)   /* ?status= ?delay= ?size= ?fault= */               \
	X(HEADER, header) /* X-Ringside-Status, -Delay, -Size, -Fault */      \
	X(BOTH, both)

#define RS_STATE_LIST(X)                                                    \
	X(STARTING, starting)                                                \
	X(RUNNING, running)                                                  \
	X(DRAINING, draining)                                                \
	X(STOPPED, stopped)

/* Features actually in use; rs_features() returns them as bits 1 << value. */
#define RS_FEATURE_LIST(X)                                                  \
	X(SQPOLL, sqpoll)                                                    \
	X(SQ_AFF, sq_aff)                                                    \
	X(SINGLE_ISSUER, single_issuer)                                      \
	X(DEFER_TASKRUN, defer_taskrun)                                      \
	X(COOP_TASKRUN, coop_taskrun)                                        \
	X(FIXED_FILES, fixed_files)                                          \
	X(RING_AFF, ring_aff)                                                \
	X(NODROP, nodrop)                                                    \
	X(REUSEPORT, reuseport)         /* several rings share the port */   \
	X(CPU_STEERING, cpu_steering)   /* a connection goes to the ring pinned to the CPU that received it */ \
	X(BUF_RING, buf_ring)           /* input lands in provided buffers */ \
	X(RECV_MULTISHOT, recv_multishot) /* keep-alive: one multishot recv per connection */ \
	X(SOCK_CMD, sock_cmd)           /* a reset fault sets SO_LINGER through the ring (6.7+); else it is a plain close */

/* The step of rs_start that failed (rs_last_step), so the caller can tell
 * a port in use from a blocked io_uring without reading the message. */
#define RS_STEP_LIST(X)                                                     \
	X(NONE, none)                                                        \
	X(CONFIG, config)            /* a config value the library rejects */ \
	X(ALLOC, alloc)                                                      \
	X(EVENTFD, eventfd)                                                  \
	X(ADDRESS, address)          /* host is not a numeric address */      \
	X(SOCKET, socket)                                                    \
	X(BIND, bind)                                                        \
	X(LISTEN, listen)                                                    \
	X(THREAD, thread)                                                    \
	X(IO_URING_SETUP, io_uring_setup) /* io_uring itself unavailable */   \
	X(SQPOLL, sqpoll)            /* the kernel refused IORING_SETUP_SQPOLL */ \
	X(SQ_AFF, sq_aff)            /* the kernel refused IORING_SETUP_SQ_AFF */ \
	X(SUBMIT, submit)

#define RS_X_ENUM_MODE(C, n) RS_MODE_##C,
#define RS_X_ENUM_RESP(C, n) RS_RESP_##C,
#define RS_X_ENUM_STATE(C, n) RS_STATE_##C,
#define RS_X_ENUM_FEATURE(C, n) RS_FEAT_BIT_##C,
#define RS_X_ENUM_STEP(C, n) RS_STEP_##C,
#define RS_X_ENUM_FAULT(C, n) RS_FAULT_##C,
#define RS_X_ENUM_CONTROL(C, n) RS_CONTROL_##C,
enum rs_mode { RS_MODE_LIST(RS_X_ENUM_MODE) RS_MODES };
enum rs_response_kind { RS_RESPONSE_KIND_LIST(RS_X_ENUM_RESP) RS_RESP_KINDS };
enum rs_state { RS_STATE_LIST(RS_X_ENUM_STATE) RS_STATES };
enum rs_feature_bit { RS_FEATURE_LIST(RS_X_ENUM_FEATURE) RS_FEATURES };
enum rs_step { RS_STEP_LIST(RS_X_ENUM_STEP) RS_STEPS };
enum rs_fault { RS_FAULT_LIST(RS_X_ENUM_FAULT) RS_FAULTS };
enum rs_control { RS_CONTROL_LIST(RS_X_ENUM_CONTROL) RS_CONTROLS };
#define RS_FEAT(C) (1u << RS_FEAT_BIT_##C)

/* ---- constants: X(name, value) ------------------------------------------ */

#define RS_CONSTANT_LIST(X)                                                 \
	X(RS_ABI_VERSION, RS_ABI_VERSION)                                    \
	X(RS_NO_CPU, -1)                /* sq_cpu, ring_cpu: not pinned */    \
	X(RS_SPIN_FOREVER, 4294967295LL) /* spin_budget_ms: never park */    \
	X(RS_HOST_MAX, 64)              /* bytes of host, NUL included */    \
	X(RS_MAX_RINGS, RS_MAX_RINGS)   /* rings at most */ \
	X(RS_MAX_ROUTES, RS_MAX_ROUTES) /* routes at most */ \
	X(RS_MAX_DELAY_MS, RS_MAX_DELAY_MS) /* longest delay */          \
	X(RS_MAX_WEIGHTS, RS_MAX_WEIGHTS) /* weighted statuses or delays per response */ \
	X(RS_PPM, RS_PPM)               /* weights are parts of this (1000000: 100%) */ \
	X(RS_MAX_SIZE, RS_MAX_SIZE)     /* largest generated body */      \
	X(RS_MAX_STATUSES, RS_MAX_STATUSES) /* lines of the statuses table */

#define RS_NO_CPU (-1)
#define RS_SPIN_FOREVER UINT32_MAX
#define RS_MAX_RINGS 256
#define RS_MAX_ROUTES 1024
#define RS_MAX_DELAY_MS 3600000
#define RS_MAX_WEIGHTS 8
#define RS_PPM 1000000
#define RS_MAX_SIZE (64u << 20)
#define RS_MAX_STATUSES 80

/* ---- the config JS fills: X(C type, ABI type, name, array length or 0, enum)
 * The ABI type is one of u32, i32, u64, char; enum names the enum list a u32
 * field takes its values from ("-" for none). Field order is ABI. --------- */
#define RS_CONFIG_FIELDS(X)                                                 \
	X(char, char, host, 64, -)             /* numeric IPv4 or IPv6 address */ \
	X(uint32_t, u32, port, 0, -)           /* 0: kernel picks, see rs_port */ \
	X(uint32_t, u32, mode, 0, mode)                                         \
	X(uint32_t, u32, entries, 0, -)        /* SQ entries, per ring */       \
	X(uint32_t, u32, rings, 0, -)          /* ring threads, 1..RS_MAX_RINGS */ \
	X(int32_t, i32, sq_cpus, RS_MAX_RINGS, -) /* ring K's SQPOLL thread CPU or RS_NO_CPU */ \
	X(int32_t, i32, ring_cpus, RS_MAX_RINGS, -) /* ring K's thread CPU or RS_NO_CPU */ \
	X(uint32_t, u32, sq_idle_ms, 0, -)     /* SQPOLL thread idle before sleep */ \
	X(uint32_t, u32, spin_budget_ms, 0, -) /* idle spin before park; RS_SPIN_FOREVER */ \
	X(uint32_t, u32, max_connections, 0, -) /* in all, split between the rings */ \
	X(uint32_t, u32, backlog, 0, -)                                         \
	X(uint32_t, u32, max_header_bytes, 0, -)                                \
	X(uint32_t, u32, max_body_bytes, 0, -)                                  \
	X(uint32_t, u32, keep_alive, 0, -)     /* 0: HTTP/1.0 + close always */ \
	X(uint32_t, u32, max_requests, 0, -)   /* per connection, 0 = unlimited */ \
	X(uint32_t, u32, idle_timeout_ms, 0, -)  /* IDLE's bound */           \
	X(uint32_t, u32, header_timeout_ms, 0, -) /* READING and READING_BODY's */ \
	X(uint32_t, u32, send_timeout_ms, 0, -)  /* SENDING's: the whole response */ \
	X(uint32_t, u32, linger_timeout_ms, 0, -) /* LINGERING's */           \
	X(uint32_t, u32, recv_buffers, 0, -)   /* provided buffers per ring, a power of two; 0: by connections */ \
	X(uint32_t, u32, delay_ms, 0, -)       /* the default response is held back this long */ \
	X(uint32_t, u32, routes, 0, -)         /* entries of routes_ptr, 0..RS_MAX_ROUTES */ \
	X(uint64_t, u64, routes_ptr, 0, -)     /* struct rs_route[routes]; copied at start */ \
	X(uint64_t, u64, seed, 0, -)           /* of each ring's generator (ring K: seed + K); 0 is refused */ \
	X(uint32_t, u32, control, 0, control)  /* per-request control */ \
	X(uint32_t, u32, max_delay_ms, 0, -)   /* the longest delay a request may ask for */ \
	X(uint32_t, u32, max_size, 0, -)       /* the largest body a request may ask for, <= RS_MAX_SIZE */ \
	X(uint64_t, u64, statuses_ptr, 0, -)   /* "200 OK\r\n201 Created\r\n...": every status a response may have */ \
	X(uint32_t, u32, statuses_len, 0, -)                                    \
	RS_OUTCOME_FIELDS(X)                   /* the default response */

/* ---- a response: the default one (in the config) and each route's -------
 * Prebuilt whole for its own status and body (response_*: the fast path),
 * and in parts for replies drawn per request (another status, a generated
 * body), which are put together when sent: "HTTP/1.x " + the status's line
 * from statuses_ptr + tail[kind] + the Content-length line + the body. */
#define RS_OUTCOME_FIELDS(X)                                                \
	X(uint32_t, u32, status, 0, -)         /* its own status code */      \
	X(uint64_t, u64, response_ptr, RS_RESP_KINDS, response_kind) /* whole, own status and body; copied at start */ \
	X(uint64_t, u64, response_len, RS_RESP_KINDS, response_kind)            \
	X(uint64_t, u64, tail_ptr, RS_RESP_KINDS, response_kind) /* header lines after the status line, no Content-length, no empty line */ \
	X(uint64_t, u64, tail_len, RS_RESP_KINDS, response_kind)                \
	X(uint64_t, u64, body_ptr, 0, -)       /* its body, for replies put together when sent */ \
	X(uint32_t, u32, body_len, 0, -)                                        \
	X(uint32_t, u32, body_reason, 0, -)    /* 1: no body was given: a status's body is its reason phrase */ \
	X(uint32_t, u32, size_min, 0, -)       /* a generated body of size_min..size_max bytes, drawn per request */ \
	X(uint32_t, u32, size_max, 0, -)       /* (0: the body above) */      \
	X(uint32_t, u32, status_codes, RS_MAX_WEIGHTS, -) /* statuses drawn instead of its own */ \
	X(uint32_t, u32, status_ppm, RS_MAX_WEIGHTS, -)   /* ... their weights, in parts per RS_PPM (0: unused) */ \
	X(uint32_t, u32, delays_ms, RS_MAX_WEIGHTS, -)    /* delays drawn instead of its own */ \
	X(uint32_t, u32, delays_ppm, RS_MAX_WEIGHTS, -)                         \
	X(uint32_t, u32, fault_ppm, RS_FAULTS, fault)     /* each fault's weight */

/* ---- a route: requests whose path matches get its own response ---------
 * Same X(...) form as the config; routes_ptr points at an array of these. */
#define RS_ROUTE_FIELDS(X)                                                  \
	X(uint64_t, u64, path_ptr, 0, -)       /* the path to match, as sent */ \
	X(uint32_t, u32, path_len, 0, -)                                        \
	X(uint32_t, u32, prefix, 0, -)         /* 1: every path that starts with it */ \
	X(uint32_t, u32, delay_ms, 0, -)       /* its response is held back this long */ \
	RS_OUTCOME_FIELDS(X)

/* ---- the counters a ring thread fills: X(name, kind, help) --------------
 * One block per ring. Every counter is a u64 written only by its ring's
 * thread; kind is counter (only grows) or gauge. The help text is what
 * /metrics shows. */
#define RS_COUNTER_FIELDS(X)                                                \
	X(state, gauge, "server state (enum state)")                           \
	X(accepted, counter, "connections accepted")                           \
	X(active, gauge, "connections open now")                               \
	X(requests, counter, "complete requests read")                         \
	X(responses, counter, "responses fully sent, errors included")         \
	X(bytes_sent, counter, "bytes sent to clients")                        \
	X(bad_requests, counter, "requests answered 400 or 505")               \
	X(too_large, counter, "requests answered 413 or 431")                  \
	X(accept_errors, counter, "failed accepts")                            \
	X(accept_backoffs, counter, "pauses in accepting on EMFILE, ENFILE or ENOMEM") \
	X(recv_errors, counter, "failed receives")                             \
	X(send_errors, counter, "failed sends")                                \
	X(client_resets, counter, "connections reset by the peer (ECONNRESET, EPIPE)") \
	X(client_eof_early, counter, "connections the peer closed before a complete request") \
	X(header_timeouts, counter, "connections closed by --header-timeout (a request, header and body, not read in time)") \
	X(idle_timeouts, counter, "connections closed by --idle-timeout")      \
	X(send_timeouts, counter, "connections closed by --send-timeout (the client did not take the response in time)") \
	X(linger_timeouts, counter, "lingering closes cut by --linger-timeout (the client kept sending)") \
	X(drain_timeouts, counter, "connections still open when --drain-timeout ran out") \
	X(lingering_closes, counter, "connections closed after draining unread input") \
	X(delayed, counter, "responses held back by --delay or a route's delay before sending") \
	X(delayed_cut, counter, "delayed responses not sent: the client left or the drain timed out first") \
	X(faults_reset, counter, "requests answered with an RST (fault=reset)") \
	X(faults_close, counter, "requests answered with a close and no response (fault=close)") \
	X(faults_hang, counter, "requests never answered, cut at --header-timeout (fault=hang)") \
	X(control_errors, counter, "requests whose control (?status= ...) could not be read or was over a limit: 400") \
	X(buffer_shortages, counter, "receives that found no provided buffer free (re-armed once some come back)") \
	X(sq_full, counter, "times the submission queue was found full")             \
	X(cq_overflow, counter, "completion queue overflows")                  \
	X(parks, counter, "blocking waits of the ring thread")                 \
	X(loops, counter, "ring loop iterations")

#define RS_X_DIM_0
#define RS_X_DIM_64 [64]
#define RS_X_DIM_RS_RESP_KINDS [RS_RESP_KINDS]
#define RS_X_DIM_RS_MAX_RINGS [RS_MAX_RINGS]
#define RS_X_DIM_RS_MAX_WEIGHTS [RS_MAX_WEIGHTS]
#define RS_X_DIM_RS_FAULTS [RS_FAULTS]
#define RS_X_CONFIG_MEMBER(ctype, abi, name, n, en) ctype name RS_X_DIM_##n;
struct rs_config {
	RS_CONFIG_FIELDS(RS_X_CONFIG_MEMBER)
};

struct rs_route {
	RS_ROUTE_FIELDS(RS_X_CONFIG_MEMBER)
};

#define RS_X_COUNTER_MEMBER(name, kind, help) uint64_t name;
struct rs_counters {
	RS_COUNTER_FIELDS(RS_X_COUNTER_MEMBER)
};

struct rs_server;

/* Starts cfg->rings rings, each a thread ("ringside-ring", or
 * "ringside-ring-K" when there are several) with its own io_uring, its own
 * listening socket on the address (SO_REUSEPORT), its own share of the
 * connection table and its own counters; returns once all serve. If one
 * fails, the others are stopped. *out receives the server handle. On failure
 * rs_last_step() names the step and rs_last_error() says why (and which ring). */
int rs_start(const struct rs_config *cfg, struct rs_server **out);
/* Asks every ring to stop accepting and drain; returns at once. Each ring
 * closes what is still open after drain_ms and sets its state to
 * RS_STATE_STOPPED. */
int rs_stop(struct rs_server *s, uint32_t drain_ms);
/* Joins the ring threads and frees everything; the counters die with it. */
int rs_destroy(struct rs_server *s);
int rs_port(const struct rs_server *s);
int rs_rings(const struct rs_server *s);
/* Features in use (ring 0's; every ring is set up alike). */
uint32_t rs_features(const struct rs_server *s);
/* Ring `ring`'s counters block, NULL past the last ring. */
const struct rs_counters *rs_counters(const struct rs_server *s, uint32_t ring);
/* Ring `ring`'s requests by route: a u64 for the default response, then one
 * per route in config order (routes + 1 in all); NULL past the last ring. */
const uint64_t *rs_route_requests(const struct rs_server *s, uint32_t ring);
/* Ring `ring`'s requests by route and outcome: for the default response,
 * then each route in config order, rs_outcomes(s) u64s: one per line of the
 * statuses table (responses sent with that status, errors excluded), then
 * one per fault (enum rs_fault). They sum to the route's requests. NULL past
 * the last ring. */
const uint64_t *rs_route_outcomes(const struct rs_server *s, uint32_t ring);
/* Outcomes per route in rs_route_outcomes: the statuses table's lines + RS_FAULTS. */
int rs_outcomes(const struct rs_server *s);
/* The failed step of the last rs_start (enum rs_step), RS_STEP_NONE if none. */
int rs_last_step(void);
/* "step: reason" for the last failed rs_start, "" if none. */
const char *rs_last_error(void);
/* JSON: every config field (type, offset, count, enum), every counter
 * (offset, kind, help), every enum with its values, the constants, the
 * struct sizes and the opcodes the server submits. */
const char *rs_describe(void);
int rs_abi_version(void);

/* Diagnostics (--doctor): sets up and tears down a throwaway ring with
 * setup_flags (IORING_SETUP_*). On success *features (if not NULL) gets the
 * kernel's IORING_FEAT_* bits and, when ops is not NULL, ops[op] is set to 1
 * for each opcode below ops_len that io_uring_get_probe reports supported.
 * Returns the number of opcodes the kernel knows (last_op + 1), 0 when it
 * cannot be probed, or -errno when io_uring_setup fails. */
int rs_probe(uint32_t setup_flags, uint32_t *features, uint8_t *ops, uint32_t ops_len);
/* The name of io_uring opcode op ("RECV"), or NULL past the known ones. */
const char *rs_op_name(uint32_t op);

#endif
