// The cost phase: for each server variant, what serving costs the serving
// thread (system calls, where CPU time goes), a fixed sequential batch, idle
// CPU and peak RSS after load, the RSS of idle keep-alive connections, and how
// long SIGTERM under load takes to end the process. One server start each.
import { COST_VARIANTS, SPIN_BUDGET_MS, SQ_IDLE_MS, isRing, keepsAlive, type Pinning, type Variant } from "./config.ts";
import { combineCounts, countSyscalls, idleCpu, perfAvailable, profile } from "./cost.ts";
import { idleFootprint } from "./footprint.ts";
import { batch, validateBatch } from "./hyperfine.ts";
import { affinity, block, checkWrk, log, type Ctx } from "./measure.ts";
import { kb, softLimit } from "../test/lib/proc.ts";
import { spawn, stopChild } from "./proc.ts";
import type { Server } from "./servers.ts";
import type { CostResult } from "./types.ts";
import { parseWrk, runWrk, wrkArgs } from "./wrk.ts";

/** One variant's measurement in progress. */
interface Run {
  ctx: Ctx;
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
  const c = r.ctx.sizes.cost.connections;
  return async () => {
    const w = await runWrk(r.s.port, c, seconds, r.v.conn, r.pin.clientCpus);
    r.count(w.requests);
    checkWrk(r.ctx, { errors: w.errors, server: r.v.server, conn: r.v.conn, connections: c }, "cost");
    return w.requests;
  };
}

/** System calls of the serving thread: perf (if it can) a few times, then strace once. */
async function perfCount(r: Run): Promise<void> {
  const { sizes, tmp } = r.ctx;
  if (!r.perf) return;
  const counts = [];
  for (let i = 0; i < sizes.cost.perfRuns; i++) counts.push(await countSyscalls("perf", r.s.servingTid, tmp, load(r, sizes.cost.perfS)));
  r.res.perf = combineCounts(counts);
}

async function straceCount(r: Run): Promise<void> {
  r.res.strace = await countSyscalls("strace", r.s.servingTid, r.ctx.tmp, load(r, r.ctx.sizes.cost.straceS));
}

/** Where ringside's CPU time goes (perf record). */
async function profileRing(r: Run): Promise<void> {
  if (r.perf && isRing(r.v.server)) r.res.profile = await profile(r.s.pid, r.ctx.tmp, load(r, r.ctx.sizes.cost.profileS));
}

async function sequentialBatch(r: Run): Promise<void> {
  const { sizes, tmp, anomalies } = r.ctx;
  const { v, s, pin } = r;
  const validation = await validateBatch(s.port, v.conn, sizes.batch.requests, pin.clientCpus, sizes.timeoutMs);
  r.count(validation.ok);
  if (validation.ok !== sizes.batch.requests || (validation.connects !== undefined && validation.connects !== 1)) {
    anomalies.push(`batch ${v.id}: ${validation.client}: ${validation.ok}/${validation.requests} good responses${validation.connects !== undefined ? `, ${validation.connects} connections` : ""}`);
  }
  const t = await batch(v.id, s.port, v.conn, sizes.batch.requests, sizes.batch.runs, pin.clientCpus, tmp, sizes.timeoutMs);
  r.count(sizes.batch.requests * sizes.batch.runs);
  r.res.batch = { ...t, validation };
}

/** Idle CPU from the end of the last load plus the spin budget; peak RSS so far. */
async function idle(r: Run): Promise<void> {
  const { s, res } = r;
  await Bun.sleep(SPIN_BUDGET_MS + 20);
  res.idle = await idleCpu(s.pids, r.ctx.sizes.cost.idleS, SQ_IDLE_MS / 1000);
  for (const pid of s.pids) res.vmHwmByProcess[pid === s.servingPid ? "serving" : "master"] = kb(pid, "VmHWM");
  res.vmHwmKb = Object.values(res.vmHwmByProcess).reduce((a, b) => a + b, 0);
}

/** RSS of idle keep-alive connections (keep-alive variants only; this process holds the client ends). */
async function footprint(r: Run): Promise<void> {
  const want = r.ctx.sizes.cost.footprintConnections;
  if (!want || !keepsAlive(r.v.conn)) return;
  const n = Math.min(want, softLimit("Max open files") - 256);
  r.res.footprint = await idleFootprint(r.s.port, r.s.pids, n, r.ctx.sizes.timeoutMs);
  r.count(2 * n);
}

/** SIGTERM while wrk is loading the server: time to the exit. The server is stopped for good. */
async function stopUnderLoad(r: Run): Promise<void> {
  const { sizes } = r.ctx;
  if (sizes.cost.stopAfterMs === undefined) return;
  // wrk's -d only has to outlast the stop; SIGINT ends it early and it still reports.
  const wrk = spawn("wrk", wrkArgs(r.s.port, sizes.cost.connections, 30, r.v.conn, r.pin.clientCpus));
  try {
    await Bun.sleep(sizes.cost.stopAfterMs);
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

function logResult(v: Variant, res: CostResult): void {
  const f = (x: number | undefined): string => (x === undefined ? "-" : x.toFixed(3));
  const fp = res.footprint ? ` idle-conn RSS=${res.footprint.perConnectionB.map((b) => b.toFixed(0)).join("/")} B` : "";
  const stop = res.stopUnderLoad ? ` stop=${res.stopUnderLoad.ms.toFixed(0)} ms` : "";
  log(`cost ${v.id.padEnd(18)} syscalls/req perf=${f(res.perf?.perRequest)} strace=${f(res.strace?.perRequest)} idle=${res.idle.percentOfCore.toFixed(2)}% VmHWM=${res.vmHwmKb} kB batch=${(res.batch?.seconds.median ?? 0).toFixed(3)} s${fp}${stop}; steps ${JSON.stringify(res.stepsS)}`);
}

export async function costPhase(ctx: Ctx, pin: Pinning): Promise<CostResult[]> {
  const perf = await perfAvailable();
  if (!perf) ctx.anomalies.push("perf with raw_syscalls tracepoints is unavailable: syscall counts come from strace only, no profiles");
  const out: CostResult[] = [];
  for (const v of COST_VARIANTS.filter((x) => !ctx.sizes.costVariants || ctx.sizes.costVariants.includes(x.id))) {
    const res = await block(ctx, 0, v.server, v.conn, pin, async (s, count) => {
      const r: Run = { ctx, pin, v, s, perf, count, res: emptyResult(v, s) };
      await steps(r);
      return r.res;
    });
    res.counters = ctx.blocks[ctx.blocks.length - 1]?.counters ?? {};
    out.push(res);
    logResult(v, res);
  }
  return out;
}
