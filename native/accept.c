/* Accepting connections into free slots: see accept.h. */
#define _GNU_SOURCE
#include "accept.h"

#include <errno.h>
#include <unistd.h>

#include "io.h"
#include "sq.h"

/* Every armed accept holds a slot: the table can never be overfilled. */
static bool has_free_slot(const struct ring *r)
{
	uint64_t used = r->ctr.active + r->accepts_inflight;

	return r->fixed_files ? used < r->nconns : r->accepts_inflight < r->nfree;
}

/* Single-shot accepts, up to RS_ACCEPT_DEPTH at once. Not multishot: a
 * multishot accept drains the whole backlog in the kernel, and a connection
 * it accepts into a full table is closed there (-ENFILE) and lost. Past
 * max_connections, clients wait in the listen backlog instead. */
static void add_accept(struct ring *r)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	if (r->fixed_files)
		/* "- 1": the helper stores index + 1, and ALLOC is ~0. */
		io_uring_prep_accept_direct(sqe, r->listen_fd, NULL, NULL, 0,
					    IORING_FILE_INDEX_ALLOC - 1);
	else
		io_uring_prep_accept(sqe, r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_ACCEPT, 0, 0));
	r->accepts_inflight++;
}

void rearm_accepts(struct ring *r)
{
	if (r->draining || r->now_ms < r->accept_resume_ms)
		return;
	while (r->accepts_inflight < RS_ACCEPT_DEPTH && has_free_slot(r))
		add_accept(r);
}

/* Under SQPOLL an accept queued just before the drain may not be issued
 * yet: closing the listener under it would fail it with -EBADF. So the
 * listener is closed once the last accept has completed (or been
 * cancelled); from then on the backlog is refused. */
static void close_listener(struct ring *r)
{
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	r->listen_fd = -1;
}

void stop_accepting(struct ring *r)
{
	struct io_uring_sqe *sqe;

	if (!r->accepts_inflight) {
		close_listener(r);
		return;
	}
	sqe = get_sqe(r);
	io_uring_prep_cancel64(sqe, encode_ud(OP_ACCEPT, 0, 0), IORING_ASYNC_CANCEL_ALL);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_CANCEL, 0, 0));
}

static void handle_new_conn(struct ring *r, int res)
{
	uint32_t idx = r->fixed_files ? (uint32_t)res : r->free_slots[--r->nfree];

	open_conn(r, &r->conns[idx], res);
}

void handle_accept(struct ring *r, const struct io_uring_cqe *cqe)
{
	r->accepts_inflight--;
	if (r->draining && !r->accepts_inflight)
		close_listener(r);
	if (cqe->res >= 0) {
		handle_new_conn(r, cqe->res);
	} else if (cqe->res == -EINVAL && r->fixed_files && !r->ctr.accepted) {
		/* Kernel without accept into direct descriptors: plain fds. */
		r->fixed_files = false;
		r->features &= ~RS_FEAT(FIXED_FILES);
	} else if (cqe->res == -EMFILE || cqe->res == -ENFILE || cqe->res == -ENOMEM ||
		   cqe->res == -ENOBUFS) {
		/* Out of descriptors or memory: pause, the tick resumes us. */
		CTR_ADD(r, accept_backoffs, 1);
		r->accept_resume_ms = r->now_ms + RS_ACCEPT_BACKOFF_MS;
	} else if (cqe->res != -ECANCELED) {
		CTR_ADD(r, accept_errors, 1); /* ECONNABORTED and such: one client */
	}
}
