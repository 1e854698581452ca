/* Accepting connections into free slots (accept.c). */
#ifndef RINGSIDE_ACCEPT_H
#define RINGSIDE_ACCEPT_H

#include "server.h"

/* Keeps up to RS_ACCEPT_DEPTH accepts armed while slots are free. */
void rearm_accepts(struct ring *r);
void handle_accept(struct ring *r, const struct io_uring_cqe *cqe);
/* The drain: no new connections; the listener closes once no accept is armed. */
void stop_accepting(struct ring *r);

#endif
