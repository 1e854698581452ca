// Figures, targets and Markdown of the routes and delay phases (issue 13).
import type { ConnMode } from "./config.ts";
import { plural, table, verdict } from "./md.ts";
import { connsOf, cpuPerReq, figure, ratio } from "./phase-report.ts";
import { QUOTA_CPUS } from "./quota-phase.ts";
import { DELAYS_MS, delayKey } from "./routes-phase.ts";
import { fmt, fmtSpread } from "./stats.ts";
import type { PhaseResult, Results, Target } from "./types.ts";

/** Matching 16 routes costs at most 3% of the throughput of matching one. */
export const ROUTES_WANT = 0.97;

const has = (p: PhaseResult, key: string): boolean => p.runs.some((r) => r.row === key);

function routesTarget(p: PhaseResult, num: string, den: string, what: string, conn: ConnMode): Target {
  const r = ratio(p, num, den, conn);
  const at = (key: string): string => fmt(figure(p, key, conn, (x) => x.rps).median);
  return {
    name: `routes, ${conn}: ${what}, req/s with half a CPU each`,
    want: `>= ${ROUTES_WANT}x (within 3%)`,
    got: r.n ? `${fmtSpread(r, "x")} (${at(num)} vs ${at(den)} req/s)` : "n/a",
    met: r.n ? r.median >= ROUTES_WANT : null,
  };
}

export function routesTargets(p: PhaseResult): Target[] {
  const out: Target[] = [];
  for (const conn of connsOf(p)) {
    if (has(p, "route16") && has(p, "route1")) out.push(routesTarget(p, "route16", "route1", "16 routes vs 1", conn));
    if (has(p, "route1") && has(p, "none")) out.push(routesTarget(p, "route1", "none", "1 route vs none", conn));
  }
  return out;
}

function sizesLine(s: { rounds: number; wrkS: number; warmupS: number; connections: number } | undefined): string {
  return s ? `wrk -t1 -c${s.connections}, ${s.wrkS} s per run after ${s.warmupS} s of warm-up, ${plural(s.rounds, "round")} (medians, min–max), rows interleaved.` : "";
}

export function routesSection(r: Results): string[] {
  const p = r.routes;
  if (!p) return [];
  const title = "## Routes: what matching costs (issue 13)";
  if (p.skipped) return [title, "", `Skipped: ${p.skipped}.`, ""];
  const rows = connsOf(p).flatMap((conn) =>
    p.rows.map((row) => [conn, row.label, fmtSpread(figure(p, row.key, conn, (x) => x.rps)), fmtSpread(figure(p, row.key, conn, (x) => cpuPerReq(x) * 1e6), " µs"), fmtSpread(figure(p, row.key, conn, (x) => x.clientCores))]),
  );
  return [
    title,
    "",
    `ringside batch (1 ring) answering the canned bytes with no route, with one route (\`/\`), and with 16 (15 prefix routes that do not match, then \`/\`: every request is compared with all 16); ` +
      `each in a ${QUOTA_CPUS}-CPU cgroup quota on CPU 1, wrk on CPU 0, so req/s is what the server does with the CPU it has. ${sizesLine(r.sizes.routes)}`,
    "",
    table(["connection mode", "server", "req/s", "server CPU per request", "wrk cores"], rows),
    "",
    ...routesTargets(p).map((t) => `- ${verdict(t)} ${t.name}: ${t.got} (want ${t.want})`),
    "",
  ];
}

export interface DelayFigure {
  askedMs: number;
  p50Ms: number;
  p99Ms: number;
  rps: number;
}

/** Median latency percentiles of each delay row (keep-alive). */
export function delayFigures(p: PhaseResult): DelayFigure[] {
  return DELAYS_MS.filter((ms) => has(p, delayKey(ms))).map((ms) => ({
    askedMs: ms,
    p50Ms: figure(p, delayKey(ms), "keep-alive", (x) => x.p50Ms).median,
    p99Ms: figure(p, delayKey(ms), "keep-alive", (x) => x.p99Ms).median,
    rps: figure(p, delayKey(ms), "keep-alive", (x) => x.rps).median,
  }));
}

export function delaySection(r: Results): string[] {
  const p = r.delay;
  if (!p) return [];
  const title = "## Delay: how precise --delay is under load (issue 13)";
  if (p.skipped) return [title, "", `Skipped: ${p.skipped}.`, ""];
  const ms = (x: number): string => `${x.toFixed(2)} ms`;
  const rows = delayFigures(p).map((f) => [f.askedMs ? ms(f.askedMs) : "none", fmt(f.rps), ms(f.p50Ms), ms(f.p99Ms), f.askedMs ? ms(f.p50Ms - f.askedMs) : "-", f.askedMs ? ms(f.p99Ms - f.askedMs) : "-"]);
  return [
    title,
    "",
    `ringside batch (1 ring) on CPU 1, wrk on CPU 0, keep-alive: each of the ${r.sizes.delay?.connections ?? "?"} connections has one request outstanding, held back by an io_uring timeout linked to its send. ` +
      `"added" is wrk's percentile minus the delay asked for: the timer's lateness plus the response's own latency (the "none" row). ${sizesLine(r.sizes.delay)}`,
    "",
    table(["delay asked", "req/s", "p50", "p99", "added at p50", "added at p99"], rows),
    "",
  ];
}
