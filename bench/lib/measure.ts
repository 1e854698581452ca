// One wrk measurement with the server's CPU over it, and a server's lifetime
// (block) with ringside's counters checked against what the clients saw: what
// the pinning trials, the wrk matrix and the cost phase share.
import { isRing, keepsAlive, variant, type ConnMode, type Pinning, type ServerName } from "./config.ts";
import { log, type Ctx } from "./ctx.ts";
import { cpuSeconds, statusField, tasks } from "../../test/lib/proc.ts";
import { systemCpu } from "./monitor.ts";
import { startServer, type Running, type Server, type StopInfo } from "./servers.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

/** Where each thread was allowed to run, from /proc/.../status Cpus_allowed_list. */
export type Affinity = Record<string, string>;

/** One wrk measurement (wrk's own figures) with the server's CPU over it. */
export interface LoadRun extends Omit<WrkResult, "clientCpuS"> {
  round: number;
  server: ServerName;
  conn: ConnMode;
  connections: number;
  /** Server CPU over the run, seconds (utime+stime of every server process, all threads). */
  serverCpuS: number;
  /** ringside only: the ring thread, the SQPOLL thread, and the sum over live threads. */
  ringCpuS?: number;
  sqCpuS?: number;
  taskSumCpuS?: number;
  /** CPU used by processes this run did not start, during the measurement, in cores:
   * the machine's busy time (/proc/stat) minus server, wrk and harness. */
  foreignCores: number;
  /** Time the hypervisor ran something else instead of this VM, in cores. */
  stealCores: number;
  /** Measurements of this point thrown away because other work was using the machine. */
  retried: number;
}

/** Where the server's interesting threads may run (Cpus_allowed_list). */
export function affinity(s: Server): Affinity {
  const out: Affinity = {};
  for (const pid of s.pids) {
    for (const t of tasks(pid)) {
      const interesting = t.tid === s.servingTid || t.tid === s.sqTid || t.tid === pid;
      if (!interesting) continue;
      const name = t.comm.replace(/^iou-sqp-\d+$/, "iou-sqp");
      out[s.pids.length > 1 && pid !== s.servingPid ? `${name} (master)` : name] = statusField(pid, "Cpus_allowed_list", t.tid) ?? "?";
    }
  }
  return out;
}

/** CPU-seconds so far of every server process (/proc/PID/stat: all threads, SQPOLL included). */
function serverCpu(s: Running): number {
  return s.pids.reduce((a, pid) => a + cpuSeconds(pid), 0);
}

/** ringside's threads: every ring thread, every SQPOLL thread, and the sum over live threads. */
function ringCpu(s: Running): { ring: number; sq?: number; sum: number } {
  const sumOf = (tids: number[]): number => tids.reduce((a, tid) => a + cpuSeconds(s.pid, tid), 0);
  return {
    ring: sumOf(s.ringTids),
    sq: s.sqTids.length ? sumOf(s.sqTids) : undefined,
    sum: tasks(s.pid).reduce((a, t) => a + cpuSeconds(s.pid, t.tid), 0),
  };
}

/** One wrk run's figures with the server's CPU over it (LoadRun without its labels). */
export type Load = Omit<LoadRun, "round" | "server" | "conn" | "connections" | "retried">;

/** Repeats a measurement (within the run's retry budget) while other work on the machine took CPU during it. */
export async function retrying<T extends { foreignCores: number; stealCores: number; retried: number }>(ctx: Ctx, what: string, once: () => Promise<T>): Promise<T> {
  let retried = 0;
  for (;;) {
    const r = await once();
    r.retried = retried;
    if (r.foreignCores + r.stealCores <= 0.15 || ctx.monitor.retries >= ctx.limits.retryBudget) return r;
    ctx.monitor.retries++;
    retried++;
    log(`  ${what}: other work used ${r.foreignCores.toFixed(2)} cores (steal ${r.stealCores.toFixed(2)}) meanwhile; measuring again`);
    await ctx.monitor.quiet(Math.max(5, ctx.limits.quietBudgetS - ctx.monitor.waitedS));
  }
}

/** One wrk measurement with the server's CPU over it; repeated (within the run's
 * retry budget) when other work on the machine took CPU meanwhile. */
export function measure(ctx: Ctx, s: Server, round: number, connections: number, seconds: number, pin: Pinning): Promise<LoadRun> {
  const { server, conn } = s.variant;
  return retrying(ctx, `${server}/${conn} c${connections}`, async () => {
    const load = await loadOnce(s, conn, connections, seconds, pin.clientCpus);
    return { round, server, conn, connections, ...load, retried: 0 };
  });
}

