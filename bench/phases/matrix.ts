// The wrk matrix: nginx, Bun.serve and ringside in each mode (one ring), every
// connection mode and connection count, servers interleaved round after round,
// placed as the pinning phase chose. Medians over rounds and ratios to the
// peers measured in the same round; the run's chart.
import { CONN_MODES, CONN_TITLES, LABELS, PIPELINE_DEPTH, RING_MODES, SERVERS, type ConnMode, type ServerName } from "../lib/config.ts";
import { log, type Ctx } from "../lib/ctx.ts";
import { block, checkWrk, measure, type LoadRun } from "../lib/measure.ts";
import { fmt, fmtSpread, ratioSpread, spread, type Spread } from "../lib/stats.ts";
import { runWrk } from "../lib/wrk.ts";
import { plural, table } from "../report/md.ts";
import type { Chart } from "../report/svg.ts";
import type { Done, Phase, Results, Target } from "./phase.ts";

export interface MatrixPlan {
  rounds: number;
  /** wrk seconds per measurement (wrk takes whole seconds). */
  wrkS: number;
  /** wrk seconds of warm-up each time a server starts (0: none). */
  warmupS: number;
  connections: readonly number[];
}

/** Medians over rounds of one server, connection mode and count. */
export interface ThroughputRow {
  server: ServerName;
  conn: ConnMode;
  connections: number;
  rps: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  clientCores: Spread;
  serverCores: Spread;
  cpuPer100kS: Spread;
  foreignCores: Spread;
  errors: number;
  /** Ratio to the peer's figure in the same round, over rounds. */
  vsNginx: Spread;
  vsBun: Spread;
  /** Requests per CPU-second of the server, and its same-round ratio to nginx's:
   * what the server could do with a CPU to itself when the client is the bottleneck. */
  perCpuS: Spread;
  perCpuVsNginx: Spread;
}

/** Whether /proc/PID/stat counts the SQPOLL kernel thread in the process's CPU. */
export interface SqpollAccounting {
  processCpuS: number;
  taskSumCpuS: number;
  sqCpuS: number;
  included: boolean;
  note: string;
}

export interface MatrixResult {
  /** The pinning policy the matrix ran under. */
  pinning: string;
  runs: LoadRun[];
  /** For readers of the JSON: the report derives both from `runs` again. */
  throughput: ThroughputRow[];
  sqpollAccounting: SqpollAccounting | null;
}

export type MatrixRecord = Done<MatrixPlan, MatrixResult>;

const FULL: MatrixPlan = { rounds: 3, wrkS: 3, warmupS: 1, connections: [16, 64, 256] };
const QUICK: MatrixPlan = { rounds: 1, wrkS: 1, warmupS: 0, connections: [64] };

// ---------------------------------------------------------------- figures

/** A run's value by round, for one server/conn/connection count. */
function byRound(runs: readonly LoadRun[], server: ServerName, conn: ConnMode, connections: number, f: (r: LoadRun) => number): number[] {
  return runs
    .filter((r) => r.server === server && r.conn === conn && r.connections === connections)
    .sort((a, b) => a.round - b.round)
    .map(f);
}

function throughputRows(runs: readonly LoadRun[], connections: readonly number[]): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  for (const conn of CONN_MODES) {
    for (const c of connections) {
      const nginx = byRound(runs, "nginx", conn, c, (r) => r.rps);
      const eff = (r: LoadRun): number => r.requests / r.serverCpuS;
      const nginxEff = byRound(runs, "nginx", conn, c, eff);
      const bun = byRound(runs, "bun", conn, c, (r) => r.rps);
      for (const server of SERVERS) {
        const at = runs.filter((r) => r.server === server && r.conn === conn && r.connections === c);
        if (!at.length) continue;
        const rps = byRound(runs, server, conn, c, (r) => r.rps);
        rows.push({
          server,
          conn,
          connections: c,
          rps: spread(rps),
          p50Ms: spread(at.map((r) => r.p50Ms)),
          p99Ms: spread(at.map((r) => r.p99Ms)),
          clientCores: spread(at.map((r) => r.clientCores)),
          serverCores: spread(at.map((r) => r.serverCpuS / r.seconds)),
          cpuPer100kS: spread(at.map((r) => (r.serverCpuS / r.requests) * 1e5)),
          foreignCores: spread(at.map((r) => r.foreignCores + r.stealCores)),
          errors: at.reduce((a, r) => a + r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout + r.errors.non2xx, 0),
          vsNginx: ratioSpread(rps, nginx),
          vsBun: ratioSpread(rps, bun),
          perCpuS: spread(at.map(eff)),
          perCpuVsNginx: ratioSpread(byRound(runs, server, conn, c, eff), nginxEff),
        });
      }
    }
  }
  return rows;
}

