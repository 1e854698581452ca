/* Diagnostics for `ringside --doctor`: can this process set up a ring with
 * the given flags, what does the kernel report about it, and which opcodes
 * does io_uring_get_probe say it supports. The server never calls this. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "ring_internal.h"

static int probe_ops(struct io_uring *ring, uint8_t *ops, uint32_t ops_len)
{
	struct io_uring_probe *probe;
	int last;

	memset(ops, 0, ops_len);
	/* IORING_REGISTER_PROBE (5.6+); NULL when io_uring_register is blocked. */
	probe = io_uring_get_probe_ring(ring);
	if (!probe)
		return 0;
	last = probe->last_op;
	for (int i = 0; i < probe->ops_len; i++) {
		const struct io_uring_probe_op *op = &probe->ops[i];

		if ((op->flags & IO_URING_OP_SUPPORTED) && op->op < ops_len)
			ops[op->op] = 1;
	}
	io_uring_free_probe(probe);
	return last + 1;
}

RS_EXPORT int rs_probe(uint32_t setup_flags, uint32_t *features, uint8_t *ops, uint32_t ops_len)
{
	struct io_uring ring;
	struct io_uring_params p;
	int ret, n = 0;

	memset(&p, 0, sizeof(p));
	p.flags = setup_flags;
	/* A short idle so a probed SQPOLL thread goes to sleep at once. */
	p.sq_thread_idle = 1;
	ret = io_uring_queue_init_params(4, &ring, &p);
	if (ret < 0)
		return ret;
	if (features)
		*features = p.features;
	if (ops && ops_len)
		n = probe_ops(&ring, ops, ops_len);
	io_uring_queue_exit(&ring);
	return n;
}
