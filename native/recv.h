/* A connection's input plumbing: receives into provided or own buffers,
 * input held while the connection cannot take it, the buffer ring running
 * dry (recv.c). What the input means is io.c's and conn.c's. */
#ifndef RINGSIDE_RECV_H
#define RINGSIDE_RECV_H

#include "server.h"

/* What a state machine step needs from this ring (conn.h). */
struct conn_env env_of(struct ring *r);
/* A recv in flight whenever the connection takes input, unless held input
 * waits (it comes first) or the buffer ring is dry. */
void ensure_recv(struct ring *r, struct conn *c);
/* Its recv found the buffer ring dry: re-armed by feed_starved. */
void starve(struct ring *r, struct conn *c);
void unstarve(struct ring *r, struct conn *c);
/* Re-arms starved connections, as many as there are buffers free, in turn. */
void feed_starved(struct ring *r);
/* Keeps bytes [off, len) of buffer bid for later, after what already waits;
 * a multishot recv holding too much is stopped (TCP pushes back). */
void hold(struct ring *r, struct conn *c, uint16_t bid, uint32_t len, uint32_t off);
void drop_held(struct ring *r, struct conn *c);

#endif
