// Where a CPU sample's time goes: the rules that fold a call-graph sample
// (perf script) into one of six buckets, and the folding. A sample whose leaf
// is in user space is the server's own code. Otherwise its kernel frames are
// read from the leaf up and the first frame that a rule names decides; where
// one frame matches two rules, the earlier rule in RULES wins. Frames nearer
// the leaf say more: a send's TCP work sits below the syscall that asked for
// it, a wake-up below the TCP delivery that caused it, so each counts as what
// it is. A sample with no named kernel frame (page faults, timer interrupts,
// memory management) is "other". Pure: tested on canned stacks.

export const BUCKETS = ["tcp", "syscall", "io_uring", "sched", "user", "other"] as const;
export type Bucket = (typeof BUCKETS)[number];

export const BUCKET_LABELS: Record<Bucket, string> = {
  tcp: "TCP/IP and loopback",
  syscall: "syscalls and epoll",
  io_uring: "io_uring",
  sched: "scheduler and wake-ups",
  user: "user space",
  other: "other",
};

/** A kernel-frame rule: symbol globs (`*` any run of characters), whole-name matches. */
export interface Rule {
  bucket: Exclude<Bucket, "user" | "other">;
  globs: readonly string[];
}

/** In order: for a frame that two rules name, the first wins. */
export const RULES: readonly Rule[] = [
  {
    // The work any server's connections cost the kernel: the socket layer, TCP,
    // IP, the loopback device and its receive softirq.
    bucket: "tcp",
    globs: [
      "tcp_*", "__tcp_*", "tcp4_*", "ip_*", "__ip_*", "ipv4_*", "inet_*", "__inet_*", "inet6_*",
      "sk_*", "__sk_*", "sock_*", "__sock_*", "sockfd_lookup*", "release_sock", "__release_sock", "lock_sock*",
      "skb_*", "__skb_*", "kfree_skb*", "__kfree_skb*", "consume_skb", "alloc_skb*", "__alloc_skb", "__napi_alloc_skb",
      "__netif_*", "netif_*", "net_rx_action", "napi_*", "__napi_*", "process_backlog",
      "loopback_xmit", "dev_queue_xmit", "__dev_queue_xmit", "dev_hard_start_xmit", "validate_xmit_skb*",
      "nf_hook_slow", "dst_release", "do_accept", "reqsk_*", "inet_csk_*", "csum_partial*",
    ],
  },
  {
    // io_uring's own work: submission, issue, poll arming, task_work, completion posting, the SQPOLL loop.
    bucket: "io_uring",
    globs: ["io_*", "__io_*", "tctx_task_work*"],
  },
  {
    // Sleeping, switching and waking threads (the epoll or io_uring wake-ups included).
    bucket: "sched",
    globs: [
      "schedule*", "__schedule", "finish_task_switch*", "__switch_to*", "try_to_wake_up", "ttwu_*", "*wake_up*",
      "pick_next_task*", "__pick_next_task*", "enqueue_task*", "dequeue_task*", "enqueue_entity", "dequeue_entity*",
      "do_idle", "cpu_idle*", "sched_balance_*", "update_curr*",
    ],
  },
  {
    // Crossing into and out of the kernel, and epoll's bookkeeping.
    bucket: "syscall",
    globs: [
      "entry_SYSCALL*", "do_syscall_64", "syscall_exit*", "syscall_enter*", "exit_to_user_mode*", "x64_sys_call",
      "__x64_sys_*", "__do_sys_*", "__sys_*", "ksys_*", "__fdget*", "fdget*", "__fget*",
      "ep_*", "__ep_*", "do_epoll_*",
    ],
  },
];