/** The matrix's medians, derived from its runs. */
export const rowsOf = (m: MatrixRecord): ThroughputRow[] => throughputRows(m.result.runs, m.plan.connections);

export function row(rows: readonly ThroughputRow[], server: ServerName, conn: ConnMode, c: number): ThroughputRow | undefined {
  return rows.find((r) => r.server === server && r.conn === conn && r.connections === c);
}

/** The ringside mode with the highest median req/s at a connection count. */
function bestRing(rows: readonly ThroughputRow[], conn: ConnMode, c: number): ThroughputRow | undefined {
  return RING_MODES.map((m) => row(rows, m, conn, c))
    .filter((r): r is ThroughputRow => r !== undefined)
    .sort((a, b) => b.rps.median - a.rps.median)[0];
}

/** The connection count the other phases compare with: 64, or the first measured. */
export const matrixConnections = (m: MatrixRecord): number => (m.plan.connections.includes(64) ? 64 : m.plan.connections[0]!);

/** ringside batch's requests per server CPU-second over the peer's, same rounds, at
 * matrixConnections (no quota, the run's pinning). */
export function matrixPerCpu(m: MatrixRecord, conn: ConnMode, peer: "nginx" | "bun"): Spread {
  const c = matrixConnections(m);
  // No CPU counted (a run that hardly served): no figure, rather than an infinite one.
  const eff = (server: ServerName): number[] => byRound(m.result.runs, server, conn, c, (x) => (x.serverCpuS > 0 ? x.requests / x.serverCpuS : Number.NaN));
  return ratioSpread(eff("batch"), eff(peer));
}

/** Is the SQPOLL kernel thread's time in /proc/PID/stat? It is a thread of the
 * process, so the process total should equal the sum over its threads. */
export function sqpollAccounting(runs: readonly LoadRun[]): SqpollAccounting | null {
  const sq = runs.filter((x) => x.sqCpuS !== undefined && x.taskSumCpuS !== undefined);
  if (!sq.length) return null;
  const processCpuS = sq.reduce((a, x) => a + x.serverCpuS, 0);
  const taskSumCpuS = sq.reduce((a, x) => a + (x.taskSumCpuS ?? 0), 0);
  const sqCpuS = sq.reduce((a, x) => a + (x.sqCpuS ?? 0), 0);
  const included = sqCpuS > 0 && Math.abs(processCpuS - taskSumCpuS) <= Math.max(0.05 * sq.length, 0.03 * processCpuS);
  const note = included
    ? "the iou-sqp thread is a thread of the server process: /proc/PID/stat (utime+stime) already counts it"
    : "process total differs from the sum over threads: server CPU may not include the SQPOLL thread";
  return { processCpuS, taskSumCpuS, sqCpuS, included, note };
}

// ---------------------------------------------------------------- measuring

/** One server start: warm-up, then a measurement per connection count. */
function loadBlock(ctx: Ctx, plan: MatrixPlan, round: number, server: ServerName, conn: ConnMode): Promise<LoadRun[]> {
  const pin = ctx.pin;
  return block(ctx, round, server, conn, pin, async (s, count) => {
    if (plan.warmupS > 0) count((await runWrk(s.port, 64, plan.warmupS, conn, pin.clientCpus)).requests);
    const out: LoadRun[] = [];
    for (const c of plan.connections) {
      const r = await measure(ctx, s, round, c, plan.wrkS, pin);
      count(r.requests);
      checkWrk(ctx, r, `round ${round + 1}`);
      out.push(r);
    }
    return out;
  });
}

async function run(ctx: Ctx, plan: MatrixPlan): Promise<MatrixResult> {
  const runs: LoadRun[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    for (const conn of CONN_MODES) {
      for (const server of SERVERS) {
        const got = await loadBlock(ctx, plan, round, server, conn);
        runs.push(...got);
        log(`round ${round + 1}/${plan.rounds} ${`${server}/${conn}`.padEnd(18)} ${got.map((r) => `c${r.connections}=${Math.round(r.rps)}`).join(" ")}`);
      }
    }
  }
  const sq = sqpollAccounting(runs);
  if (sq && !sq.included) ctx.anomalies.push(`SQPOLL accounting: process ${sq.processCpuS.toFixed(2)} s vs threads ${sq.taskSumCpuS.toFixed(2)} s (sq ${sq.sqCpuS.toFixed(2)} s)`);
  return { pinning: ctx.pin.name, runs, throughput: throughputRows(runs, plan.connections), sqpollAccounting: sq };
}

