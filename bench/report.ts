// From raw measurements to the figures people read: spreads and same-round
// ratios (derive), the targets with met/missed, and the chart. The Markdown
// report is markdown.ts.
import { CONN_MODES, CONN_TITLES, LABELS, RING_MODES, SERVERS, isRing, type ConnMode, type ServerName } from "./config.ts";
import { phaseTargets } from "./phase-report.ts";
import { routesTargets } from "./routes-report.ts";
import { fmt, ratioSpread, spread } from "./stats.ts";
import { renderChart } from "./svg.ts";
import type { CostResult, LoadRun, Results, Target, ThroughputRow } from "./types.ts";

const COLORS: Record<ServerName, string> = {
  nginx: "#3d8b37",
  bun: "#d9822b",
  spin: "#9ecae1",
  sqpoll: "#4292c6",
  batch: "#08519c",
};

/** A run's value by round, for one server/conn/connection count. */
function byRound(load: readonly LoadRun[], server: ServerName, conn: ConnMode, connections: number, f: (r: LoadRun) => number): number[] {
  return load
    .filter((r) => r.server === server && r.conn === conn && r.connections === connections)
    .sort((a, b) => a.round - b.round)
    .map(f);
}

export function throughputRows(load: readonly LoadRun[], connections: readonly number[]): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  for (const conn of CONN_MODES) {
    for (const c of connections) {
      const nginx = byRound(load, "nginx", conn, c, (r) => r.rps);
      const eff = (r: LoadRun): number => r.requests / r.serverCpuS;
      const nginxEff = byRound(load, "nginx", conn, c, eff);
      const bun = byRound(load, "bun", conn, c, (r) => r.rps);
      for (const server of SERVERS) {
        const runs = load.filter((r) => r.server === server && r.conn === conn && r.connections === c);
        if (!runs.length) continue;
        const rps = byRound(load, server, conn, c, (r) => r.rps);
        rows.push({
          server,
          conn,
          connections: c,
          rps: spread(rps),
          p50Ms: spread(runs.map((r) => r.p50Ms)),
          p99Ms: spread(runs.map((r) => r.p99Ms)),
          clientCores: spread(runs.map((r) => r.clientCores)),
          serverCores: spread(runs.map((r) => r.serverCpuS / r.seconds)),
          cpuPer100kS: spread(runs.map((r) => (r.serverCpuS / r.requests) * 1e5)),
          foreignCores: spread(runs.map((r) => r.foreignCores + r.stealCores)),
          errors: runs.reduce((a, r) => a + r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout + r.errors.non2xx, 0),
          vsNginx: ratioSpread(rps, nginx),
          vsBun: ratioSpread(rps, bun),
          perCpuS: spread(runs.map(eff)),
          perCpuVsNginx: ratioSpread(byRound(load, server, conn, c, eff), nginxEff),
        });
      }
    }
  }
  return rows;
}

export function row(rows: readonly ThroughputRow[], server: ServerName, conn: ConnMode, c: number): ThroughputRow | undefined {
  return rows.find((r) => r.server === server && r.conn === conn && r.connections === c);
}

/** The ringside mode with the highest median req/s at a connection count. */
export function bestRing(rows: readonly ThroughputRow[], conn: ConnMode, c: number): ThroughputRow | undefined {
  return RING_MODES.map((m) => row(rows, m, conn, c))
    .filter((r): r is ThroughputRow => r !== undefined)
    .sort((a, b) => b.rps.median - a.rps.median)[0];
}

function syscallsOf(c: CostResult): { value: number; tool: string; calls: number; requests: number } | undefined {
  const s = c.perf ?? c.strace;
  return s ? { value: s.perRequest, tool: s.tool, calls: s.calls, requests: s.requests } : undefined;
}

function ratioTarget(r: Results, conn: ConnMode, peer: "nginx" | "bun", want: number): Target {
  const parts: string[] = [];
  let met: boolean | null = true;
  const conns = r.sizes.connections;
  for (const c of conns) {
    const best = bestRing(r.throughput, conn, c);
    if (!best) {
      met = null;
      continue;
    }
    const ratio = peer === "nginx" ? best.vsNginx : best.vsBun;
    if (!(ratio.median >= want)) met = false;
    parts.push(`c${c}: ${ratio.median.toFixed(2)}x (${best.server}, ${fmt(best.rps.median)} vs ${fmt(row(r.throughput, peer, conn, c)?.rps.median ?? Number.NaN)} req/s)`);
  }
  return {
    name: `${conn}: best ringside mode vs ${peer === "nginx" ? "nginx (1 worker)" : "Bun.serve"}`,
    want: `>= ${want}x at every connection count`,
    got: parts.join("; "),
    met,
  };
}