function globRegExp(globs: readonly string[]): RegExp {
  const alt = globs.map((g) => g.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*"));
  return new RegExp(`^(?:${alt.join("|")})$`);
}

const COMPILED = RULES.map((r) => ({ bucket: r.bucket, re: globRegExp(r.globs) }));

/** The rule's bucket for one kernel symbol, or undefined when no rule names it. */
export function ruleFor(symbol: string): Rule["bucket"] | undefined {
  const name = symbol.replace(/\.(?:isra|constprop|part|cold|llvm)\.\d+.*$|\+0x[0-9a-f]+$/, "");
  return COMPILED.find((r) => r.re.test(name))?.bucket;
}

export interface Frame {
  symbol: string;
  kernel: boolean;
}

/** A sample's bucket, and the frame that decided it (the leaf's DSO for user space). */
export function classify(frames: readonly Frame[]): { bucket: Bucket; by: string } {
  const leaf = frames[0];
  if (!leaf) return { bucket: "other", by: "(no frames)" };
  if (!leaf.kernel) return { bucket: "user", by: leaf.symbol };
  for (const f of frames) {
    if (!f.kernel) break;
    const bucket = ruleFor(f.symbol);
    if (bucket) return { bucket, by: f.symbol };
  }
  return { bucket: "other", by: leaf.symbol };
}

/** One window's samples, folded. */
export interface Folded {
  samples: number;
  buckets: Record<Bucket, number>;
  /** Samples by thread name, numbers dropped (iou-sqp-123 as iou-sqp, "Bun Pool 0" as "Bun Pool"). */
  threads: Record<string, number>;
  /** Per bucket, the frames that decided most of its samples (top 5): for checking the rules. */
  deciders: Record<Bucket, Array<[string, number]>>;
}

const emptyBuckets = (): Record<Bucket, number> => ({ tcp: 0, syscall: 0, io_uring: 0, sched: 0, user: 0, other: 0 });

/** x86-64 and arm64 kernel addresses are the top half: ffff.... */
const isKernelIp = (ip: string): boolean => ip.length === 16 && ip.startsWith("ffff");

const FRAME = /^\s+([0-9a-f]+)\s+(.*?)\s+\(([^()]*)\)\s*$/;

/** One sample of `perf script -F comm,tid,ip,sym,dso`: the header line, then a frame per line, leaf first. */
function parseSample(lines: readonly string[]): { thread: string; frames: Frame[] } | undefined {
  const head = lines[0];
  if (head === undefined || /^\s/.test(head)) return undefined;
  const thread = head.trim().replace(/\s+\d+$/, "").replace(/[-\s]\d+$/, "");
  const frames: Frame[] = [];
  for (const line of lines.slice(1)) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const kernel = isKernelIp(m[1]!);
    // A user frame is named by its DSO: user symbols of stripped binaries and JIT code are unknown.
    frames.push({ kernel, symbol: kernel ? m[2]! : (m[3]!.split("/").pop() ?? m[3]!) });
  }
  return { thread, frames };
}

function top(counts: Map<string, number>, n: number): Array<[string, number]> {
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
}

/** Folds `perf script -F comm,tid,ip,sym,dso` output (samples separated by blank lines) into buckets. */
export function fold(text: string): Folded {
  const out: Folded = { samples: 0, buckets: emptyBuckets(), threads: {}, deciders: { tcp: [], syscall: [], io_uring: [], sched: [], user: [], other: [] } };
  const by = new Map<Bucket, Map<string, number>>(BUCKETS.map((b) => [b, new Map()]));
  for (const block of text.split(/\n\s*\n/)) {
    const sample = parseSample(block.split("\n").filter((l) => l.trim() !== ""));
    if (!sample) continue;
    const { bucket, by: decider } = classify(sample.frames);
    out.samples++;
    out.buckets[bucket]++;
    out.threads[sample.thread] = (out.threads[sample.thread] ?? 0) + 1;
    const m = by.get(bucket)!;
    m.set(decider, (m.get(decider) ?? 0) + 1);
  }
  for (const b of BUCKETS) out.deciders[b] = top(by.get(b)!, 5);
  return out;
}
