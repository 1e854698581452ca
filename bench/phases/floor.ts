// The floor phase (issue 18): where each server's CPU goes, per request, side
// by side. ringside batch and sqpoll (1 ring), nginx (1 worker) and Bun.serve,
// each held to half a CPU on CPU 1 with wrk on CPU 0 (as in the quota phase),
// in close, keep-alive and pipelined mode; over each wrk run perf samples every
// server thread with its call graph (lib/floor.ts) and the samples are folded
// into buckets (lib/buckets.ts). The TCP/IP bucket is the floor: what any
// server's connections cost the kernel. From it, the highest ratio against the
// peers that half a CPU allows.
import { BUCKETS, BUCKET_LABELS, RULES, type Bucket } from "../lib/buckets.ts";
import { BATCH_1, CONN_MODES, CONN_TITLES, type ConnMode } from "../lib/config.ts";
import { log } from "../lib/ctx.ts";
import { bucketUs, coverage, kernelShare, profiledLoad, switchesPerReq, totalUs, type FloorRun } from "../lib/floor.ts";
import { perfAvailable } from "../lib/perf.ts";
import { QUOTA_CPUS, QUOTA_PLACE, quotaBlocker } from "../lib/quota.ts";
import { connsOf, figure, has, runsOf } from "../lib/rows.ts";
import { fmt, fmtSpread, spread, type Spread } from "../lib/stats.ts";
import { skipped, sweepPlan, sweepWith, type Row, type RowInfo, type SweepPlan, type SweepResult } from "../lib/sweep.ts";
import { table, targetLines } from "../report/md.ts";
import { clientBound, rowList, sizesLine } from "../report/rows.ts";
import type { Done, Phase, Target } from "./phase.ts";

export interface FloorPlan extends SweepPlan {
  /** perf's samples per CPU-second of a thread. */
  hz: number;
}

type FloorResult = SweepResult<FloorRun>;
type FloorRecord = Done<FloorPlan, FloorResult>;

const ROWS: readonly Row[] = [
  { key: "batch", label: "ringside batch", kind: "ringside", flags: BATCH_1, ...QUOTA_PLACE },
  { key: "sqpoll", label: "ringside sqpoll", kind: "ringside", flags: ["--mode", "sqpoll", "--rings", "1"], ...QUOTA_PLACE },
  { key: "nginx", label: "nginx, 1 worker", kind: "nginx", ...QUOTA_PLACE },
  { key: "bun", label: "Bun.serve", kind: "bun", ...QUOTA_PLACE },
];
const RINGSIDE = ["batch", "sqpoll"] as const;
const PEERS = { nginx: "nginx", bun: "Bun.serve" } as const;
type Peer = keyof typeof PEERS;

/** The issue's ratio targets, one per workload, against the peer it names. */
const WANTS: ReadonlyArray<{ conn: ConnMode; peer: Peer; want: number }> = [
  { conn: "keep-alive", peer: "nginx", want: 2 },
  { conn: "close", peer: "nginx", want: 1.25 },
  { conn: "pipelined", peer: "bun", want: 2.5 },
];

// ---------------------------------------------------------------- figures

/** req/s ringside would make in the quota if it paid its floor (TCP/IP bucket) and nothing else. */
const floorRps = (r: FloorRun): number => (QUOTA_CPUS * 1e6) / bucketUs(r, "tcp");

/** req/s with no perf attached: what the server makes, for the ratios. */
const rps = (r: FloorRun): number => r.profile.unprofiled.rps;

/** ringside at its floor over a peer's measured req/s, round by round (same round only). */
function ceiling(p: FloorResult, ring: string, peer: Peer, conn: ConnMode): Spread {
  const peers = runsOf(p, peer, conn);
  return spread(runsOf(p, ring, conn).flatMap((r) => {
    const q = peers.find((x) => x.round === r.round);
    return q ? [floorRps(r) / rps(q)] : [];
  }));
}

const med = (p: FloorResult, key: string, conn: ConnMode, f: (r: FloorRun) => number): number => figure(p, key, conn, f).median;

// ---------------------------------------------------------------- targets

function ceilingTarget(p: FloorResult, w: (typeof WANTS)[number]): Target {
  const c = ceiling(p, "batch", w.peer, w.conn);
  const floor = med(p, "batch", w.conn, (r) => bucketUs(r, "tcp"));
  const peerRps = med(p, w.peer, w.conn, rps);
  const now = med(p, "batch", w.conn, rps) / peerRps;
  return {
    name: `floor, ${w.conn}: the highest ratio of ringside batch over ${PEERS[w.peer]} that half a CPU allows (ringside paying its TCP/IP floor alone)`,
    want: `>= ${w.want}x (issue 18's target within the floor)`,
    got: c.n ? `${fmtSpread(c, "x")}: floor ${fmt(floor)} µs/req, ${fmt(QUOTA_CPUS * 1e6 / floor)} req/s vs ${PEERS[w.peer]}'s ${fmt(peerRps)}; measured ${fmt(now)}x` : "n/a",
    met: c.n ? c.median >= w.want : null,
  };
}

