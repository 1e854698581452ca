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

#endif
