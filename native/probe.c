/* Diagnostics for `ringside --doctor`: can this process set up a ring with
 * the given flags, what does the kernel report about it, which opcodes does
 * io_uring_get_probe say it supports, and which of them the server submits.
 * The server never calls this. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "server.h"

#include "probe.h"

/* enum io_uring_op, in kernel order (include/uapi/linux/io_uring.h). */
static const char *const op_names[] = {
	"NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED", "POLL_ADD", "POLL_REMOVE",
	"SYNC_FILE_RANGE", "SENDMSG", "RECVMSG", "TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT",
	"ASYNC_CANCEL", "LINK_TIMEOUT", "CONNECT", "FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE",
	"STATX", "READ", "WRITE", "FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2", "EPOLL_CTL",
	"SPLICE", "PROVIDE_BUFFERS", "REMOVE_BUFFERS", "TEE", "SHUTDOWN", "RENAMEAT", "UNLINKAT",
	"MKDIRAT", "SYMLINKAT", "LINKAT", "MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR",
	"GETXATTR", "SOCKET", "URING_CMD", "SEND_ZC", "SENDMSG_ZC", "READ_MULTISHOT", "WAITID",
	"FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_WAITV", "FIXED_FD_INSTALL", "FTRUNCATE", "BIND",
	"LISTEN", "RECV_ZC", "EPOLL_WAIT", "READV_FIXED", "WRITEV_FIXED", "PIPE", "NOP128",
	"URING_CMD128",
};

/* The opcodes the ring thread submits: a kernel missing one cannot run the
 * server (TIMEOUT only with a delay, URING_CMD only for fault=reset). */
const uint8_t rs_ops_used[] = {
	IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND, IORING_OP_SENDMSG, IORING_OP_SHUTDOWN,
	IORING_OP_CLOSE, IORING_OP_ASYNC_CANCEL, IORING_OP_READ, IORING_OP_TIMEOUT, IORING_OP_URING_CMD,
};
const size_t rs_ops_used_len = sizeof(rs_ops_used);

RS_EXPORT const char *rs_op_name(uint32_t op)
{
	return op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : NULL;
}

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
