// The floor phase's bucket rules (bench/lib/buckets.ts) on canned perf script
// stacks, as perf 6.1 prints them on this kernel: leaf first.
import { describe, expect, test } from "bun:test";
import { classify, fold, ruleFor, type Frame } from "../../bench/lib/buckets.ts";

const k = (symbol: string): Frame => ({ symbol, kernel: true });
const u = (symbol: string): Frame => ({ symbol, kernel: false });

describe("classify: the first named kernel frame from the leaf up", () => {
  test("a send's TCP work below the syscall is TCP/IP", () => {
    const frames = [k("copy_user_generic"), k("tcp_sendmsg_locked"), k("sock_sendmsg"), k("__sys_sendto"), k("__x64_sys_sendto"), k("do_syscall_64"), k("entry_SYSCALL_64_after_hwframe"), u("libc.so.6")];
    expect(classify(frames)).toEqual({ bucket: "tcp", by: "tcp_sendmsg_locked" });
  });
  test("a wake-up done by TCP delivery is the scheduler's", () => {
    const frames = [k("_raw_spin_unlock_irqrestore"), k("try_to_wake_up"), k("__wake_up_common"), k("sock_def_readable"), k("tcp_data_queue"), k("tcp_v4_rcv")];
    expect(classify(frames)).toEqual({ bucket: "sched", by: "try_to_wake_up" });
  });
  test("loopback delivery in the softirq under io_uring's send is TCP/IP", () => {
    const frames = [k("pvm_irq_enable"), k("_raw_spin_unlock_irq"), k("process_backlog"), k("__napi_poll"), k("net_rx_action"), k("handle_softirqs"), k("__dev_queue_xmit"), k("io_send"), k("io_sq_thread")];
    expect(classify(frames).bucket).toBe("tcp");
  });
  test("io_uring's own work: task_work, completions, the SQPOLL loop", () => {
    expect(classify([k("tctx_task_work_run"), k("io_sq_tw"), k("io_sq_thread"), k("ret_from_fork")])).toEqual({ bucket: "io_uring", by: "tctx_task_work_run" });
    expect(classify([k("memset"), k("io_req_complete_post.isra.0"), k("__x64_sys_io_uring_enter")]).bucket).toBe("io_uring");
  });
  test("entry and exit, epoll's bookkeeping, a syscall's own work", () => {
    expect(classify([k("syscall_exit_to_user_mode"), k("do_syscall_64"), u("libc.so.6")]).bucket).toBe("syscall");
    expect(classify([k("_raw_spin_lock_irqsave"), k("ep_poll_callback"), k("__wake_up_common")]).bucket).toBe("syscall");
    expect(classify([k("futex_hash"), k("futex_wake"), k("__x64_sys_futex"), k("do_syscall_64")]).bucket).toBe("syscall");
  });
  test("a user-space leaf is the server's own code, named by its DSO", () => {
    expect(classify([u("libringside.so"), u("libc.so.6")])).toEqual({ bucket: "user", by: "libringside.so" });
  });
  test("no named kernel frame: other; user frames above the kernel ones are not read", () => {
    expect(classify([k("clear_page_erms"), k("handle_mm_fault"), k("asm_exc_page_fault"), u("nginx")])).toEqual({ bucket: "other", by: "clear_page_erms" });
    expect(classify([])).toEqual({ bucket: "other", by: "(no frames)" });
  });
  test("compiler suffixes do not hide a name; anchored globs do not over-match", () => {
    expect(ruleFor("tcp_small_queue_check.isra.0")).toBe("tcp");
    expect(ruleFor("__x64_sys_io_uring_enter")).toBe("syscall");
    expect(ruleFor("ringside_io_thing")).toBeUndefined();
  });
});

const SCRIPT = `iou-sqp-22410 22411 
\tffffffff81e869a9 sock_rfree ([kernel.kallsyms])
\tffffffff8206e99f tcp_recvmsg_locked ([kernel.kallsyms])
\tffffffff81ba48e4 io_recv ([kernel.kallsyms])
\tffffffff81b95003 io_sq_thread ([kernel.kallsyms])

ringside-ring 22410 
\t            29a2 [unknown] (/usr/lib/x86_64-linux-gnu/liburing.so.2.3)
\t    7f76e8906004 [unknown] ([unknown])

Bun Pool 0 22404 
\tffffffff8226e860 _raw_spin_unlock_irq ([kernel.kallsyms])
\tffffffff812f0000 finish_task_switch.isra.0 ([kernel.kallsyms])
\tffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])

mi-scavenger 22405 
\tffffffff8160fce1 tlb_finish_mmu ([kernel.kallsyms])
\t          101b07 __madvise (/usr/lib/x86_64-linux-gnu/libc.so.6)
`;

describe("fold", () => {
  test("counts samples by bucket and by thread, numbers dropped from thread names", () => {
    const f = fold(SCRIPT);
    expect(f.samples).toBe(4);
    expect(f.buckets).toEqual({ tcp: 1, syscall: 0, io_uring: 0, sched: 1, user: 1, other: 1 });
    expect(f.threads).toEqual({ "iou-sqp": 1, "ringside-ring": 1, "Bun Pool": 1, "mi-scavenger": 1 });
    expect(f.deciders.user).toEqual([["liburing.so.2.3", 1]]);
    expect(f.deciders.tcp).toEqual([["sock_rfree", 1]]);
  });
  test("empty output folds to nothing", () => {
    expect(fold("").samples).toBe(0);
  });
});
