/* Room in the submission queue: see sq.h. */
#include "sq.h"

/* A full SQ is normal in a burst: hand it to the kernel (under SQPOLL, wait
 * for its thread to make room). Reserving a whole link chain first keeps a
 * flush from splitting it (the part submitted first would run unlinked).
 * sq_full counts the times the queue was found full, not the turns spent
 * waiting for room. */
void reserve_sqes(struct ring *r, unsigned n)
{
	if (io_uring_sq_space_left(&r->uring) >= n)
		return;
	CTR_ADD(r, sq_full, 1);
	do {
		io_uring_submit(&r->uring);
		if (r->features & RS_FEAT(SQPOLL))
			io_uring_sqring_wait(&r->uring);
	} while (io_uring_sq_space_left(&r->uring) < n);
}

struct io_uring_sqe *get_sqe(struct ring *r)
{
	reserve_sqes(r, 1);
	return io_uring_get_sqe(&r->uring);
}

/* Counted until its last completion: the slot (a fixed file index, or an fd
 * number) is closed and reused only once nothing queued for this connection
 * can still run (see close_conn in io.c). */
void set_conn_op(struct ring *r, struct io_uring_sqe *sqe, struct conn *c, enum op_type t)
{
	if (r->fixed_files && t != OP_DELAY)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, encode_ud(t, c->gen, conn_idx(r, c)));
	c->ops |= OPB(t);
}

void add_cancel(struct ring *r, const struct conn *c, enum op_type t)
{
	struct io_uring_sqe *sqe;

	if (!(c->ops & OPB(t)))
		return;
	sqe = get_sqe(r);
	io_uring_prep_cancel64(sqe, encode_ud(t, c->gen, conn_idx(r, c)), 0);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_CANCEL, c->gen, conn_idx(r, c)));
}
