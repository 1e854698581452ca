/* Memory a ring lends out while it is needed, and only then: the provided
 * buffer ring the kernel receives into, and pools of own input buffers (for
 * an incomplete request) and sendvecs (for a pipelined batch). Everything is
 * one lazily backed mapping: what is never lent costs nothing resident. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bufs.h"

/* Provided buffers: enough for a burst of input over many connections. A
 * request that fits one is framed in place; a bigger one is copied into an
 * own buffer piece by piece. */
#define BUF_SIZE 2048
#define BUF_COUNT_MIN 64
#define BUF_COUNT_MAX 1024

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int pool_init(struct pool *p, uint32_t size, uint32_t count)
{
	p->size = size;
	p->mem_len = (size_t)size * count;
	p->mem = map(p->mem_len);
	p->free = malloc((size_t)count * sizeof(*p->free));
	if (!p->mem || !p->free)
		return -ENOMEM;
	/* Lowest index on top: reuse the chunks already touched first. */
	for (uint32_t i = 0; i < count; i++)
		p->free[i] = count - 1 - i;
	p->nfree = count;
	return 0;
}

void pool_free(struct pool *p)
{
	if (p->mem)
		munmap(p->mem, p->mem_len);
	free(p->free);
	memset(p, 0, sizeof(*p));
}

void *pool_get(struct pool *p)
{
	return p->nfree ? p->mem + (size_t)p->free[--p->nfree] * p->size : NULL;
}

void pool_put(struct pool *p, void *chunk)
{
	p->free[p->nfree++] = (uint32_t)(((uint8_t *)chunk - p->mem) / p->size);
}

/* A quarter of the ring's connections (64 to 1024), unless configured. */
static uint32_t buf_count(const struct ring *r)
{
	uint32_t n = BUF_COUNT_MIN;

	if (r->srv->cfg.recv_buffers)
		return r->srv->cfg.recv_buffers;
	while (n < r->nconns / 4 && n < BUF_COUNT_MAX)
		n <<= 1;
	return n;
}

uint8_t *buf_data(const struct ring *r, uint16_t bid)
{
	return r->bufs.mem + (size_t)bid * r->bufs.size;
}

void buf_give_back(struct ring *r, uint16_t bid)
{
	struct bufring *b = &r->bufs;

	io_uring_buf_ring_add(b->br, buf_data(r, bid), b->size, bid, io_uring_buf_ring_mask(b->count), 0);
	io_uring_buf_ring_advance(b->br, 1);
	b->out--;
}

/* Registers the buffer ring (5.19+) and fills it; a kernel without buffer
 * rings leaves input in own buffers, read one recv at a time. */
int setup_bufring(struct ring *r)
{
	struct bufring *b = &r->bufs;
	struct io_uring_buf_reg reg;
	long page = sysconf(_SC_PAGESIZE);

	b->count = buf_count(r);
	b->size = BUF_SIZE;
	b->br_len = ((b->count * sizeof(struct io_uring_buf) + (size_t)page - 1) / (size_t)page) * (size_t)page;
	b->br = map(b->br_len);
	b->mem_len = (size_t)b->count * b->size;
	b->mem = map(b->mem_len);
	b->next = malloc(b->count * sizeof(*b->next));
	b->len = malloc(b->count * sizeof(*b->len));
	if (!b->br || !b->mem || !b->next || !b->len)
		return -ENOMEM;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)b->br;
	reg.ring_entries = b->count;
	reg.bgid = 0;
	int ret = io_uring_register_buf_ring(&r->uring, &reg, 0);
	if (ret < 0)
		return ret;
	io_uring_buf_ring_init(b->br);
	for (uint32_t i = 0; i < b->count; i++)
		io_uring_buf_ring_add(b->br, buf_data(r, (uint16_t)i), b->size, (unsigned short)i,
				      io_uring_buf_ring_mask(b->count), (int)i);
	io_uring_buf_ring_advance(b->br, (int)b->count);
	return 0;
}

void free_bufring(struct ring *r)
{
	struct bufring *b = &r->bufs;

	if (b->br)
		munmap(b->br, b->br_len);
	if (b->mem)
		munmap(b->mem, b->mem_len);
	free(b->next);
	free(b->len);
	memset(b, 0, sizeof(*b));
}
