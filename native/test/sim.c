/* The connection state machine driven without sockets: see sim.h. */
#include "sim.h"

#include <string.h>

void sim_open(struct sim *s, bool keep_alive, uint32_t max_requests)
{
	memset(s, 0, sizeof(*s));
	s->pol = (struct rs_policy){ .keep_alive = keep_alive, .max_requests = max_requests,
				     .max_header = SIM_CAP, .max_body = 1 << 20 };
	s->env = (struct conn_env){ .policy = &s->pol };
	conn_open(&s->h, s->buf);
	s->io = CONN_IO_RECV;
}

static void settle(struct sim *s)
{
	while (s->io == CONN_IO_SEND) {
		for (int i = 0; i < s->h.nreplies && s->nsent < SIM_MAX_SENT; i++)
			s->sent[s->nsent++] = s->h.replies[i];
		s->batches++;
		s->io = conn_on_sent(&s->h, &s->env, &s->t);
	}
}

void sim_feed(struct sim *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len && s->io == CONN_IO_RECV) {
		bool lingering = s->h.state == CONN_LINGERING;
		uint32_t room = lingering ? SIM_CAP : SIM_CAP - s->h.len;
		uint32_t n = len < room ? (uint32_t)len : room;

		memcpy(s->h.buf + (lingering ? 0 : s->h.len), p, n);
		s->io = conn_on_input(&s->h, n, &s->env, &s->t);
		settle(s);
		p += n;
		len -= n;
	}
	if (s->io == CONN_IO_LINGER)
		s->io = CONN_IO_RECV; /* the ring shuts down, then reads to EOF */
}

bool sim_same_end(enum conn_state a, enum conn_state b)
{
	bool a_ends = a == CONN_CLOSING || a == CONN_LINGERING;
	bool b_ends = b == CONN_CLOSING || b == CONN_LINGERING;

	return a == b || (a_ends && b_ends);
}