function targets({ result: p }: FloorRecord): Target[] {
  if (p.skipped) return [];
  return WANTS.filter((w) => has(p, "batch") && has(p, w.peer) && connsOf(p).includes(w.conn)).map((w) => ceilingTarget(p, w));
}

// ---------------------------------------------------------------- report

const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : "n/a");

function rulesTable(): string {
  const rows = RULES.map((r, i) => [`${i + 1}`, BUCKET_LABELS[r.bucket], r.globs.map((g) => `\`${g}\``).join(" ")]);
  return table(
    ["order", "bucket", "a kernel frame named"],
    [["-", BUCKET_LABELS.user, "the sample's leaf is in user space (the server's binary, its libraries, JIT code)"], ...rows, ["-", BUCKET_LABELS.other, "no kernel frame named above (page faults, timer interrupts, memory management)"]],
  );
}

function workloadRow(p: FloorResult, row: RowInfo, conn: ConnMode): string[] {
  const f = (g: (r: FloorRun) => number, unit = ""): string => fmtSpread(figure(p, row.key, conn, g), unit);
  const above = (r: FloorRun): number => totalUs(r) - bucketUs(r, "tcp");
  return [
    row.label,
    f(rps),
    ...BUCKETS.map((b: Bucket) => f((r) => bucketUs(r, b))),
    f(totalUs),
    f((r) => r.profile.unprofiled.usPerReq),
    f(above),
    f(switchesPerReq),
    pct(med(p, row.key, conn, kernelShare)),
    f(coverage),
  ];
}

function ceilingLines(p: FloorResult, conn: ConnMode): string[] {
  const peers = (Object.keys(PEERS) as Peer[]).filter((peer) => has(p, peer));
  return RINGSIDE.filter((ring) => runsOf(p, ring, conn).length).map((ring) => {
    const label = ROWS.find((r) => r.key === ring)!.label;
    const floor = med(p, ring, conn, (r) => bucketUs(r, "tcp"));
    const vs = peers.map((peer) => `${fmtSpread(ceiling(p, ring, peer, conn), "x")} ${PEERS[peer]}'s ${fmt(med(p, peer, conn, rps))} req/s (measured: ${fmt(med(p, ring, conn, rps) / med(p, peer, conn, rps))}x)`);
    return `- ${label} at its floor (${fmt(floor)} µs/req of TCP/IP, nothing else) would make ${QUOTA_CPUS} s / ${fmt(floor)} µs = ${fmt(QUOTA_CPUS * 1e6 / floor)} req/s: ${vs.join("; ") || "no peer measured"}.`;
  });
}

/** Where each ringside row's samples ran (the SQPOLL thread is a thread of the process: perf -p sees it). */
function threadLines(p: FloorResult, conn: ConnMode): string[] {
  return p.rows.filter((row) => row.kind === "ringside").flatMap((row) => {
    const runs = runsOf(p, row.key, conn);
    const total = runs.reduce((a, r) => a + r.profile.folded.samples, 0);
    if (!total) return [];
    const by = new Map<string, number>();
    for (const r of runs) for (const [t, n] of Object.entries(r.profile.folded.threads)) by.set(t, (by.get(t) ?? 0) + n);
    const parts = [...by.entries()].sort((a, b) => b[1] - a[1]).filter(([, n]) => n / total >= 0.01).map(([t, n]) => `${t} ${pct(n / total)}`);
    return [`- ${row.label}'s samples by thread: ${parts.join(", ")}.`];
  });
}

/** What fell to "other", where it is 3% or more of a row's samples: to check the rules. */
function otherLines(p: FloorResult, conn: ConnMode): string[] {
  return p.rows.flatMap((row) => {
    const runs = runsOf(p, row.key, conn);
    const samples = runs.reduce((a, r) => a + r.profile.folded.samples, 0);
    const other = runs.reduce((a, r) => a + r.profile.folded.buckets.other, 0);
    if (!samples || other / samples < 0.03) return [];
    const top = runs[0]!.profile.folded.deciders.other.map(([s, n]) => `${s} ${n}`).join(", ");
    return [`- ${row.label}: ${pct(other / samples)} of samples matched no rule (leaf frames of round 1: ${top}).`];
  });
}

function workloadLines(p: FloorResult, conn: ConnMode): string[] {
  const head = ["server", "req/s (no perf)", ...BUCKETS.map((b) => `${BUCKET_LABELS[b]}${b === "tcp" ? " (the floor)" : ""}`), "total µs/req (/proc)", "µs/req with no perf", "above the floor", "context switches/req", "kernel share", "perf coverage"];
  return [
    `### ${CONN_TITLES[conn]}`,
    "",
    "µs of server CPU per request in each bucket (medians over rounds, min–max; the buckets of one run add up to its total, their medians need not).",
    "",
    table(head, p.rows.filter((row) => runsOf(p, row.key, conn).length).map((row) => workloadRow(p, row, conn))),
    "",
    ...ceilingLines(p, conn),
    ...threadLines(p, conn),
    ...otherLines(p, conn),
    "",
  ];
}

