// The engine of the phases that run rows of servers side by side (rings, quota,
// budget, routes, delay ...): rows of servers (ringside with given flags, nginx
// with N workers, Bun.serve with N processes), each placed with taskset and
// optionally held to a cgroup CPU quota, measured side by side: for each round,
// for each connection mode, every row in turn, one server start each (warm-up,
// then one wrk run).
import { basename } from "node:path";
import { cpuQuota, type CpuQuota } from "../../test/lib/cgroup.ts";
import { keepsAlive, type ConnMode } from "./config.ts";
import { log, type Ctx } from "./ctx.ts";
import { checkStop, checkWrk, loadOnce, retrying, type Load, type LoadRun } from "./measure.ts";
import { ringDelta, scrapeRings, type RingShare } from "./metrics.ts";
import { atKillAll } from "./proc.ts";
import { quotaBlocker } from "./quota.ts";
import { CLI, launchBun, launchNginx, launchRingside, withTaskset, type Running, type Wrap } from "./servers.ts";
import { fmt } from "./stats.ts";
import { runWrk } from "./wrk.ts";

/** What a phase of rows runs: rounds x connection modes x rows, one server start
 * (warm-up, then one wrk run) each. */
export interface SweepPlan {
  rounds: number;
  wrkS: number;
  warmupS: number;
  connections: number;
  conns: readonly ConnMode[];
  /** The rows (keys) to run; every row when absent. */
  rows?: readonly string[];
}

/**
 * A phase of rows' usual plan: 3 rounds of 2 s runs after 1 s of warm-up per server start,
 * wrk -c64, in the given connection modes (a phase restarts a server for every point, so
 * its runs are shorter than the matrix's); quick: one round of 1 s runs, keep-alive only,
 * and only the rows given (those whose start or figures take another path).
 */
export function sweepPlan(quick: boolean, conns: readonly ConnMode[], quickRows?: readonly string[]): SweepPlan {
  if (!quick) return { rounds: 3, wrkS: 2, warmupS: 1, connections: 64, conns };
  return { rounds: 1, wrkS: 1, warmupS: 0, connections: 64, conns: ["keep-alive"], ...(quickRows ? { rows: quickRows } : {}) };
}

/** One wrk measurement of a row. */
export interface RowRun extends Omit<LoadRun, "server"> {
  /** The row's key ("ring2", "nginx2", "batch", "quota/default" ...). */
  row: string;
  /** ringside with --admin-port: what each ring accepted and served over the run (/metrics). */
  perRing?: RingShare[];
}

/** ringside's layout as its startup line announced it. */
export interface Layout {
  mode: string;
  rings: number;
  /** Why, when auto chose (the line's auto="..."). */
  auto?: string;
}

/** One server start of a row. */
export interface RowBlock {
  round: number;
  row: string;
  conn: ConnMode;
  /** ringside's summary counters at stop. */
  counters: Record<string, number>;
  exitCode: number | null;
  clientRequests: number;
  layout?: Layout;
}

/** A row as the report names it. */
export interface RowInfo {
  key: string;
  label: string;
  kind: "ringside" | "nginx" | "bun";
  /** The server's command line (keep-alive runs add --keep-alive to ringside's). */
  command: string;
  /** Where the server and wrk ran, and any quota. */
  placement: string;
}

/** The raw figures of a phase of rows (R: its runs, with what its RowLoad adds). */
export interface SweepResult<R extends RowRun = RowRun> {
  rows: RowInfo[];
  runs: R[];
  blocks: RowBlock[];
  /** Why the phase, or part of it, did not run. */
  skipped?: string;
}

/** The result of a phase that cannot run here, and a line in the log that says why. */
export function skipped<R extends RowRun = RowRun>(phase: string, why: string): SweepResult<R> {
  log(`${phase}: skipped ${why}`);
  return { rows: [], runs: [], blocks: [], skipped: why };
}

export interface Row {
  /** Unique within the phase; the results and the report refer to the row by it. */
  key: string;
  label: string;
  kind: RowInfo["kind"];
  /** ringside: flags besides --host, --port, --keep-alive and --admin-port ([]: its defaults, auto). */
  flags?: readonly string[];
  /** nginx workers or Bun.serve processes (1 when absent). */
  processes?: number;
  /** taskset CPU lists of the server and of wrk; absent: unpinned. */
  serverCpus?: string;
  clientCpus?: string;
  /** The server's cgroup CPU quota, in CPUs. */
  quotaCpus?: number;
  /** ringside: --admin-port 0, and each ring's share of every run from /metrics. */
  admin?: boolean;
  /** A body file (servers.ts bodyFile) to answer with instead of the canned body: ringside's
   * --body-file, nginx's static file, Bun.serve's static route. */
  body?: string;
  /** ringside: environment on top of the harness's (e.g. RINGSIDE_LIB, to put two builds of
   * the library side by side). */
  env?: Readonly<Record<string, string>>;
}

