/* deny_io_uring ERRNO CMD [ARGS...]: runs CMD under a seccomp filter that
 * fails io_uring_setup, io_uring_enter and io_uring_register with ERRNO, as
 * Docker's and containerd's default profiles do. Used by the tests. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DENY(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA))

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: deny_io_uring ERRNO CMD [ARGS...]\n");
		return 2;
	}
	unsigned err = (unsigned)atoi(argv[1]);
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		DENY(__NR_io_uring_setup),
		DENY(__NR_io_uring_enter),
		DENY(__NR_io_uring_register),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		perror("deny_io_uring: seccomp");
		return 1;
	}
	execvp(argv[2], argv + 2);
	perror("deny_io_uring: exec");
	return 127;
}
