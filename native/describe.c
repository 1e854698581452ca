/* rs_describe(): the whole ABI as JSON (config, route and counters structs,
 * enums, constants), generated from the X-macro lists in ringside.h, so the
 * description cannot drift from the structs. src/native.ts
 * encodes the config and decodes the counters by name against it. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "server.h"

#include "probe.h"

struct out {
	char buf[16384];
	size_t len;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= sizeof(o->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	o->len += n > 0 ? (size_t)n : 0;
}

/* A trailing comma before the closing bracket is dropped. */
static void close_with(struct out *o, char c)
{
	if (o->len && o->len < sizeof(o->buf) && o->buf[o->len - 1] == ',')
		o->len--;
	put(o, "%c", c);
}

#define X_COUNT_0 1
#define X_COUNT_64 64
#define X_COUNT_RS_RESP_KINDS RS_RESP_KINDS
#define X_COUNT_RS_MAX_RINGS RS_MAX_RINGS
#define X_COUNT_RS_MAX_WEIGHTS RS_MAX_WEIGHTS
#define X_COUNT_RS_FAULTS RS_FAULTS
#define X_FIELD(st, abi, name, count, en)                                         \
	put(o, "{\"name\":\"%s\",\"type\":\"%s\",\"offset\":%zu,\"count\":%d,\"enum\":\"%s\"},", \
	    #name, #abi, offsetof(struct st, name), count, #en);
#define X_CONFIG(ctype, abi, name, n, en) X_FIELD(rs_config, abi, name, X_COUNT_##n, en)
#define X_ROUTE(ctype, abi, name, n, en) X_FIELD(rs_route, abi, name, X_COUNT_##n, en)
#define X_COUNTER(name, kind, help)                                               \
	put(o, "{\"name\":\"%s\",\"offset\":%zu,\"kind\":\"%s\",\"help\":\"%s\"},", #name, \
	    offsetof(struct rs_counters, name), #kind, help);
#define X_VALUE(C, n) put(o, "\"%s\":%d,", #n, v++);
#define X_CONSTANT(name, value) put(o, "\"%s\":%lld,", #name, (long long)(value));

static void put_enum(struct out *o, const char *name, void (*values)(struct out *))
{
	put(o, "\"%s\":{", name);
	values(o);
	close_with(o, '}');
	put(o, ",");
}

static void modes(struct out *o) { int v = 0; RS_MODE_LIST(X_VALUE) }
static void kinds(struct out *o) { int v = 0; RS_RESPONSE_KIND_LIST(X_VALUE) }
static void states(struct out *o) { int v = 0; RS_STATE_LIST(X_VALUE) }
static void features(struct out *o) { int v = 0; RS_FEATURE_LIST(X_VALUE) }
static void steps(struct out *o) { int v = 0; RS_STEP_LIST(X_VALUE) }
static void faults(struct out *o) { int v = 0; RS_FAULT_LIST(X_VALUE) }
static void controls(struct out *o) { int v = 0; RS_CONTROL_LIST(X_VALUE) }

static void describe(struct out *o)
{
	put(o, "{\"config\":{\"size\":%zu,\"fields\":[", sizeof(struct rs_config));
	RS_CONFIG_FIELDS(X_CONFIG)
	close_with(o, ']');
	put(o, "},\"route\":{\"size\":%zu,\"fields\":[", sizeof(struct rs_route));
	RS_ROUTE_FIELDS(X_ROUTE)
	close_with(o, ']');
	put(o, "},\"counters\":{\"size\":%zu,\"fields\":[", sizeof(struct rs_counters));
	RS_COUNTER_FIELDS(X_COUNTER)
	close_with(o, ']');
	put(o, "},\"enums\":{");
	put_enum(o, "mode", modes);
	put_enum(o, "response_kind", kinds);
	put_enum(o, "state", states);
	put_enum(o, "feature", features);
	put_enum(o, "step", steps);
	put_enum(o, "fault", faults);
	put_enum(o, "control", controls);
	close_with(o, '}');
	put(o, ",\"constants\":{");
	RS_CONSTANT_LIST(X_CONSTANT)
	close_with(o, '}');
	put(o, ",\"ops_used\":[");
	for (size_t i = 0; i < rs_ops_used_len; i++)
		put(o, "\"%s\",", rs_op_name(rs_ops_used[i]));
	close_with(o, ']');
	put(o, "}");
}

RS_EXPORT const char *rs_describe(void)
{
	static struct out o;

	if (!o.len)
		describe(&o);
	return o.len < sizeof(o.buf) ? o.buf : "";
}
