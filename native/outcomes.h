/* What each response is drawn from: weighted statuses, delays and faults,
 * generated bodies, per-request control (outcomes.c). */
#ifndef RINGSIDE_OUTCOMES_H
#define RINGSIDE_OUTCOMES_H

#include "server.h"

/* After setup_replies (it needs the statuses table); -EINVAL with *why set
 * when a weight, status or size is out of bounds. */
int setup_outcomes(struct rs_server *s, const char **why);
void free_outcomes(struct rs_server *s);

#endif