/** Kernel against user work per server, by workload: what to compare between machines. */
function balanceLine(p: FloorResult): string {
  const parts = connsOf(p).map((conn) => `${conn}: ${p.rows.filter((row) => runsOf(p, row.key, conn).length).map((row) => `${row.label} ${pct(med(p, row.key, conn, kernelShare))}`).join(", ")}`);
  return `Kernel share of each server's samples (every bucket but user space) on this machine, ${parts.join("; ")}. Compare it between machines before comparing ratios: where the kernel's work is most of every server's cost, a faster or slower kernel path (CPU, mitigations, virtualisation) moves every ratio.`;
}

function section(done: FloorRecord): string[] {
  const { plan, result: p } = done;
  const title = "## Where the time goes: per-request cost against the floor (issue 18)";
  if (p.skipped) return [title, "", `Skipped: ${p.skipped}.`, ""];
  return [
    title,
    "",
    `Every server in a cgroup of its own with a ${QUOTA_CPUS}-CPU quota on CPU 1, wrk on CPU 0, as in the quota phase. ${sizesLine(plan)} ` +
      `Over each measured wrk run, \`perf record -g -e cpu-clock -F ${plan.hz} -p PIDS\` samples every thread of the server (nginx: master and worker; ringside: the ring thread and the SQPOLL kernel thread, iou-sqp, which is a thread of its process), and only the samples taken during the run are kept (\`perf script --time\`). ` +
      "Each sample goes to one bucket: a user-space leaf is the server's own code; otherwise its kernel frames are read from the leaf up, and the first frame a rule names decides (where two rules name one frame, the earlier in the table). " +
      "So a send's TCP work counts as TCP/IP, not as the system call that asked for it, and a wake-up done by TCP delivery counts as a wake-up. " +
      "µs per request in a bucket = its share of the samples x the server's CPU-seconds per request over the same run (/proc/PID/stat of every process, all threads). " +
      "Context switches: voluntary + involuntary of every thread (/proc/PID/task/*/status) over the run, per request. " +
      "Perf coverage = the CPU the samples stand for (samples / rate) over the CPU /proc counted: near 1 when perf saw every thread. " +
      "Each server start first runs wrk once more with no perf attached (after the warm-up, as long): its req/s is the one the ratios use, and its µs/req against the profiled run's shows what sampling costs the server (it is in every bucket in proportion, so the ceilings below are low by that much). " +
      "cpu-clock is a timer: where interrupts are off the sample lands when they come back on (`_raw_spin_unlock_irqrestore`, `pvm_irq_enable`), so those leaves go to the first named frame above them.",
    "",
    rulesTable(),
    "",
    ...rowList(p),
    "",
    ...connsOf(p).flatMap((conn) => workloadLines(p, conn)),
    balanceLine(p),
    "",
    ...targetLines(targets(done)),
    "",
    ...clientBound(p),
  ];
}

function logFloor(p: FloorResult): void {
  for (const r of p.runs) {
    const buckets = BUCKETS.map((b) => `${b} ${bucketUs(r, b).toFixed(2)}`).join(", ");
    log(`floor ${r.row}/${r.conn} round ${r.round + 1}: ${fmt(rps(r))} req/s (${fmt(r.rps)} under perf), ${totalUs(r).toFixed(2)} µs/req (${r.profile.unprofiled.usPerReq.toFixed(2)} with no perf) (${buckets}), ${switchesPerReq(r).toFixed(3)} switches/req, ${r.profile.folded.samples} samples, coverage ${coverage(r).toFixed(2)}`);
  }
}

/** Samples per CPU-second: ~500 per quick run at half a CPU; lower rates cost the server less. */
const HZ = 999;

export const floor: Phase<FloorPlan, FloorResult> = {
  name: "floor",
  plan: (quick) => (quick ? { ...sweepPlan(true, CONN_MODES, ["batch", "nginx", "bun"]), hz: HZ } : { ...sweepPlan(false, CONN_MODES), wrkS: 3, hz: HZ }),
  run: async (ctx, plan) => {
    const blocked = quotaBlocker() ?? ((await perfAvailable()) ? undefined : "perf is unavailable here");
    if (blocked) return skipped<FloorRun>("floor", blocked);
    const result = await sweepWith(ctx, "floor", ROWS, plan, profiledLoad(ctx.tmp, plan.hz));
    logFloor(result);
    for (const r of result.runs.filter((x) => x.profile.lostChunks > 0)) ctx.anomalies.push(`floor ${r.row}/${r.conn} round ${r.round + 1}: perf lost ${r.profile.lostChunks} chunks of samples`);
    return result;
  },
  targets,
  section,
};