/** wrk against a running server, with the server's CPU (ringside: by thread) and other work on the machine over the run. */
export async function loadOnce(s: Running, conn: ConnMode, connections: number, seconds: number, clientCpus: string | undefined): Promise<Load> {
  const ring = s.ringTids.length > 0;
  const cpu0 = serverCpu(s);
  const ring0 = ring ? ringCpu(s) : undefined;
  const sys0 = systemCpu();
  const h0 = process.cpuUsage();
  const t0 = performance.now();
  const w = await runWrk(s.port, connections, seconds, conn, clientCpus);
  const h = process.cpuUsage(h0);
  const sys1 = systemCpu();
  const wallS = (performance.now() - t0) / 1000;
  const serverCpuS = serverCpu(s) - cpu0;
  const foreignCores = Math.max(0, sys1.busy - sys0.busy - serverCpuS - w.clientCpuS - (h.user + h.system) / 1e6) / wallS;
  const stealCores = (sys1.steal - sys0.steal) / wallS;
  const { clientCpuS: _, ...wrk } = w;
  const load: Load = { ...wrk, serverCpuS, foreignCores, stealCores };
  if (ring0) {
    const ring1 = ringCpu(s);
    load.ringCpuS = ring1.ring - ring0.ring;
    load.taskSumCpuS = ring1.sum - ring0.sum;
    if (ring0.sq !== undefined) load.sqCpuS = (ring1.sq ?? 0) - ring0.sq;
  }
  return load;
}

/** Anomalies in ringside's summary counters, or in a peer's exit code. */
export function checkStop(ctx: Ctx, where: string, ringside: boolean, stop: StopInfo, clientRequests: number): void {
  if (!ringside) {
    if (stop.code !== 0 && stop.code !== null) ctx.anomalies.push(`${where}: exit code ${stop.code}`);
    return;
  }
  const c = stop.counters;
  if (stop.code !== 0) ctx.anomalies.push(`${where}: exit code ${stop.code}; stderr: ${stop.stderr.slice(-300)}`);
  if (c.responses === undefined) {
    ctx.anomalies.push(`${where}: no summary line at stop`);
    return;
  }
  if (c.responses < clientRequests) ctx.anomalies.push(`${where}: server counted ${c.responses} responses but clients completed ${clientRequests}`);
  // wrk closes its connections when it stops: a response still held back by a
  // delay then is cut (delayed_cut), not lost.
  const cut = c.delayed_cut ?? 0;
  if (c.requests !== c.responses + cut) ctx.anomalies.push(`${where}: requests=${c.requests} but responses=${c.responses} and delayed_cut=${cut}`);
  for (const k of ["bad_requests", "too_large", "recv_errors", "send_errors", "accept_errors", "cq_overflow", "header_timeouts"] as const) {
    if ((c[k] ?? 0) > 0) ctx.anomalies.push(`${where}: ${k}=${c[k]}`);
  }
}

/** Starts a variant, runs fn, stops it, and checks ringside's counters against what the clients saw. */
export async function block<T>(ctx: Ctx, round: number, server: ServerName, conn: ConnMode, pin: Pinning, fn: (s: Server, seen: (n: number) => void) => Promise<T>): Promise<T> {
  await ctx.monitor.quiet(Math.max(0, ctx.limits.quietBudgetS - ctx.monitor.waitedS));
  const s = await startServer(variant(server, conn), pin, ctx.tmp);
  let clientRequests = 0;
  let value: T;
  try {
    value = await fn(s, (n) => (clientRequests += n));
  } catch (e) {
    await s.stop();
    throw e;
  }
  const stop = await s.stop();
  ctx.blocks.push({ round, server, conn, counters: stop.counters, exitCode: stop.code, clientRequests, features: s.startup?.fields.features });
  checkStop(ctx, `${server}/${conn} (round ${round + 1}, pinning ${pin.name})`, isRing(server), stop, clientRequests);
  return value;
}

export function checkWrk(ctx: Ctx, r: Pick<LoadRun, "errors" | "conn" | "connections"> & { server: string }, what: string): void {
  const e = r.errors;
  const n = e.connect + e.write + e.timeout + e.non2xx + (keepsAlive(r.conn) ? e.read : 0);
  if (n > 0) ctx.anomalies.push(`${what} ${r.server}/${r.conn} c=${r.connections}: wrk errors ${JSON.stringify(e)}`);
}