// ---------------------------------------------------------------- targets

function ratioTarget(m: MatrixRecord, rows: readonly ThroughputRow[], conn: ConnMode, peer: "nginx" | "bun", want: number): Target {
  const parts: string[] = [];
  let met: boolean | null = true;
  for (const c of m.plan.connections) {
    const best = bestRing(rows, conn, c);
    if (!best) {
      met = null;
      continue;
    }
    const ratio = peer === "nginx" ? best.vsNginx : best.vsBun;
    if (!(ratio.median >= want)) met = false;
    parts.push(`c${c}: ${ratio.median.toFixed(2)}x (${best.server}, ${fmt(best.rps.median)} vs ${fmt(row(rows, peer, conn, c)?.rps.median ?? Number.NaN)} req/s)`);
  }
  return {
    name: `${conn}: best ringside mode vs ${peer === "nginx" ? "nginx (1 worker)" : "Bun.serve"}`,
    want: `>= ${want}x at every connection count`,
    got: parts.join("; "),
    met,
  };
}

function targets(m: MatrixRecord): Target[] {
  const rows = rowsOf(m);
  const t: Target[] = [];
  for (const conn of ["keep-alive", "pipelined"] as const) {
    t.push(ratioTarget(m, rows, conn, "nginx", 1.4));
    t.push(ratioTarget(m, rows, conn, "bun", 1.8));
  }
  t.push(ratioTarget(m, rows, "close", "nginx", 1.2));
  return t;
}

// ---------------------------------------------------------------- report

const SECTION_TITLES: Record<ConnMode, string> = {
  close: "close (a new connection per request, `-H \"Connection: close\"`; ringside without --keep-alive answers HTTP/1.0 and closes)",
  "keep-alive": "keep-alive (HTTP/1.1 persistent connections, one request in flight per connection; ringside --keep-alive)",
  pipelined: `pipelined (HTTP/1.1 persistent connections, ${PIPELINE_DEPTH} requests per write as in TechEmpower's plaintext test, \`bench/lib/pipeline.lua\`; ringside --keep-alive)`,
};

const ms = (s: Spread): string => fmtSpread(s, "", 3);

function throughputRow(x: ThroughputRow, conn: ConnMode): string[] {
  return [
    LABELS[x.server],
    String(x.connections),
    fmtSpread(x.rps),
    // wrk's latency histogram is meaningless under pipelining (it times a batch, then records zeros).
    conn === "pipelined" ? "n/a" : ms(x.p50Ms),
    conn === "pipelined" ? "n/a" : ms(x.p99Ms),
    x.server === "nginx" ? "1" : fmtSpread(x.vsNginx, "x"),
    x.server === "bun" ? "1" : fmtSpread(x.vsBun, "x"),
    fmtSpread(x.serverCores),
    fmtSpread(x.cpuPer100kS, " s"),
    x.server === "nginx" ? "1" : fmtSpread(x.perCpuVsNginx, "x"),
    fmtSpread(x.clientCores),
    x.foreignCores.max >= 0.05 ? fmtSpread(x.foreignCores) : "0",
    String(x.errors),
  ];
}

/** How the matrix ran (the first connection mode's section says it for all three). */
function howLine(m: MatrixRecord): string[] {
  const p = m.plan;
  return [
    `${plural(p.rounds, "round")}, servers interleaved (${SERVERS.map((s) => LABELS[s]).join(", ")}, then again), wrk ${p.wrkS} s per point after ${p.warmupS} s of warm-up per server start.`,
    "",
  ];
}

function bunCloseNote(rows: readonly ThroughputRow[]): string[] {
  if (!rows.some((x) => x.server === "bun" && x.conn === "close" && x.errors > 0)) return [];
  return [
    "Bun.serve's close-mode socket errors are read errors: it closes the connection after answering `Connection: close` but does not say `Connection: close` in its response, " +
      "so wrk sends its next request on the closed socket, counts a read error and reconnects. The responses themselves were complete and are counted.",
    "",
  ];
}

