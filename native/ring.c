/* The ring thread: accepts, the completion loop, timers and the drain.
 *
 * What a connection does next is decided by its state machine (conn.c,
 * with the response policy in policy.c); io.c carries out each step and
 * turns each completion back into an event for it; accept.c fills free
 * slots. Everything a ring touches is its own, so no locking is needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"

#include "accept.h"
#include "io.h"
#include "recv.h"
#include "setup.h"
#include "sq.h"

/* ---- completions --------------------------------------------------------- */

static void handle_cqe(struct ring *r, const struct io_uring_cqe *cqe)
{
	enum op_type t = ud_type(cqe->user_data);

	if (cqe->flags & IORING_CQE_F_BUFFER)
		r->bufs.out++;
	if (t == OP_ACCEPT)
		handle_accept(r, cqe);
	else if (t == OP_RECV || t == OP_SEND || t == OP_SHUTDOWN || t == OP_DELAY || t == OP_CLOSE)
		io_complete(r, cqe);
	/* cancel, wake: nothing owed */
}

/* ---- timers, draining, the loop ---------------------------------------- */

/* A spin-wait hint: lets the SQPOLL thread or a sibling hyperthread run. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static void add_wake(struct ring *r)
{
	struct io_uring_sqe *sqe = get_sqe(r);

	io_uring_prep_read(sqe, r->wake_fd, &r->wake_buf, sizeof(r->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, encode_ud(OP_WAKE, 0, 0));
}

static void start_drain(struct ring *r)
{
	r->draining = true;
	CTR_SET(r, state, RS_STATE_DRAINING);
	r->drain_deadline_ms = r->now_ms + r->srv->stop_drain_ms;
	stop_accepting(r);
	io_drain(r);
}

static void tick(struct ring *r)
{
	if (r->now_ms < r->next_tick_ms)
		return;
	r->next_tick_ms = r->now_ms + RS_TICK_MS;
	CTR_SET(r, cq_overflow, *r->uring.cq.koverflow);
	if (r->accept_resume_ms && r->now_ms >= r->accept_resume_ms)
		r->accept_resume_ms = 0;
	if (r->ctr.active)
		io_sweep(r, r->draining && r->now_ms >= r->drain_deadline_ms);
	if (r->draining && (!r->ctr.active || r->now_ms >= r->drain_deadline_ms + RS_HARD_STOP_MS))
		r->done = true;
}

static void park(struct ring *r)
{
	bool timers = r->ctr.active || r->draining || r->accept_resume_ms;
	struct __kernel_timespec ts = { .tv_sec = timers ? 0 : 1,
					.tv_nsec = timers ? RS_TICK_MS * 1000000L : 0 };
	struct io_uring_cqe *cqe;
	unsigned want = 1;

	/* Batch mode under load: wait for a share of the connections in
	 * flight, briefly, so one io_uring_enter reaps many completions. */
	if (r->srv->cfg.mode == RS_MODE_BATCH && r->ctr.active >= 4) {
		want = r->ctr.active / 2 < RS_BATCH_MAX ? (unsigned)r->ctr.active / 2 : RS_BATCH_MAX;
		ts = (struct __kernel_timespec){ .tv_nsec = RS_BATCH_WAIT_US * 1000L };
	}
	CTR_ADD(r, parks, 1);
	io_uring_submit_and_wait_timeout(&r->uring, &cqe, want, &ts, NULL);
	/* Before the completions of the wait are handled: a clock that starts
	 * (a connection accepted, a delay armed) must start from now, not from
	 * before a long sleep, or its deadline comes early. */
	r->now_ms = now_ms();
}

static void wait_for_work(struct ring *r)
{
	uint32_t budget = r->srv->cfg.spin_budget_ms;

	if (r->srv->cfg.mode == RS_MODE_SPIN &&
	    (budget == RS_SPIN_FOREVER || r->now_ms - r->last_activity_ms < budget)) {
		/* Under SQPOLL this only writes the SQ tail: no syscall unless
		 * the kernel thread went to sleep. */
		io_uring_submit(&r->uring);
		cpu_relax();
		return;
	}
	park(r);
}

static unsigned reap(struct ring *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&r->uring, head, cqe) {
		handle_cqe(r, cqe);
		n++;
	}
	if (n)
		io_uring_cq_advance(&r->uring, n);
	if (r->nstarved)
		feed_starved(r);
	return n;
}

static void run(struct ring *r)
{
	r->last_activity_ms = r->now_ms = now_ms();
	while (!r->done) {
		unsigned n = reap(r);
		/* A spinning ring reads the clock when it handled something, and
		 * every 64th empty spin (timers are 100 ms coarse, the spin budget
		 * is milliseconds): not on every turn of the loop. */
		if (n || r->srv->cfg.mode != RS_MODE_SPIN || !(++r->idle_spins & 63))
			r->now_ms = now_ms();
		CTR_ADD(r, loops, 1);
		if (n)
			r->last_activity_ms = r->now_ms;
		if (!r->draining && __atomic_load_n(&r->srv->stop_requested, __ATOMIC_ACQUIRE))
			start_drain(r);
		tick(r);
		rearm_accepts(r); /* slots freed this turn, or the backoff ended */
		/* Batch mode submits and waits in one io_uring_enter; under
		 * SQPOLL submitting is free, and waiting is for when idle. */
		if (r->srv->cfg.mode == RS_MODE_BATCH)
			park(r);
		else if (n)
			io_uring_submit(&r->uring);
		else
			wait_for_work(r);
	}
}

static void cleanup_ring(struct ring *r)
{
	/* Exiting the ring cancels what is left and closes direct descriptors;
	 * plain fds (no fixed files) are ours to close. */
	io_uring_queue_exit(&r->uring);
	for (uint32_t i = 0; i < r->nconns; i++)
		if (r->conns[i].http.state != CONN_FREE && !r->fixed_files)
			close(r->conns[i].fd);
	CTR_SET(r, active, 0);
}

static int start_ring(struct ring *r)
{
	int ret = setup_ring(r);

	if (ret < 0)
		return ret;
	r->now_ms = now_ms();
	add_wake(r);
	rearm_accepts(r);
	ret = io_uring_submit(&r->uring);
	if (ret < 0) {
		set_error(r, RS_STEP_SUBMIT, -ret);
		io_uring_queue_exit(&r->uring);
		return ret;
	}
	return 0;
}

/* Pinned only after the ring exists: the SQPOLL thread inherits its
 * creator's CPU mask, and --cpu is for this thread alone (--sq-cpu places
 * the kernel thread). */
static void pin_ring_thread(struct ring *r)
{
	cpu_set_t set;

	if (r->cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0)
		r->features |= RS_FEAT(RING_AFF);
}

void *ring_thread_main(void *arg)
{
	struct ring *r = arg;
	sigset_t all;
	int ret;

	/* Signals belong to Bun's threads, never to this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_setname_np(pthread_self(), r->name);
	ret = start_ring(r);
	if (ret == 0) {
		pin_ring_thread(r);
		CTR_SET(r, state, RS_STATE_RUNNING);
	}
	r->setup_result = ret;
	__atomic_store_n(&r->setup_done, 1, __ATOMIC_RELEASE);
	if (ret < 0)
		return NULL;
	run(r);
	cleanup_ring(r);
	CTR_SET(r, state, RS_STATE_STOPPED);
	return NULL;
}
