/* A connection's input plumbing: see recv.h.
 *
 * Input arrives in provided buffers (bufs.c) where the kernel has buffer
 * rings: keep-alive connections keep one multishot recv armed, close-mode
 * connections read once at a time. Input the connection cannot take yet (it
 * is sending) is held, in order, chained through the buffer ids. Without
 * buffer rings a connection reads into an own buffer, one recv at a time.
 */
#define _GNU_SOURCE
#include "recv.h"

#include "bufs.h"
#include "sq.h"

/* Held input past which a multishot recv is stopped, so that a client that
 * sends without reading meets TCP's backpressure instead of our memory. */
#define RS_HOLD_MAX 8

static uint8_t *get_input(void *ctx)
{
	return pool_get(&((struct ring *)ctx)->inputs);
}

static void put_input(void *ctx, uint8_t *buf)
{
	pool_put(&((struct ring *)ctx)->inputs, buf);
}

struct conn_env env_of(struct ring *r)
{
	return (struct conn_env){ .policy = &r->srv->policy, .bounds = &r->srv->bounds, .now_ms = r->now_ms,
				  .draining = r->draining, .rng = &r->rng, .buf_cap = r->inputs.size,
				  .get_buf = get_input, .put_buf = put_input, .ctx = r };
}

static void add_recv(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (r->provided) {
		c->multishot = r->use_multishot;
		if (c->multishot)
			io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
		else
			io_uring_prep_recv(sqe, c->fd, NULL, r->bufs.size, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 0;
	} else {
		struct conn_env env = env_of(r);
		uint8_t *buf = conn_own_buffer(&c->http, &env);

		c->multishot = false;
		io_uring_prep_recv(sqe, c->fd, buf + c->http.len, r->inputs.size - c->http.len, 0);
	}
	set_conn_op(r, sqe, c, OP_RECV);
}

void ensure_recv(struct ring *r, struct conn *c)
{
	if ((c->ops & OPB(OP_RECV)) || c->starved || c->held_count || !conn_takes_input(&c->http))
		return;
	add_recv(r, c);
}

void starve(struct ring *r, struct conn *c)
{
	CTR_ADD(r, buffer_shortages, 1);
	if (!c->starved) {
		c->starved = true;
		r->nstarved++;
	}
}

void unstarve(struct ring *r, struct conn *c)
{
	if (c->starved) {
		c->starved = false;
		r->nstarved--;
	}
}

void feed_starved(struct ring *r)
{
	uint32_t quarter = r->bufs.count / 4 ? r->bufs.count / 4 : 1;
	uint32_t free_bufs = r->bufs.count - r->bufs.out;

	if (!r->nstarved || free_bufs < quarter)
		return;
	for (uint32_t n = 0; n < r->nconns && r->nstarved && free_bufs; n++) {
		struct conn *c = &r->conns[r->starve_cursor];

		r->starve_cursor = (r->starve_cursor + 1) % r->nconns;
		if (!c->starved)
			continue;
		unstarve(r, c);
		ensure_recv(r, c);
		free_bufs--;
	}
}

void hold(struct ring *r, struct conn *c, uint16_t bid, uint32_t len, uint32_t off)
{
	r->bufs.next[bid] = RS_NO_BUF;
	r->bufs.len[bid] = len;
	if (c->held_count++) {
		r->bufs.next[c->held_tail] = bid;
	} else {
		c->held_head = bid;
		c->held_off = (uint16_t)off;
	}
	c->held_tail = bid;
	if (c->held_count >= RS_HOLD_MAX && (c->ops & OPB(OP_RECV)) && c->multishot && !c->paused) {
		c->paused = true;
		add_cancel(r, c, OP_RECV);
	}
}

void drop_held(struct ring *r, struct conn *c)
{
	while (c->held_count) {
		uint16_t bid = c->held_head;

		c->held_head = r->bufs.next[bid];
		c->held_count--;
		buf_give_back(r, bid);
	}
	c->held_off = 0;
}