/** Is the SQPOLL kernel thread's time in /proc/PID/stat? It is a thread of the
 * process, so the process total should equal the sum over its threads. */
function sqpollAccounting(r: Results): void {
  const sq = r.load.filter((x) => x.sqCpuS !== undefined && x.taskSumCpuS !== undefined);
  if (!sq.length) return;
  const processCpuS = sq.reduce((a, x) => a + x.serverCpuS, 0);
  const taskSumCpuS = sq.reduce((a, x) => a + (x.taskSumCpuS ?? 0), 0);
  const sqCpuS = sq.reduce((a, x) => a + (x.sqCpuS ?? 0), 0);
  const included = sqCpuS > 0 && Math.abs(processCpuS - taskSumCpuS) <= Math.max(0.05 * sq.length, 0.03 * processCpuS);
  r.sqpollAccounting = {
    processCpuS,
    taskSumCpuS,
    sqCpuS,
    included,
    note: included
      ? "the iou-sqp thread is a thread of the server process: /proc/PID/stat (utime+stime) already counts it"
      : "process total differs from the sum over threads: server CPU may not include the SQPOLL thread",
  };
  if (!included) r.anomalies.push(`SQPOLL accounting: process ${processCpuS.toFixed(2)} s vs threads ${taskSumCpuS.toFixed(2)} s (sq ${sqCpuS.toFixed(2)} s)`);
}

function syscallTarget(r: Results, mode: ServerName, want: number, strictZero: boolean): Target {
  const vals = r.cost.filter((c) => c.server === mode).map((c) => ({ c, s: syscallsOf(c) }));
  const got = vals
    .map(({ c, s }) => {
      if (!s) return `${c.conn}: n/a`;
      const sp = c.perf?.spread && c.perf.spread.n > 1 ? `, runs ${c.perf.spread.min.toFixed(3)}–${c.perf.spread.max.toFixed(3)}` : "";
      return `${c.conn}: ${s.value.toFixed(3)} (${s.calls} calls / ${s.requests} requests, ${s.tool}${sp})`;
    })
    .join("; ");
  return {
    name: `${mode} mode under load: system calls per request on the ringside-ring thread`,
    want: strictZero ? "0 (under 0.01)" : `< ${want}`,
    got,
    met: vals.length === 0 || vals.some((v) => !v.s) ? null : vals.every((v) => v.s!.value < want),
    note: strictZero
      ? "counted with perf's raw_syscalls tracepoint on that thread, which does not slow it; strace -c figures are in the cost table"
      : undefined,
  };
}

function idleTarget(r: Results): Target {
  const idle = r.cost.filter((c) => isRing(c.server));
  return {
    name: `idle CPU over ${r.sizes.cost.idleS} s after load, from the end of the ${r.serverDefaults.spinBudgetMs} ms spin budget`,
    want: "< 1% of a core, every ringside mode",
    got: idle.map((c) => `${c.server}/${c.conn}: ${c.idle.percentOfCore.toFixed(2)}%${Number.isFinite(c.idle.steadyPercentOfCore) ? ` (${c.idle.steadyPercentOfCore.toFixed(2)}% after the first ${c.idle.skipS} s)` : ""}`).join("; "),
    met: idle.length ? idle.every((c) => c.idle.percentOfCore < 1) : null,
    note: `includes the SQPOLL thread's own idle spin (--sq-idle, default ${r.serverDefaults.sqIdleMs} ms)`,
  };
}

function coldTarget(r: Results): Target {
  const bun = r.cold.find((c) => c.name === "bun");
  const ringCold = r.cold.filter((c) => isRing(c.name as ServerName));
  return {
    name: "cold start to first 200 (hyperfine median), ringside vs Bun.serve",
    want: "within 30 ms",
    got: bun
      ? `Bun.serve ${(bun.seconds.median * 1000).toFixed(1)} ms; ` + ringCold.map((c) => `${c.name} ${(c.seconds.median * 1000).toFixed(1)} ms (+${((c.seconds.median - bun.seconds.median) * 1000).toFixed(1)})`).join(", ")
      : "n/a",
    met: bun && ringCold.length ? ringCold.every((c) => c.seconds.median - bun.seconds.median <= 0.03) : null,
  };
}

