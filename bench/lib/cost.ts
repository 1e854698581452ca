// What serving costs one server, measured over one start of it: the system
// calls of its serving thread (perf, a few times, then strace), where ringside's
// CPU time goes (perf record), a fixed batch of sequential requests (hyperfine),
// idle CPU and peak RSS after load, the RSS of idle keep-alive connections, and
// how long SIGTERM under load takes to end the process. The cost phase runs it
// for each server variant.
import { kb, softLimit } from "../../test/lib/proc.ts";
import { SPIN_BUDGET_MS, SQ_IDLE_MS, isRing, keepsAlive, type ConnMode, type Pinning, type ServerName, type Variant } from "./config.ts";
import type { Ctx } from "./ctx.ts";
import { batch, validateBatch, type BatchValidation, type Timing } from "./hyperfine.ts";
import { idleCpu, type IdleCpu } from "./idle-cpu.ts";
import { idleFootprint, type Footprint } from "./idle-connections.ts";
import { affinity, block, checkWrk, type Affinity } from "./measure.ts";
import { combineCounts, countSyscalls, profile, type ProfileLine, type SyscallCount } from "./perf.ts";
import { spawn, stopChild } from "./proc.ts";
import type { Server } from "./servers.ts";
import { parseWrk, runWrk, wrkArgs } from "./wrk.ts";

export interface CostPlan {
  /** wrk seconds while perf counts syscalls (the thread runs at full speed), and how many such runs. */
  perfS: number;
  perfRuns: number;
  /** wrk seconds while strace -c is attached (it stops the thread at every call). */
  straceS: number;
  connections: number;
  profileS: number;
  idleS: number;
  /** Idle keep-alive connections held (one request each) for the RSS footprint, under
   * ringside's --max-connections and nginx's worker_connections (4096). Absent in
   * results from before it was measured. */
  footprintConnections?: number;
  /** wrk runs this long before SIGTERM in the stop-under-load measurement. */
  stopAfterMs?: number;
  /** The sequential batch: requests, and timed runs of them. */
  batch: { requests: number; runs: number };
  /** Variants (ids) to measure; all when absent. */
  variants?: readonly string[];
}

export interface CostResult {
  server: ServerName;
  conn: ConnMode;
  perf?: SyscallCount;
  strace?: SyscallCount;
  profile?: ProfileLine[];
  idle: IdleCpu;
  /** Peak RSS, kB: VmHWM summed over the server's processes (nginx: master + worker). */
  vmHwmKb: number;
  vmHwmByProcess: Record<string, number>;
  batch?: Timing & { client: string; validation: BatchValidation };
  /** VmRSS with idle keep-alive connections held (keep-alive variants). */
  footprint?: Footprint;
  /** SIGTERM while wrk loads the server: milliseconds to the exit, and the exit code. */
  stopUnderLoad?: { ms: number; code: number | null };
  affinity: Affinity;
  counters: Record<string, number>;
  /** Seconds each step took (for keeping the run short). */
  stepsS: Record<string, number>;
}

/** One variant's measurement in progress. */
interface Run {
  ctx: Ctx;
  plan: CostPlan;
  pin: Pinning;
  v: Variant;
  s: Server;
  perf: boolean;
  /** Adds requests the clients saw completed (checked against the server's counters). */
  count: (n: number) => void;
  res: CostResult;
}

/** wrk load of `seconds` at the cost phase's connection count; returns the requests served. */
function load(r: Run, seconds: number): () => Promise<number> {
  const c = r.plan.connections;
  return async () => {
    const w = await runWrk(r.s.port, c, seconds, r.v.conn, r.pin.clientCpus);
    r.count(w.requests);
    checkWrk(r.ctx, { errors: w.errors, server: r.v.server, conn: r.v.conn, connections: c }, "cost");
    return w.requests;
  };
}

/** System calls of the serving thread: perf (if it can) a few times, then strace once. */
async function perfCount(r: Run): Promise<void> {
  if (!r.perf) return;
  const counts = [];
  for (let i = 0; i < r.plan.perfRuns; i++) counts.push(await countSyscalls("perf", r.s.servingTid, r.ctx.tmp, load(r, r.plan.perfS)));
  r.res.perf = combineCounts(counts);
}

async function straceCount(r: Run): Promise<void> {
  r.res.strace = await countSyscalls("strace", r.s.servingTid, r.ctx.tmp, load(r, r.plan.straceS));
}

