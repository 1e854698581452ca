/* A connection's steps (io.c): what ring.c and accept.c ask of it. */
#ifndef RINGSIDE_IO_H
#define RINGSIDE_IO_H

#include "server.h"

/* A new connection in slot c, reading its first request. */
void open_conn(struct ring *r, struct conn *c, int fd);
/* A completion of one of a connection's operations (recv, send, shutdown,
 * delay); one whose connection is gone is dropped. */
void io_complete(struct ring *r, const struct io_uring_cqe *cqe);
/* Reports every passed deadline to its connection; drain_over: the drain's
 * own bound ran out, and whatever is open closes. */
void io_sweep(struct ring *r, bool drain_over);
/* The drain began: tells every connection (idle ones close). */
void io_drain(struct ring *r);

#endif
