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

#include "ring.h"

static char last_error[160];
static enum rs_step last_step;

static void free_ring(struct ring *r)
{
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	if (r->buf_slab)
		munmap(r->buf_slab, r->buf_slab_len);
	free(r->conns);
	free(r->free_slots);
}

static void free_server(struct rs_server *s)
{
	free_ring(&s->ring);
	free(s->reply_mem);
	free(s);
}

static int validate(const struct rs_config *c)
{
	if (c->mode >= RS_MODES || c->entries == 0 || c->max_connections == 0 ||
	    c->max_header_bytes < 64 || c->port > 65535 || !memchr(c->host, 0, sizeof(c->host)))
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
}

static int wait_for_setup(struct ring *r)
{
	/* The ring thread sets up the ring itself (SINGLE_ISSUER) and reports. */
	while (!__atomic_load_n(&r->setup_done, __ATOMIC_ACQUIRE))
		usleep(200);
	return r->setup_result;
}

/* Everything but the io_uring itself, which the ring thread creates. */
static int prepare_ring(struct rs_server *s, struct ring *r)
{
	int ret;

	r->srv = s;
	r->listen_fd = -1;
	r->nconns = s->cfg.max_connections;
	r->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (r->wake_fd < 0) {
		ret = -errno;
		set_error(r, RS_STEP_EVENTFD, -ret);
		return ret;
	}
	if ((ret = setup_conns(r)) < 0 || (ret = setup_listener(r)) < 0)
		return ret;
	ret = pthread_create(&r->thread, NULL, ring_thread_main, r);
	if (ret) {
		set_error(r, RS_STEP_THREAD, ret);
		return -ret;
	}
	ret = wait_for_setup(r);
	if (ret < 0)
		pthread_join(r->thread, NULL);
	return ret;
}

static int fail(enum rs_step step, const char *error, int ret)
{
	last_step = step;
	snprintf(last_error, sizeof(last_error), "%s", error);
	return ret;
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
	s->ring.listen_fd = s->ring.wake_fd = -1;
	init_policy(s);
	if ((ret = setup_replies(s)) < 0) {
		free_server(s);
		return fail(RS_STEP_ALLOC, "alloc: replies", ret);
	}
	ret = prepare_ring(s, &s->ring);
	if (ret < 0) {
		ret = fail(s->ring.step, s->ring.error, ret);
		free_server(s);
		return ret;
	}
	*out = s;
	return 0;
}

RS_EXPORT int rs_stop(struct rs_server *s, uint32_t drain_ms)
{
	uint64_t one = 1;

	s->stop_drain_ms = drain_ms;
	__atomic_store_n(&s->stop_requested, 1, __ATOMIC_RELEASE);
	/* Wakes a parked ring thread: it keeps a read armed on this eventfd. */
	if (write(s->ring.wake_fd, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

RS_EXPORT int rs_destroy(struct rs_server *s)
{
	if (!s)
		return -EINVAL;
	if (!__atomic_load_n(&s->stop_requested, __ATOMIC_ACQUIRE))
		rs_stop(s, 0);
	pthread_join(s->ring.thread, NULL);
	free_server(s);
	return 0;
}

RS_EXPORT int rs_port(const struct rs_server *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(s->ring.listen_fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

RS_EXPORT uint32_t rs_features(const struct rs_server *s) { return s->ring.features; }
RS_EXPORT const struct rs_counters *rs_counters(const struct rs_server *s) { return &s->ring.ctr; }
RS_EXPORT int rs_last_step(void) { return (int)last_step; }
RS_EXPORT const char *rs_last_error(void) { return last_error; }
RS_EXPORT int rs_abi_version(void) { return RS_ABI_VERSION; }
