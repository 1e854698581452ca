// The engine of the rings, quota and budget phases: rows of servers (ringside
// with given flags, nginx with N workers, Bun.serve with N processes), each
// placed with taskset and optionally held to a cgroup CPU quota, measured
// side by side: for each round, for each connection mode, every row in turn,
// one server start each (warm-up, then one wrk run).
import { cpuQuota, type CpuQuota } from "../test/lib/cgroup.ts";
import { keepsAlive, type ConnMode, type PhaseSizes } from "./config.ts";
import { checkStop, checkWrk, loadOnce, log, retrying, type Ctx } from "./measure.ts";
import { ringDelta, scrapeRings, type RingShare } from "./metrics.ts";
import { atKillAll } from "./proc.ts";
import { CLI, launchBun, launchNginx, launchRingside, withTaskset, type Running, type Wrap } from "./servers.ts";
import { fmt } from "./stats.ts";
import type { Layout, PhaseResult, RowBlock, RowInfo, RowRun } from "./types.ts";
import { runWrk } from "./wrk.ts";

export interface Row {
  /** Unique within the phase; the results and the report refer to the row by it. */
  key: string;
  label: string;
  kind: RowInfo["kind"];
  /** ringside: flags besides --host, --port, --keep-alive and --admin-port ([]: its defaults, auto). */
  flags?: string[];
  /** nginx workers or Bun.serve processes (1 when absent). */
  processes?: number;
  /** taskset CPU lists of the server and of wrk; absent: unpinned. */
  serverCpus?: string;
  clientCpus?: string;
  /** The server's cgroup CPU quota, in CPUs. */
  quotaCpus?: number;
  /** ringside: --admin-port 0, and each ring's share of every run from /metrics. */
  admin?: boolean;
}

/** ringside's command line for a row (unwrapped). */
export function ringsideCmd(row: Row, conn: ConnMode): string[] {
  const args = ["bun", CLI, "--host", "127.0.0.1", "--port", "0", ...(row.flags ?? [])];
  if (keepsAlive(conn)) args.push("--keep-alive");
  if (row.admin) args.push("--admin-port", "0");
  return args;
}

function placement(row: Row): string {
  const server = row.serverCpus === undefined ? "server unpinned" : `server on CPU ${row.serverCpus} (taskset)`;
  const quota = row.quotaCpus === undefined ? "" : ` under a ${row.quotaCpus}-CPU cgroup quota`;
  return `${server}${quota}; wrk ${row.clientCpus === undefined ? "unpinned" : `on CPU ${row.clientCpus}`}`;
}

function command(row: Row): string {
  const n = row.processes ?? 1;
  if (row.kind === "nginx") return `nginx (bench/nginx.conf, worker_processes ${n})`;
  if (row.kind === "bun") return n === 1 ? "bun bench/peer-bun.ts" : `${n} x bun bench/peer-bun.ts --reuse-port (one port)`;
  return ["bun src/cli.ts", ...(row.flags ?? []), "[--keep-alive]", ...(row.admin ? ["--admin-port 0"] : [])].join(" ");
}

export function rowInfo(row: Row): RowInfo {
  return { key: row.key, label: row.label, kind: row.kind, command: command(row), placement: placement(row) };
}

function wrapFor(row: Row, quota: CpuQuota | undefined): Wrap {
  return (cmd) => {
    const pinned = withTaskset(row.serverCpus, cmd);
    return quota ? quota.wrap(pinned) : pinned;
  };
}

function startRow(ctx: Ctx, row: Row, conn: ConnMode, quota: CpuQuota | undefined): Promise<Running> {
  const wrap = wrapFor(row, quota);
  const id = `${row.key}/${conn}`;
  if (row.kind === "ringside") return launchRingside(id, wrap(ringsideCmd(row, conn)));
  if (row.kind === "bun") return launchBun(id, row.processes ?? 1, wrap);
  return launchNginx(id, ctx.tmp, row.processes ?? 1, wrap);
}

export function layoutOf(s: Running): Layout | undefined {
  const f = s.startup?.fields;
  if (!f?.mode) return undefined;
  return { mode: f.mode, rings: Number(f.rings ?? 1), ...(f.auto ? { auto: f.auto } : {}) };
}

/** ringside's per-ring counters, or undefined (and an anomaly) when /metrics does not answer: the run's figures stand without them. */
async function tryScrape(ctx: Ctx, admin: string | undefined, what: string): Promise<RingShare[] | undefined> {
  if (admin === undefined) return undefined;
  try {
    return await scrapeRings(admin);
  } catch (e) {
    ctx.anomalies.push(`${what}: ${admin}/metrics: ${e instanceof Error ? e.message : String(e)}; no ring shares for this run`);
    return undefined;
  }
}

