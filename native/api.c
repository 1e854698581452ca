/* The exported rs_* functions (ringside.h): start, stop, observe. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"

#include "listen.h"
#include "outcomes.h"
#include "replies.h"
#include "ring.h"
#include "setup.h"

static char last_error[200]; /* a ring error (160) with "ring K: " before it */
static enum rs_step last_step;

static void free_ring(struct ring *r)
{
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	free_conns(r);
}

static void free_server(struct rs_server *s)
{
	for (uint32_t k = 0; k < s->nrings; k++)
		free_ring(&s->rings[k]);
	free(s->rings);
	free_replies(s);
	free_outcomes(s);
	free(s);
}

static int validate(const struct rs_config *c)
{
	if (c->mode >= RS_MODES || c->entries == 0 || c->rings == 0 || c->rings > RS_MAX_RINGS ||
	    c->max_connections < c->rings || c->max_header_bytes < 64 || c->port > 65535 ||
	    (c->recv_buffers & (c->recv_buffers - 1)) || c->recv_buffers > 32768 ||
	    c->routes > RS_MAX_ROUTES || (c->routes && !c->routes_ptr) || c->delay_ms > RS_MAX_DELAY_MS ||
	    !c->header_timeout_ms || !c->send_timeout_ms || !c->idle_timeout_ms || !c->linger_timeout_ms ||
	    !memchr(c->host, 0, sizeof(c->host)))
		return -EINVAL;
	for (int k = 0; k < RS_RESP_KINDS; k++)
		if (c->response_len[k] > UINT32_MAX || (c->response_len[k] && !c->response_ptr[k]))
			return -EINVAL;
	return 0;
}

static void init_policy(struct rs_server *s)
{
	s->policy = (struct rs_policy){
		.keep_alive = s->cfg.keep_alive != 0,
		.max_requests = s->cfg.max_requests,
		.max_header = s->cfg.max_header_bytes,
		.max_body = s->cfg.max_body_bytes,
	};
	s->bounds = (struct conn_bounds){
		.header_ms = s->cfg.header_timeout_ms,
		.send_ms = s->cfg.send_timeout_ms,
		.idle_ms = s->cfg.idle_timeout_ms,
		.linger_ms = s->cfg.linger_timeout_ms,
	};
}

static int wait_for_setup(struct ring *r)
{
	/* The ring thread sets up the ring itself (SINGLE_ISSUER) and reports. */
	while (!__atomic_load_n(&r->setup_done, __ATOMIC_ACQUIRE))
		usleep(20);
	return r->setup_result;
}

/* Ring k's share of the connection table, CPUs and thread name. Tools
 * find the threads by name: "ringside-ring" alone, "ringside-ring-K" for
 * several (comm holds 15 characters: "ringside-r-K" from K = 10). */
static void init_ring(struct rs_server *s, uint32_t k)
{
	struct ring *r = &s->rings[k];
	uint32_t total = s->cfg.max_connections;

	r->srv = s;
	r->index = k;
	r->cpu = s->cfg.ring_cpus[k];
	r->sq_cpu = s->cfg.sq_cpus[k];
	r->listen_fd = r->wake_fd = -1;
	r->rng = rs_rand_seed(s->cfg.seed, k);
	r->nconns = total / s->nrings + (k < total % s->nrings);
	if (s->nrings == 1)
		snprintf(r->name, sizeof(r->name), "ringside-ring");
	else
		snprintf(r->name, sizeof(r->name), k < 10 ? "ringside-ring-%u" : "ringside-r-%u", k);
}

/* Everything but the io_uring itself, which the ring thread creates. */
static int prepare_ring(struct ring *r, uint32_t port)
{
	int ret;

	r->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (r->wake_fd < 0) {
		ret = -errno;
		set_error(r, RS_STEP_EVENTFD, -ret);
		return ret;
	}
	if ((ret = setup_conns(r)) < 0 || (ret = setup_listener(r, port)) < 0)
		return ret;
	return 0;
}

static int launch_ring(struct ring *r)
{
	int ret = pthread_create(&r->thread, NULL, ring_thread_main, r);

	if (ret) {
		set_error(r, RS_STEP_THREAD, ret);
		r->setup_result = -ret;
		__atomic_store_n(&r->setup_done, 1, __ATOMIC_RELEASE);
		r->thread_failed = true;
		return -ret;
	}
	return 0;
}

static int fail(enum rs_step step, const char *error, int ret)
{
	last_step = step;
	snprintf(last_error, sizeof(last_error), "%s", error);
	return ret;
}

/* A ring failed: its message, with its number when there are several. */
static int fail_ring(const struct rs_server *s, const struct ring *r, int ret)
{
	char msg[sizeof(last_error)];

	if (s->nrings == 1)
		return fail(r->step, r->error, ret);
	snprintf(msg, sizeof(msg), "ring %u: %s", r->index, r->error);
	return fail(r->step, msg, ret);
}

static void wake(const struct ring *r)
{
	uint64_t one = 1;

	if (write(r->wake_fd, &one, sizeof(one)) < 0)
		return; /* a full eventfd counter still wakes the ring */
}