/** ringside's command line for a row (unwrapped). */
function ringsideCmd(row: Row, conn: ConnMode): string[] {
  const args = ["bun", CLI, "--host", "127.0.0.1", "--port", "0", ...(row.flags ?? [])];
  if (row.body) args.push("--body-file", row.body);
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
  const body = row.body ? ` --body-file ${basename(row.body)}` : "";
  if (row.kind === "nginx") return `nginx (bench/lib/nginx.conf, worker_processes ${n}${row.body ? `, ${basename(row.body)} as a static file, sendfile on` : ""})`;
  if (row.kind === "bun") return n === 1 ? `bun bench/lib/peer-bun.ts${body}` : `${n} x bun bench/lib/peer-bun.ts --reuse-port${body} (one port)`;
  return ["bun src/cli.ts", ...(row.flags ?? []), ...(row.body ? [`--body-file ${basename(row.body)}`] : []), "[--keep-alive]", ...(row.admin ? ["--admin-port 0"] : [])].join(" ");
}

function rowInfo(row: Row): RowInfo {
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
  if (row.kind === "ringside") return launchRingside(id, wrap(ringsideCmd(row, conn)), row.env, row.body);
  if (row.kind === "bun") return launchBun(id, row.processes ?? 1, wrap, row.body);
  return launchNginx(id, ctx.tmp, row.processes ?? 1, wrap, row.body);
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

/** How a row's wrk run is measured: loadOnce, or a phase's wrapper of it that adds
 * figures of its own over the same run (the floor phase's profile). */
export type RowLoad<X extends object> = (s: Running, conn: ConnMode, connections: number, seconds: number, clientCpus: string | undefined) => Promise<Load & X>;

/** Warm-up, then one wrk run (repeated while other work took the CPU), with each ring's share when the row has /metrics. */
async function measureRow<X extends object>(ctx: Ctx, row: Row, s: Running, conn: ConnMode, round: number, plan: SweepPlan, count: (n: number) => void, load: RowLoad<X>): Promise<RowRun & X> {
  if (plan.warmupS > 0) count((await runWrk(s.port, plan.connections, plan.warmupS, conn, row.clientCpus)).requests);
  const admin = row.admin ? s.startup?.fields.admin : undefined;
  const what = `${row.key}/${conn} (round ${round + 1})`;
  const run = await retrying(ctx, what, async (): Promise<RowRun & X> => {
    const before = await tryScrape(ctx, admin, what);
    const figures = await load(s, conn, plan.connections, plan.wrkS, row.clientCpus);
    const after = before && (await tryScrape(ctx, admin, what));
    return { round, row: row.key, conn, connections: plan.connections, ...figures, retried: 0, ...(before && after ? { perRing: ringDelta(before, after) } : {}) };
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
async function rowBlock<X extends object>(ctx: Ctx, row: Row, conn: ConnMode, round: number, plan: SweepPlan, blocks: RowBlock[], load: RowLoad<X>): Promise<RowRun & X> {
  await ctx.monitor.quiet(Math.max(0, ctx.limits.quietBudgetS - ctx.monitor.waitedS));
  const quota = row.quotaCpus === undefined ? undefined : cpuQuota(`ringside-bench-${row.key.replace(/\W+/g, "-")}`, row.quotaCpus);
  const forget = quota ? atKillAll(quota.remove) : () => {};
  try {
    const s = await startRow(ctx, row, conn, quota);
    let clientRequests = 0;
    let run: RowRun & X;
    try {
      run = await measureRow(ctx, row, s, conn, round, plan, (n) => (clientRequests += n), load);
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

/** Every row (of plan.rows, when given) in every connection mode, interleaved, round after round. */
export function sweep(ctx: Ctx, name: string, rows: readonly Row[], plan: SweepPlan): Promise<SweepResult> {
  return sweepWith<object>(ctx, name, rows, plan, loadOnce);
}

/** A sweep whose rows run in a CPU quota: skipped, saying why, where no
 * quota can be set (rows: a function where making them writes files). */
export function sweepInQuota(ctx: Ctx, name: string, rows: readonly Row[] | (() => readonly Row[]), plan: SweepPlan): Promise<SweepResult> {
  const blocked = quotaBlocker();
  if (blocked) return Promise.resolve(skipped(name, blocked));
  return sweep(ctx, name, typeof rows === "function" ? rows() : rows, plan);
}

/** The same, each wrk run measured by `load`, whose figures each run carries. */
export async function sweepWith<X extends object>(ctx: Ctx, name: string, rows: readonly Row[], plan: SweepPlan, load: RowLoad<X>): Promise<SweepResult<RowRun & X>> {
  const chosen = plan.rows ? rows.filter((r) => plan.rows!.includes(r.key)) : [...rows];
  const out: SweepResult<RowRun & X> = { rows: chosen.map(rowInfo), runs: [], blocks: [] };
  for (let round = 0; round < plan.rounds; round++) {
    for (const conn of plan.conns) {
      for (const row of chosen) {
        const run = await rowBlock(ctx, row, conn, round, plan, out.blocks, load);
        out.runs.push(run);
        logRun(name, round, plan.rounds, run);
      }
    }
  }
  return out;
}