/** Warm-up, then one wrk run (repeated while other work took the CPU), with each ring's share when the row has /metrics. */
async function measureRow(ctx: Ctx, row: Row, s: Running, conn: ConnMode, round: number, sizes: PhaseSizes, count: (n: number) => void): Promise<RowRun> {
  if (sizes.warmupS > 0) count((await runWrk(s.port, sizes.connections, sizes.warmupS, conn, row.clientCpus)).requests);
  const admin = row.admin ? s.startup?.fields.admin : undefined;
  const what = `${row.key}/${conn} (round ${round + 1})`;
  const run = await retrying(ctx, what, async (): Promise<RowRun> => {
    const before = await tryScrape(ctx, admin, what);
    const load = await loadOnce(s, conn, sizes.connections, sizes.wrkS, row.clientCpus);
    const after = before && (await tryScrape(ctx, admin, what));
    return { round, row: row.key, conn, connections: sizes.connections, ...load, retried: 0, ...(before && after ? { perRing: ringDelta(before, after) } : {}) };
  });
  count(run.requests);
  checkWrk(ctx, { ...run, server: row.key }, `round ${round + 1}`);
  return run;
}

/** Removes a quota's cgroup; its processes have exited, but the kernel may take a moment to let go. */
async function removeQuota(ctx: Ctx, quota: CpuQuota): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      quota.remove();
      return;
    } catch (e) {
      if (i >= 20) {
        ctx.anomalies.push(`cgroup ${quota.dir} not removed: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      await Bun.sleep(50);
    }
  }
}

/** One server start of a row: start (in its quota), measure, stop, check ringside's counters. */
async function rowBlock(ctx: Ctx, row: Row, conn: ConnMode, round: number, sizes: PhaseSizes, blocks: RowBlock[]): Promise<RowRun> {
  await ctx.monitor.quiet(Math.max(0, ctx.sizes.quietBudgetS - ctx.monitor.waitedS));
  const quota = row.quotaCpus === undefined ? undefined : cpuQuota(`ringside-bench-${row.key.replace(/\W+/g, "-")}`, row.quotaCpus);
  const forget = quota ? atKillAll(quota.remove) : () => {};
  try {
    const s = await startRow(ctx, row, conn, quota);
    let clientRequests = 0;
    let run: RowRun;
    try {
      run = await measureRow(ctx, row, s, conn, round, sizes, (n) => (clientRequests += n));
    } catch (e) {
      await s.stop();
      throw e;
    }
    const stop = await s.stop();
    blocks.push({ round, row: row.key, conn, counters: stop.counters, exitCode: stop.code, clientRequests, layout: layoutOf(s) });
    checkStop(ctx, `${row.key}/${conn} (round ${round + 1})`, row.kind === "ringside", stop, clientRequests);
    return run;
  } finally {
    forget();
    if (quota) await removeQuota(ctx, quota);
  }
}

function logRun(name: string, round: number, rounds: number, run: RowRun): void {
  const us = ((run.serverCpuS / run.requests) * 1e6).toFixed(1);
  const rings = run.perRing ? `, rings ${run.perRing.map((r) => r.requests).join("/")} req` : "";
  log(`${name} round ${round + 1}/${rounds} ${`${run.row}/${run.conn}`.padEnd(26)} ${fmt(run.rps)} req/s, ${us} µs CPU/req, server ${(run.serverCpuS / run.seconds).toFixed(2)} / wrk ${run.clientCores.toFixed(2)} cores${rings}`);
}

/** Every row (of sizes.rows, when given) in every connection mode, interleaved, round after round. */
export async function sweep(ctx: Ctx, name: string, rows: readonly Row[], sizes: PhaseSizes): Promise<PhaseResult> {
  const chosen = sizes.rows ? rows.filter((r) => sizes.rows!.includes(r.key)) : [...rows];
  const out: PhaseResult = { rows: chosen.map(rowInfo), runs: [], blocks: [] };
  for (let round = 0; round < sizes.rounds; round++) {
    for (const conn of sizes.conns) {
      for (const row of chosen) {
        const run = await rowBlock(ctx, row, conn, round, sizes, out.blocks);
        out.runs.push(run);
        logRun(name, round, sizes.rounds, run);
      }
    }
  }
  return out;
}
