/* A connection's output plumbing: see send.h. */
#define _GNU_SOURCE
#include "send.h"

#include <stdio.h>
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
		const struct blob *b = &r->srv->replies[c->http.replies[0].id];

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

static struct iovec iov_of(struct blob b)
{
	return (struct iovec){ .iov_base = (void *)b.ptr, .iov_len = b.len };
}

/* A reply put together from its route's parts: "HTTP/1.x ", the status
 * line, the header tail, the Content-length line (none for 204 and 304, 0
 * for 205, RFC 9110 8.6 and 15.3.6) and the body (own, the status's reason
 * phrase, or generated), none for HEAD. Returns the iovecs used. */
static unsigned put_together(const struct rs_server *s, struct conn_reply rp, struct iovec *iov, char *length_line)
{
	static const char v10[] = "HTTP/1.0 ", v11[] = "HTTP/1.1 ";
	uint32_t route = rs_reply_route(rp.id), kind = rs_reply_kind(rp.id);
	bool head = kind >= RS_RESP_HEAD_CLOSE_10;
	uint32_t conn_kind = head ? kind - RS_RESP_HEAD_CLOSE_10 : kind;
	uint16_t status = rp.status ? rp.status : s->outcomes[route].status;
	const struct parts *p = &s->parts[route];
	struct blob body = p->body_reason && rp.status ? s->reason_body[status] : p->body;
	unsigned n = 0;
	int len;

	if (rp.size != RS_SIZE_STATIC)
		body = (struct blob){ s->generated, rp.size };
	if (status == 204 || status == 304 || status == 205)
		body.len = 0;
	iov[n++] = (struct iovec){ .iov_base = (void *)(conn_kind >= RS_RESP_CLOSE_11 ? v11 : v10), .iov_len = 9 };
	iov[n++] = iov_of(s->status_line[status]);
	iov[n++] = iov_of(p->tail[kind]);
	if (status == 204 || status == 304)
		len = snprintf(length_line, RS_LENGTH_LINE, "\r\n");
	else
		len = snprintf(length_line, RS_LENGTH_LINE, "Content-length: %u\r\n\r\n", body.len);
	iov[n++] = (struct iovec){ .iov_base = length_line, .iov_len = (size_t)len };
	if (!head && body.len)
		iov[n++] = iov_of(body);
	return n;
}

/* The queued replies as one sendmsg: prebuilt ones whole, the others put
 * together from parts. */
static void build_vec(struct ring *r, struct conn *c)
{
	const struct conn_http *h = &c->http;
	struct sendvec *v = pool_get(&r->vecs);
	unsigned n = 0;

	for (uint32_t i = 0; i < h->nreplies; i++) {
		if (conn_reply_prebuilt(h->replies[i]))
			v->iov[n++] = iov_of(r->srv->replies[h->replies[i].id]);
		else
			n += put_together(r->srv, h->replies[i], v->iov + n, v->length_line[i]);
	}
	memset(&v->msg, 0, sizeof(v->msg));
	v->msg.msg_iov = v->iov;
	v->msg.msg_iovlen = n;
	c->vec = v;
}

/* A close may follow in the kernel only when no recv is armed (it would
 * keep the socket open). One prebuilt reply is a plain send of its bytes;
 * anything else one sendmsg. */
void start_send(struct ring *r, struct conn *c)
{
	const struct conn_http *h = &c->http;

	c->close_linked = conn_done_after_send(h) && can_link_close(r) && !(c->ops & OPB(OP_RECV));
	c->sent = 0;
	if (h->nreplies > 1 || !conn_reply_prebuilt(h->replies[0]))
		build_vec(r, c);
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
	return c->sent < r->srv->replies[c->http.replies[0].id].len;
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

/* fault=reset: SO_LINGER 0 makes the close send an RST. Hard-linked, so the
 * close runs even where the kernel refuses the socket command (before 6.7:
 * then a plain close, and sock_cmd is not among the features). */
void add_reset(struct ring *r, struct conn *c)
{
	static const struct linger abort_on_close = { .l_onoff = 1, .l_linger = 0 };
	struct io_uring_sqe *sqe;

	if (!(r->features & RS_FEAT(SOCK_CMD)))
		return;
	reserve_sqes(r, 2); /* with the close that follows: one chain */
	sqe = get_sqe(r);
	prep_setsockopt(sqe, c->fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
	sqe->flags |= IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS | (r->fixed_files ? IOSQE_FIXED_FILE : 0);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_CANCEL, c->gen, conn_idx(r, c))); /* a failure: nothing owed */
}

void add_shutdown(struct ring *r, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	io_uring_prep_shutdown(sqe, c->fd, SHUT_WR);
	set_conn_op(r, sqe, c, OP_SHUTDOWN);
}
