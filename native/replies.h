/* Every prebuilt reply in one allocation (replies.c). */
#ifndef RINGSIDE_REPLIES_H
#define RINGSIDE_REPLIES_H

#include "server.h"

int setup_replies(struct rs_server *s);

#endif
