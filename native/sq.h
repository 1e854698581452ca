/* Room in the submission queue: the one way every unit gets an SQE. */
#ifndef RINGSIDE_SQ_H
#define RINGSIDE_SQ_H

#include "server.h"

/* Room for n SQEs at once (a link chain is reserved whole). */
void reserve_sqes(struct ring *r, unsigned n);
struct io_uring_sqe *get_sqe(struct ring *r);

static inline uint32_t conn_idx(const struct ring *r, const struct conn *c)
{
	return (uint32_t)(c - r->conns);
}
/* Marks sqe as operation t on the connection's socket, in flight (c->ops)
 * until its last completion. */
void set_conn_op(struct ring *r, struct io_uring_sqe *sqe, struct conn *c, enum op_type t);
/* Cancels the connection's operation t, if it is in flight. */
void add_cancel(struct ring *r, const struct conn *c, enum op_type t);

/* liburing 2.3 predates the socket commands (kernel 6.7). */
#ifndef SOCKET_URING_OP_SETSOCKOPT
#define SOCKET_URING_OP_SETSOCKOPT 3
#endif

/* setsockopt(fd, level, name, val, len) as a socket command: no system call.
 * val must outlive the submission. */
static inline void prep_setsockopt(struct io_uring_sqe *sqe, int fd, int level, int name, const void *val, uint32_t len)
{
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = SOCKET_URING_OP_SETSOCKOPT;
	sqe->addr = (uint64_t)(uint32_t)level | ((uint64_t)(uint32_t)name << 32);
	sqe->addr3 = (uint64_t)(uintptr_t)val;
	sqe->file_index = len; /* optlen */
}

#endif
