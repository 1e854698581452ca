/* What each response is drawn from: see outcomes.h. The draws themselves
 * are the policy's (policy.c); this turns the config's weights into its
 * tables once, checked, and cuts the bytes generated bodies are sent from. */
#define _GNU_SOURCE
#include "outcomes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const struct rs_route *routes_of(const struct rs_config *cfg)
{
	return (const struct rs_route *)(uintptr_t)cfg->routes_ptr;
}

/* One response's draws as the config gives them (the default's or a route's). */
struct outcome_src {
	uint32_t status, delay_ms, size_min, size_max;
	const uint32_t *status_codes, *status_ppm, *delays_ms, *delays_ppm, *fault_ppm;
};
#define OUTCOME_SRC(x) ((struct outcome_src){ (x)->status, (x)->delay_ms, (x)->size_min, (x)->size_max, \
					      (x)->status_codes, (x)->status_ppm, (x)->delays_ms, (x)->delays_ppm, \
					      (x)->fault_ppm })

/* The weights with a share (ppm > 0); false if they sum past 100%. */
static bool take_weights(struct rs_weights *w, const uint32_t *values, const uint32_t *ppm, uint32_t n)
{
	uint64_t sum = 0;

	w->n = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (!ppm[i])
			continue;
		w->value[w->n] = values ? values[i] : i;
		w->ppm[w->n++] = ppm[i];
		sum += ppm[i];
	}
	return sum <= RS_PPM;
}

static const char *build_outcome(const struct rs_server *s, struct outcome_src src, struct rs_outcome *o)
{
	if (src.status >= RS_STATUS_CODES || s->status_index[src.status] == RS_NO_STATUS)
		return "config: a status not in the statuses table";
	*o = (struct rs_outcome){ .status = (uint16_t)src.status, .delay_ms = src.delay_ms,
				  .size_min = src.size_min, .size_max = src.size_max };
	if (!take_weights(&o->statuses, src.status_codes, src.status_ppm, RS_MAX_WEIGHTS) ||
	    !take_weights(&o->delays, src.delays_ms, src.delays_ppm, RS_MAX_WEIGHTS) ||
	    !take_weights(&o->faults, NULL, src.fault_ppm, RS_FAULTS))
		return "config: weights over 100%";
	for (uint32_t i = 0; i < o->statuses.n; i++)
		if (o->statuses.value[i] >= RS_STATUS_CODES || s->status_index[o->statuses.value[i]] == RS_NO_STATUS)
			return "config: a weighted status not in the statuses table";
	for (uint32_t i = 0; i < o->delays.n; i++)
		if (o->delays.value[i] > RS_MAX_DELAY_MS)
			return "config: a weighted delay over RS_MAX_DELAY_MS";
	if (src.delay_ms > RS_MAX_DELAY_MS || src.size_min > src.size_max || src.size_max > RS_MAX_SIZE)
		return "config: a delay or size out of bounds";
	o->drawn = o->statuses.n || o->delays.n || o->faults.n || o->size_max;
	return NULL;
}

/* The bytes generated bodies are cut from: printable lines, as long as the
 * largest body any response or request may have. */
static int setup_generated(struct rs_server *s)
{
	static const char line[] = "ringside generated body 0123456789abcdefghijklmnopqrstuvwxyz\n";
	size_t len = s->cfg.control ? s->cfg.max_size : 0;

	for (uint32_t r = 0; r <= s->cfg.routes; r++)
		if (s->outcomes[r].size_max > len)
			len = s->outcomes[r].size_max;
	if (!len)
		return 0;
	s->generated = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->generated == MAP_FAILED) {
		s->generated = NULL;
		return -ENOMEM;
	}
	s->generated_len = len;
	for (size_t off = 0; off < len; off += sizeof(line) - 1)
		memcpy(s->generated + off, line, len - off < sizeof(line) - 1 ? len - off : sizeof(line) - 1);
	return 0;
}

int setup_outcomes(struct rs_server *s, const char **why)
{
	const struct rs_config *cfg = &s->cfg;

	if (!cfg->seed || cfg->control >= RS_CONTROLS || cfg->max_size > RS_MAX_SIZE || cfg->max_delay_ms > RS_MAX_DELAY_MS) {
		*why = "config: seed, control, max_size or max_delay_ms out of bounds";
		return -EINVAL;
	}
	s->outcomes = calloc(cfg->routes + 1, sizeof(*s->outcomes));
	if (!s->outcomes)
		return -ENOMEM;
	if ((*why = build_outcome(s, OUTCOME_SRC(cfg), &s->outcomes[0])))
		return -EINVAL;
	for (uint32_t i = 0; i < cfg->routes; i++)
		if ((*why = build_outcome(s, OUTCOME_SRC(&routes_of(cfg)[i]), &s->outcomes[i + 1])))
			return -EINVAL;
	s->policy.outcomes = s->outcomes;
	s->policy.control = cfg->control;
	s->policy.max_delay_ms = cfg->max_delay_ms;
	s->policy.max_size = cfg->max_size;
	return setup_generated(s);
}

void free_outcomes(struct rs_server *s)
{
	free(s->outcomes);
	if (s->generated)
		munmap(s->generated, s->generated_len);
}