/** Where ringside's CPU time goes (perf record). */
async function profileRing(r: Run): Promise<void> {
  if (r.perf && isRing(r.v.server)) r.res.profile = await profile(r.s.pid, r.ctx.tmp, load(r, r.plan.profileS));
}

async function sequentialBatch(r: Run): Promise<void> {
  const { tmp, anomalies, limits } = r.ctx;
  const { v, s, pin, plan } = r;
  const validation = await validateBatch(s.port, v.conn, plan.batch.requests, pin.clientCpus, limits.timeoutMs);
  r.count(validation.ok);
  if (validation.ok !== plan.batch.requests || (validation.connects !== undefined && validation.connects !== 1)) {
    anomalies.push(`batch ${v.id}: ${validation.client}: ${validation.ok}/${validation.requests} good responses${validation.connects !== undefined ? `, ${validation.connects} connections` : ""}`);
  }
  const t = await batch(v.id, s.port, v.conn, plan.batch.requests, plan.batch.runs, pin.clientCpus, tmp, limits.timeoutMs);
  r.count(plan.batch.requests * plan.batch.runs);
  r.res.batch = { ...t, validation };
}

/** Idle CPU from the end of the last load plus the spin budget; peak RSS so far. */
async function idle(r: Run): Promise<void> {
  const { s, res } = r;
  await Bun.sleep(SPIN_BUDGET_MS + 20);
  res.idle = await idleCpu(s.pids, r.plan.idleS, SQ_IDLE_MS / 1000);
  for (const pid of s.pids) res.vmHwmByProcess[pid === s.servingPid ? "serving" : "master"] = kb(pid, "VmHWM");
  res.vmHwmKb = Object.values(res.vmHwmByProcess).reduce((a, b) => a + b, 0);
}

/** RSS of idle keep-alive connections (keep-alive variants only; this process holds the client ends). */
async function footprint(r: Run): Promise<void> {
  const want = r.plan.footprintConnections;
  if (!want || !keepsAlive(r.v.conn)) return;
  const n = Math.min(want, softLimit("Max open files") - 256);
  r.res.footprint = await idleFootprint(r.s.port, r.s.pids, n, r.ctx.limits.timeoutMs);
  r.count(2 * n);
}

/** SIGTERM while wrk is loading the server: time to the exit. The server is stopped for good. */
async function stopUnderLoad(r: Run): Promise<void> {
  const { plan } = r;
  if (plan.stopAfterMs === undefined) return;
  // wrk's -d only has to outlast the stop; SIGINT ends it early and it still reports.
  const wrk = spawn("wrk", wrkArgs(r.s.port, plan.connections, 30, r.v.conn, r.pin.clientCpus));
  try {
    await Bun.sleep(plan.stopAfterMs);
    const t0 = performance.now();
    const stop = await r.s.stop();
    r.res.stopUnderLoad = { ms: performance.now() - t0, code: stop.code };
  } finally {
    await stopChild(wrk, "SIGINT");
  }
  r.count(parseWrk(wrk.stdout()).requests);
}

/** Runs the steps in order, timing each. */
async function steps(r: Run): Promise<void> {
  const all: Array<[string, (r: Run) => Promise<void>]> = [
    ["perf", perfCount],
    ["strace", straceCount],
    ["profile", profileRing],
    ["batch", sequentialBatch],
    ["idle", idle],
    ["footprint", footprint],
    ["stop", stopUnderLoad],
  ];
  for (const [name, step] of all) {
    const at = performance.now();
    await step(r);
    r.res.stepsS[name] = Math.round(performance.now() - at) / 1000;
  }
}

function emptyResult(v: Variant, s: Server): CostResult {
  const idle = { windowS: 0, percentOfCore: 0, byThread: {}, series: [], steadyPercentOfCore: 0, skipS: 0 };
  return { server: v.server, conn: v.conn, idle, vmHwmKb: 0, vmHwmByProcess: {}, affinity: affinity(s), counters: {}, stepsS: {} };
}

/** Starts a variant, measures every step over that one start, and stops it (its counters checked in block). */
export async function costOf(ctx: Ctx, plan: CostPlan, pin: Pinning, v: Variant, perf: boolean): Promise<CostResult> {
  const res = await block(ctx, 0, v.server, v.conn, pin, async (s, count) => {
    const r: Run = { ctx, plan, pin, v, s, perf, count, res: emptyResult(v, s) };
    await steps(r);
    return r.res;
  });
  res.counters = ctx.blocks[ctx.blocks.length - 1]?.counters ?? {};
  return res;
}