/** SIGTERM under load ends ringside within its drain timeout, exit 0 (when measured). */
function stopTarget(r: Results): Target[] {
  const ring = r.cost.filter((c) => isRing(c.server) && c.stopUnderLoad);
  const drainMs = r.serverDefaults.drainTimeoutMs;
  if (!ring.length || drainMs === undefined) return [];
  return [{
    name: "SIGTERM under load: ringside drains and exits 0",
    want: `before the drain timeout (${drainMs} ms), every ringside mode`,
    got: ring.map((c) => `${c.server}/${c.conn}: ${c.stopUnderLoad!.ms.toFixed(0)} ms, exit ${c.stopUnderLoad!.code}`).join("; "),
    met: ring.every((c) => c.stopUnderLoad!.ms < drainMs && c.stopUnderLoad!.code === 0),
  }];
}

/** Memory per idle keep-alive connection stays under 16 KiB (an 8 KiB header buffer, mapped lazily, and nothing else grows). */
function footprintTarget(r: Results): Target[] {
  const ring = r.cost.filter((c) => isRing(c.server) && c.footprint);
  if (!ring.length) return [];
  return [{
    name: "RSS growth per idle keep-alive connection (one request each), over the first baseline, two rounds",
    want: "< 16 KiB, every ringside mode",
    got: ring.map((c) => `${c.server}/${c.conn} (${c.footprint!.connections} connections): ${c.footprint!.perConnectionB.map((b) => `${fmt(b)} B`).join(", ")}`).join("; "),
    met: ring.every((c) => c.footprint!.perConnectionB.every((b) => b < 16 * 1024)),
  }];
}

function targets(r: Results): Target[] {
  // A run of --only phases has no matrix, cold start or cost to judge.
  const routes = r.routes ? routesTargets(r.routes) : [];
  if (r.only) return [...phaseTargets(r), ...routes];
  const t: Target[] = [];
  for (const conn of ["keep-alive", "pipelined"] as const) {
    t.push(ratioTarget(r, conn, "nginx", 1.4));
    t.push(ratioTarget(r, conn, "bun", 1.8));
  }
  t.push(ratioTarget(r, "close", "nginx", 1.2));
  t.push(syscallTarget(r, "spin", 0.01, true));
  t.push(syscallTarget(r, "batch", 0.3, false));
  t.push(idleTarget(r));
  t.push(coldTarget(r));
  return [...t, ...stopTarget(r), ...footprintTarget(r), ...phaseTargets(r), ...routes];
}

export function derive(r: Results): void {
  r.throughput = throughputRows(r.load, r.sizes.connections);
  sqpollAccounting(r);
  r.targets = targets(r);
}

// ---------------------------------------------------------------- SVG

function clientBoundNote(r: Results): string | undefined {
  const bound = r.throughput.filter((x) => x.clientCores.median >= 0.9);
  if (!bound.length) return undefined;
  const servers = [...new Set(bound.map((x) => LABELS[x.server]))].join(", ");
  return `wrk (one thread) was >= 90% busy for ${servers} (${bound.length} of ${r.throughput.length} points): those bars show the client's limit.`;
}

export function renderSvg(r: Results): string {
  const m = r.machine;
  return renderChart({
    title: "ringside vs nginx vs Bun.serve: requests/s (wrk, canned 17-byte body)",
    subtitle: `${m.date.slice(0, 10)} ${m.host}: ${m.cores} CPUs ${m.cpuModel}, Linux ${m.kernel}, Bun ${m.versions.bun}, nginx ${m.versions.nginx}; pinning ${r.pinning.chosen}; median of ${r.sizes.rounds}, whiskers min–max`,
    series: SERVERS.map((s) => ({ label: LABELS[s], color: COLORS[s] })),
    note: clientBoundNote(r),
    panels: CONN_MODES.map((conn) => ({
      title: CONN_TITLES[conn],
      groups: r.sizes.connections.map((c) => `${c} connections`),
      values: r.sizes.connections.map((c) => SERVERS.map((s) => row(r.throughput, s, conn, c)?.rps)),
    })),
  });
}
