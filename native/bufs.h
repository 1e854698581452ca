/* Memory a ring lends out while it is needed: the provided buffer ring and
 * the pools of own input buffers and sendvecs (bufs.c). */
#ifndef RINGSIDE_BUFS_H
#define RINGSIDE_BUFS_H

#include "server.h"

int pool_init(struct pool *p, uint32_t size, uint32_t count);
void pool_free(struct pool *p);
void *pool_get(struct pool *p);
void pool_put(struct pool *p, void *chunk);
int setup_bufring(struct ring *r);
void free_bufring(struct ring *r);
uint8_t *buf_data(const struct ring *r, uint16_t bid);
void buf_give_back(struct ring *r, uint16_t bid);

#endif
