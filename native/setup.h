/* Building a ring: the connection table and the io_uring (setup.c). */
#ifndef RINGSIDE_SETUP_H
#define RINGSIDE_SETUP_H

#include "server.h"

int setup_conns(struct ring *r);
void free_conns(struct ring *r);
int setup_ring(struct ring *r);
/* Records the failed start step and its reason for rs_last_error. */
void set_error(struct ring *r, enum rs_step step, int err);

#endif
