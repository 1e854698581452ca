/* A connection's output plumbing: sends over the prebuilt replies, the
 * delay's timeout, the shutdown of a lingering close, the close (send.c).
 * When to do which is io.c's and conn.c's. */
#ifndef RINGSIDE_SEND_H
#define RINGSIDE_SEND_H

#include "server.h"

/* Sends the replies conn.c queued; a close is linked behind the last ones
 * when nothing can follow. */
void start_send(struct ring *r, struct conn *c);
/* Sends what is left of the queued replies after a short send. */
void add_send(struct ring *r, struct conn *c);
/* Drops sent bytes from the queued replies; true while some remain. */
bool advance(struct ring *r, struct conn *c, uint32_t sent);
/* Gives back a pipelined batch's sendvec. */
void drop_vec(struct ring *r, struct conn *c);
/* A timeout of ms, completing with -ETIME: DELAYING's clock. */
void add_delay(struct ring *r, struct conn *c, uint64_t ms);
/* Makes the close queued next send an RST (fault=reset), where the kernel
 * takes socket commands (the sock_cmd feature). */
void add_reset(struct ring *r, struct conn *c);
/* Shuts the write side (a lingering close). */
void add_shutdown(struct ring *r, struct conn *c);
void prep_close(struct ring *r, struct io_uring_sqe *sqe, const struct conn *c);

#endif