/** What a connection mode's figures say: where wrk was the ceiling, and the best ringside mode against nginx. */
function observations(m: MatrixRecord, rows: readonly ThroughputRow[], conn: ConnMode): string[] {
  const o: string[] = [];
  const bound = rows.filter((x) => x.conn === conn && x.clientCores.median >= 0.9);
  if (bound.length) {
    o.push(
      `${conn}: wrk's one thread was busy >= 90% of its CPU for ${bound.map((x) => `${x.server} c${x.connections}`).join(", ")}: ` +
        `those figures measure the client as much as the server; on a 2-CPU machine a faster server cannot show more than wrk's ceiling.`,
    );
  }
  for (const c of m.plan.connections) {
    const best = bestRing(rows, conn, c);
    const ng = row(rows, "nginx", conn, c);
    if (best && ng) {
      o.push(`${conn} c${c}: best ringside mode ${best.server} ${fmt(best.rps.median)} req/s at ${best.serverCores.median.toFixed(2)} server cores; nginx ${fmt(ng.rps.median)} at ${ng.serverCores.median.toFixed(2)} cores (CPU per 100k requests ${fmt(best.cpuPer100kS.median)} s vs ${fmt(ng.cpuPer100kS.median)} s).`);
    }
  }
  return o.length ? [...o.map((s) => `- ${s}`), ""] : [];
}

function throughput(m: MatrixRecord, rows: readonly ThroughputRow[], conn: ConnMode): string[] {
  const head = ["server", "conns", "req/s", "p50 ms", "p99 ms", "x nginx", "x Bun.serve", "server cores", "server CPU per 100k req", "req per CPU-s, x nginx", "wrk cores", "other work cores", "wrk socket errors"];
  const first = conn === CONN_MODES[0];
  return [
    `## Throughput and latency: ${SECTION_TITLES[conn]}`,
    "",
    ...(first ? howLine(m) : []),
    `median (min–max) over ${plural(m.plan.rounds, "round")}; ratios are per round against the peer measured in the same round. ` +
      `"server cores": CPU the server used (all its threads, the SQPOLL kernel thread included) per second of wall time. ` +
      `"wrk cores" near 1.00 means the single wrk thread was saturated: req/s is then a bound on the client, not the server, and "req per CPU-s" (requests per CPU-second of the server, relative to nginx) says more about the server.`,
    "",
    table(head, rows.filter((x) => x.conn === conn).map((x) => throughputRow(x, conn))),
    "",
    ...(conn === "close" ? bunCloseNote(rows) : []),
    ...observations(m, rows, conn),
  ];
}

function section(m: MatrixRecord): string[] {
  const rows = rowsOf(m);
  return CONN_MODES.flatMap((conn) => throughput(m, rows, conn));
}

// ---------------------------------------------------------------- chart

const COLORS: Record<ServerName, string> = {
  nginx: "#3d8b37",
  bun: "#d9822b",
  spin: "#9ecae1",
  sqpoll: "#4292c6",
  batch: "#08519c",
};

function clientBoundNote(rows: readonly ThroughputRow[]): string | undefined {
  const bound = rows.filter((x) => x.clientCores.median >= 0.9);
  if (!bound.length) return undefined;
  const servers = [...new Set(bound.map((x) => LABELS[x.server]))].join(", ");
  return `wrk (one thread) was >= 90% busy for ${servers} (${bound.length} of ${rows.length} points): those bars show the client's limit.`;
}

function chart(m: MatrixRecord, run: Results): Chart {
  const rows = rowsOf(m);
  const c = run.machine;
  const connections = m.plan.connections;
  return {
    title: "ringside vs nginx vs Bun.serve: requests/s (wrk, canned 17-byte body)",
    subtitle: `${c.date.slice(0, 10)} ${c.host}: ${c.cores} CPUs ${c.cpuModel}, Linux ${c.kernel}, Bun ${c.versions.bun}, nginx ${c.versions.nginx}; pinning ${m.result.pinning}; median of ${m.plan.rounds}, whiskers min–max`,
    series: SERVERS.map((s) => ({ label: LABELS[s], color: COLORS[s] })),
    note: clientBoundNote(rows),
    panels: CONN_MODES.map((conn) => ({
      title: CONN_TITLES[conn],
      groups: connections.map((n) => `${n} connections`),
      values: connections.map((n) => SERVERS.map((s) => row(rows, s, conn, n)?.rps)),
    })),
  };
}

export const matrix: Phase<MatrixPlan, MatrixResult> = {
  name: "matrix",
  plan: (quick) => (quick ? QUICK : FULL),
  run,
  targets,
  section,
  chart,
};