/* Every ring has reported; if one failed, the ones that run are stopped. */
static int await_rings(struct rs_server *s)
{
	int ret = 0;
	uint32_t failed = 0;

	for (uint32_t k = 0; k < s->nrings; k++) {
		int r = wait_for_setup(&s->rings[k]);

		if (r < 0 && !ret) {
			ret = r;
			failed = k;
		}
	}
	if (!ret)
		return 0;
	s->stop_drain_ms = 0;
	__atomic_store_n(&s->stop_requested, 1, __ATOMIC_RELEASE);
	for (uint32_t k = 0; k < s->nrings; k++) {
		if (s->rings[k].thread_failed)
			continue;
		if (s->rings[k].setup_result == 0)
			wake(&s->rings[k]);
		pthread_join(s->rings[k].thread, NULL);
	}
	return fail_ring(s, &s->rings[failed], ret);
}

/* Listeners first (ring 0 picks the port when it is 0, the others join it),
 * then the threads; a failure stops what already runs. */
static int start_rings(struct rs_server *s)
{
	uint32_t port = s->cfg.port;
	int ret;

	if ((ret = check_port_free(s, &s->rings[0])) < 0)
		return fail_ring(s, &s->rings[0], ret);
	for (uint32_t k = 0; k < s->nrings; k++) {
		if ((ret = prepare_ring(&s->rings[k], port)) < 0)
			return fail_ring(s, &s->rings[k], ret);
		if (k == 0 && (ret = rs_port(s)) > 0)
			port = (uint32_t)ret;
	}
	if (s->nrings > 1)
		s->features |= RS_FEAT(REUSEPORT);
	setup_cpu_steering(s);
	/* The rings set themselves up side by side; then each is waited for. */
	for (uint32_t k = 0; k < s->nrings; k++)
		launch_ring(&s->rings[k]);
	return await_rings(s);
}

/* The replies and what they are drawn from, then the rings. */
static int start_server(struct rs_server *s)
{
	const char *why = "config: a response or route out of bounds";
	int ret = setup_replies(s);

	if (ret == 0)
		ret = setup_outcomes(s, &why);
	if (ret == -EINVAL)
		return fail(RS_STEP_CONFIG, why, ret);
	if (ret < 0)
		return fail(RS_STEP_ALLOC, "alloc: replies", ret);
	return start_rings(s);
}

RS_EXPORT int rs_start(const struct rs_config *cfg, struct rs_server **out)
{
	struct rs_server *s;
	int ret;

	last_error[0] = 0;
	last_step = RS_STEP_NONE;
	if (validate(cfg) < 0)
		return fail(RS_STEP_CONFIG, "config: invalid value", -EINVAL);
	s = calloc(1, sizeof(*s));
	if (!s)
		return fail(RS_STEP_ALLOC, "alloc: out of memory", -ENOMEM);
	s->cfg = *cfg;
	s->nrings = cfg->rings;
	s->rings = calloc(s->nrings, sizeof(*s->rings));
	if (!s->rings) {
		free(s);
		return fail(RS_STEP_ALLOC, "alloc: out of memory", -ENOMEM);
	}
	for (uint32_t k = 0; k < s->nrings; k++)
		init_ring(s, k);
	init_policy(s);
	ret = start_server(s);
	if (ret < 0) {
		free_server(s);
		return ret;
	}
	*out = s;
	return 0;
}

RS_EXPORT int rs_stop(struct rs_server *s, uint32_t drain_ms)
{
	s->stop_drain_ms = drain_ms;
	__atomic_store_n(&s->stop_requested, 1, __ATOMIC_RELEASE);
	/* Wakes parked ring threads: each keeps a read armed on its eventfd. */
	for (uint32_t k = 0; k < s->nrings; k++)
		wake(&s->rings[k]);
	return 0;
}

RS_EXPORT int rs_destroy(struct rs_server *s)
{
	if (!s)
		return -EINVAL;
	if (!__atomic_load_n(&s->stop_requested, __ATOMIC_ACQUIRE))
		rs_stop(s, 0);
	for (uint32_t k = 0; k < s->nrings; k++)
		pthread_join(s->rings[k].thread, NULL);
	free_server(s);
	return 0;
}

RS_EXPORT int rs_port(const struct rs_server *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(s->rings[0].listen_fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

RS_EXPORT int rs_rings(const struct rs_server *s) { return (int)s->nrings; }

RS_EXPORT const uint64_t *rs_route_requests(const struct rs_server *s, uint32_t ring)
{
	return ring < s->nrings ? s->rings[ring].route_requests : NULL;
}
RS_EXPORT const uint64_t *rs_route_outcomes(const struct rs_server *s, uint32_t ring)
{
	return ring < s->nrings ? s->rings[ring].route_outcomes : NULL;
}
RS_EXPORT int rs_outcomes(const struct rs_server *s) { return (int)(s->nstatuses + RS_FAULTS); }
RS_EXPORT uint32_t rs_features(const struct rs_server *s) { return s->rings[0].features | s->features; }

RS_EXPORT const struct rs_counters *rs_counters(const struct rs_server *s, uint32_t ring)
{
	return ring < s->nrings ? &s->rings[ring].ctr : NULL;
}
RS_EXPORT int rs_last_step(void) { return (int)last_step; }
RS_EXPORT const char *rs_last_error(void) { return last_error; }
RS_EXPORT int rs_abi_version(void) { return RS_ABI_VERSION; }
