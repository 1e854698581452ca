/* A connection's output plumbing: see send.h. */
#define _GNU_SOURCE
#include "send.h"

#include <string.h>

#include "bufs.h"
#include "sq.h"

void prep_close(struct ring *r, struct io_uring_sqe *sqe, const struct conn *c)
{
	if (r->fixed_files)
		io_uring_prep_close_direct(sqe, (unsigned)c->fd);
	else
		io_uring_prep_close(sqe, c->fd);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_CLOSE, c->gen, conn_idx(r, c)));
}

/* A close linked behind the send: in the kernel, right after it, with no
 * completion on success. One CQE per response, not two. */
static void link_close(struct ring *r, struct io_uring_sqe *send, const struct conn *c)
{
	struct io_uring_sqe *sqe;

	send->flags |= IOSQE_IO_LINK;
	sqe = get_sqe(r);
	prep_close(r, sqe, c);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

/* MSG_WAITALL: the kernel retries a short send itself, so a short result
 * means failure, and a linked close is cancelled rather than cutting the
 * response. One reply is a plain send; a pipelined batch one sendmsg. */
void add_send(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe;

	reserve_sqes(r, 1 + c->close_linked); /* the send and its linked close: one chain */
	sqe = get_sqe(r);
	if (c->vec) {
		io_uring_prep_sendmsg(sqe, c->fd, &c->vec->msg, MSG_NOSIGNAL | MSG_WAITALL);
	} else {
		const struct blob *b = &r->srv->replies[c->http.replies[0]];

		io_uring_prep_send(sqe, c->fd, b->ptr + c->sent, b->len - c->sent, MSG_NOSIGNAL | MSG_WAITALL);
	}
	set_conn_op(r, sqe, c, OP_SEND);
	if (c->close_linked)
		link_close(r, sqe, c);
}

/* A close is linked behind the last send only while this many slots stay
 * free: the kernel frees a linked close's slot at a time we cannot see, and
 * an accept issued in between would find the table full. */
static bool can_link_close(const struct ring *r)
{
	uint64_t used = r->ctr.active + r->accepts_inflight + RS_LINK_CLOSE_HEADROOM;

	return !r->fixed_files || used <= r->nconns;
}

/* A close may follow in the kernel only when no recv is armed (it would
 * keep the socket open). */
void start_send(struct ring *r, struct conn *c)
{
	const struct conn_http *h = &c->http;

	c->close_linked = conn_done_after_send(h) && can_link_close(r) && !(c->ops & OPB(OP_RECV));
	c->sent = 0;
	if (h->nreplies > 1) {
		c->vec = pool_get(&r->vecs);
		for (uint32_t i = 0; i < h->nreplies; i++) {
			const struct blob *b = &r->srv->replies[h->replies[i]];
			c->vec->iov[i] = (struct iovec){ .iov_base = (void *)b->ptr, .iov_len = b->len };
		}
		memset(&c->vec->msg, 0, sizeof(c->vec->msg));
		c->vec->msg.msg_iov = c->vec->iov;
		c->vec->msg.msg_iovlen = h->nreplies;
	}
	add_send(r, c);
}

void drop_vec(struct ring *r, struct conn *c)
{
	if (c->vec)
		pool_put(&r->vecs, c->vec);
	c->vec = NULL;
}

/* Drops sent bytes from the front of msg's iovecs; true if any remain. */
static bool advance_iov(struct msghdr *msg, size_t sent)
{
	while (msg->msg_iovlen && sent >= msg->msg_iov->iov_len) {
		sent -= msg->msg_iov->iov_len;
		msg->msg_iov++;
		msg->msg_iovlen--;
	}
	if (msg->msg_iovlen) {
		msg->msg_iov->iov_base = (uint8_t *)msg->msg_iov->iov_base + sent;
		msg->msg_iov->iov_len -= sent;
	}
	return msg->msg_iovlen > 0;
}

bool advance(struct ring *r, struct conn *c, uint32_t sent)
{
	if (c->vec)
		return advance_iov(&c->vec->msg, sent);
	c->sent += sent;
	return c->sent < r->srv->replies[c->http.replies[0]].len;
}

/* Not linked to the send: the replies are chosen when it expires (in the
 * drain the last becomes a closing one), and a peer that leaves meanwhile
 * cancels it without a send to undo. */
void add_delay(struct ring *r, struct conn *c, uint64_t ms)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	c->delay = (struct __kernel_timespec){ .tv_sec = (long long)(ms / 1000), .tv_nsec = (long long)(ms % 1000) * 1000000 };
	io_uring_prep_timeout(sqe, &c->delay, 0, 0);
	set_conn_op(r, sqe, c, OP_DELAY);
}

void add_shutdown(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	io_uring_prep_shutdown(sqe, c->fd, SHUT_WR);
	set_conn_op(r, sqe, c, OP_SHUTDOWN);
}
