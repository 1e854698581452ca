/* The bytes a server sends: prebuilt replies, their parts, the statuses
 * table (replies.c). */
#ifndef RINGSIDE_REPLIES_H
#define RINGSIDE_REPLIES_H

#include "server.h"

int setup_replies(struct rs_server *s);
void free_replies(struct rs_server *s);

#endif
