/* The exported rs_* functions (ringside.h): start, stop, observe, describe. */
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

#include "ring_internal.h"

static char last_error[160];

static void copy_error(const struct rs_server *s)
{
	memcpy(last_error, s->error, sizeof(last_error));
}

static int copy_responses(struct rs_server *s)
{
	size_t total = 0, off = 0;

	for (int k = 0; k < RS_RESP_KINDS; k++)
		total += s->cfg.response_len[k];
	s->resp_mem = malloc(total ? total : 1);
	if (!s->resp_mem)
		return -ENOMEM;
	for (int k = 0; k < RS_RESP_KINDS; k++) {
		uint32_t len = (uint32_t)s->cfg.response_len[k];
		if (len)
			memcpy(s->resp_mem + off, (const void *)(uintptr_t)s->cfg.response_ptr[k], len);
		s->resp[k] = (struct blob){ s->resp_mem + off, len };
		off += len;
	}
	return 0;
}

static void free_server(struct rs_server *s)
{
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->buf_slab)
		munmap(s->buf_slab, s->buf_slab_len);
	free(s->conns);
	free(s->free_slots);
	free(s->resp_mem);
	free(s);
}

static int validate(const struct rs_config *c)
{
	if (c->mode > RS_MODE_BATCH || c->entries == 0 || c->max_connections == 0 ||
	    c->max_header_bytes < 64 || c->port > 65535 || !memchr(c->host, 0, sizeof(c->host)))
		return -EINVAL;
	for (int k = 0; k < RS_RESP_KINDS; k++)
		if (c->response_len[k] > UINT32_MAX || (c->response_len[k] && !c->response_ptr[k]))
			return -EINVAL;
	return 0;
}

static int wait_for_setup(struct rs_server *s)
{
	/* The ring thread sets up the ring itself (SINGLE_ISSUER) and reports. */
	while (!__atomic_load_n(&s->setup_done, __ATOMIC_ACQUIRE))
		usleep(200);
	return s->setup_result;
}

RS_EXPORT int rs_start(const struct rs_config *cfg, struct rs_server **out)
{
	struct rs_server *s;
	int ret;

	last_error[0] = 0;
	if (validate(cfg) < 0) {
		snprintf(last_error, sizeof(last_error), "config: invalid value");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->listen_fd = -1;
	s->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (s->wake_fd < 0) {
		set_error(s, "eventfd", errno);
		ret = -errno;
		goto fail;
	}
	if ((ret = copy_responses(s)) < 0 || (ret = setup_errors(s)) < 0 ||
	    (ret = setup_conns(s)) < 0 ||
	    (ret = setup_listener(s)) < 0)
		goto fail;
	ret = pthread_create(&s->thread, NULL, ring_thread_main, s);
	if (ret) {
		set_error(s, "pthread_create", ret);
		ret = -ret;
		goto fail;
	}
	ret = wait_for_setup(s);
	if (ret < 0) {
		pthread_join(s->thread, NULL);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (!s->error[0])
		set_error(s, "start", -ret);
	copy_error(s);
	free_server(s);
	return ret;
}

RS_EXPORT int rs_stop(struct rs_server *s, uint32_t drain_ms)
{
	uint64_t one = 1;

	s->stop_drain_ms = drain_ms;
	__atomic_store_n(&s->stop_requested, 1, __ATOMIC_RELEASE);
	/* Wakes a parked ring thread: it keeps a read armed on this eventfd. */
	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

RS_EXPORT int rs_destroy(struct rs_server *s)
{
	if (!s)
		return -EINVAL;
	if (!__atomic_load_n(&s->stop_requested, __ATOMIC_ACQUIRE))
		rs_stop(s, 0);
	pthread_join(s->thread, NULL);
	free_server(s);
	return 0;
}

RS_EXPORT int rs_port(const struct rs_server *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

RS_EXPORT uint32_t rs_features(const struct rs_server *s) { return s->features; }
RS_EXPORT const struct rs_counters *rs_counters(const struct rs_server *s) { return &s->ctr; }
RS_EXPORT const char *rs_last_error(void) { return last_error; }
RS_EXPORT int rs_abi_version(void) { return RS_ABI_VERSION; }

static size_t put(char *buf, size_t cap, size_t off, const char *name, size_t at, size_t size)
{
	int n = snprintf(buf + off, cap - off, " %s=%zu:%zu", name, at, size);
	return n > 0 && (size_t)n < cap - off ? off + (size_t)n : off;
}

#define LAYOUT_CONFIG(type, name, n) \
	off = put(buf, sizeof(buf), off, #name, offsetof(struct rs_config, name), \
		  sizeof(((struct rs_config *)0)->name));
#define LAYOUT_COUNTER(name) \
	off = put(buf, sizeof(buf), off, #name, offsetof(struct rs_counters, name), sizeof(uint64_t));

static const struct { const char *name; uint32_t bit; } feature_names[] = {
	{ "sqpoll", RS_FEAT_SQPOLL }, { "sq_aff", RS_FEAT_SQ_AFF },
	{ "single_issuer", RS_FEAT_SINGLE_ISSUER }, { "defer_taskrun", RS_FEAT_DEFER_TASKRUN },
	{ "coop_taskrun", RS_FEAT_COOP_TASKRUN }, { "fixed_files", RS_FEAT_FIXED_FILES },
	{ "ring_aff", RS_FEAT_RING_AFF }, { "nodrop", RS_FEAT_NODROP },
};

/* Names, offsets and sizes of both shared structs and the feature bits, for
 * the TS mirror check: "config size=N host=0:64 ...;counters size=N
 * state=0:8 ...;features sqpoll=0 ..." */
RS_EXPORT const char *rs_layout(void)
{
	static char buf[4096];
	size_t off = (size_t)snprintf(buf, sizeof(buf), "config size=%zu", sizeof(struct rs_config));

	RS_CONFIG_FIELDS(LAYOUT_CONFIG)
	off += (size_t)snprintf(buf + off, sizeof(buf) - off, ";counters size=%zu",
				sizeof(struct rs_counters));
	RS_COUNTER_FIELDS(LAYOUT_COUNTER)
	off += (size_t)snprintf(buf + off, sizeof(buf) - off, ";features");
	for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, " %s=%u", feature_names[i].name,
					__builtin_ctz(feature_names[i].bit));
	return buf;
}
