// Markdown parts that every phase of rows (lib/sweep.ts) shows the same way:
// how it ran, its rows, where wrk was the ceiling, other work on the machine.
import type { ConnMode } from "../lib/config.ts";
import { cpuPerReq, connsOf, figure, ratio } from "../lib/rows.ts";
import { fmt, fmtSpread, spread } from "../lib/stats.ts";
import type { RowRun, SweepPlan, SweepResult } from "../lib/sweep.ts";
import type { Target } from "../phases/phase.ts";
import { plural, table } from "./md.ts";

export const usPerReq = (r: RowRun): number => cpuPerReq(r) * 1e6;
export const serverCores = (r: RowRun): number => r.serverCpuS / r.seconds;
export const wrkErrors = (r: RowRun): number => r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout + r.errors.non2xx;

/** A figure of a row as a table cell: median (min–max). */
export function cell<R extends RowRun>(p: SweepResult<R>, key: string, conn: ConnMode, f: (r: R) => number, unit = ""): string {
  return fmtSpread(figure(p, key, conn, f), unit);
}

/** CPU other work on the machine took during a row's runs, in cores ("0" under 0.05, as in the matrix tables). */
export function otherWork(p: SweepResult, key: string, conn: ConnMode): string {
  const s = figure(p, key, conn, (r) => r.foreignCores + r.stealCores);
  return s.max >= 0.05 ? fmtSpread(s) : "0";
}

/** A quota sweep's rows (routes, weights): each server's req/s, CPU per request and wrk cores, by connection mode. */
export function quotaTable(p: SweepResult): string {
  const rows = connsOf(p).flatMap((conn) =>
    p.rows.map((row) => [conn, row.label, cell(p, row.key, conn, (x) => x.rps), cell(p, row.key, conn, usPerReq, " µs"), cell(p, row.key, conn, (x) => x.clientCores)]),
  );
  return table(["connection mode", "server", "req/s", "server CPU per request", "wrk cores"], rows);
}

export function sizesLine(s: SweepPlan | undefined): string {
  if (!s) return "";
  return `wrk -t1 -c${s.connections}, ${s.wrkS} s per run after ${s.warmupS} s of warm-up per server start, ${plural(s.rounds, "round")} (medians, min–max), rows interleaved in every round.`;
}

/** The routes and delay sections' shorter wording of the same. */
export function briefSizesLine(s: SweepPlan | undefined): string {
  return s ? `wrk -t1 -c${s.connections}, ${s.wrkS} s per run after ${s.warmupS} s of warm-up, ${plural(s.rounds, "round")} (medians, min–max), rows interleaved.` : "";
}

/** Other work on the machine over a whole phase: it skews every row alike only if it was steady. */
export function noiseLine(p: SweepResult): string[] {
  const s = spread(p.runs.map((r) => r.foreignCores + r.stealCores));
  return s.n && s.max >= 0.05 ? [`Other work on the machine during these runs: ${fmtSpread(s)} cores (median, min–max over runs).`, ""] : [];
}

export function rowList(p: SweepResult): string[] {
  return p.rows.map((row) => `- **${row.label}**: \`${row.command}\`; ${row.placement}.`);
}

/** Rows where wrk's one thread was the ceiling (>= 0.9 of a core, median). */
export function clientBound(p: SweepResult): string[] {
  const bound: string[] = [];
  for (const conn of connsOf(p)) {
    for (const row of p.rows) if (figure(p, row.key, conn, (r) => r.clientCores).median >= 0.9) bound.push(`${row.label} / ${conn}`);
  }
  if (!bound.length) return ["wrk's one thread stayed under 0.9 of a core in every row: no row's req/s is the client's ceiling.", ""];
  return [`**wrk's one thread is the ceiling** (>= 0.9 of a core) for: ${bound.join("; ")}. Those req/s are the client's limit; compare the server CPU per request there.`, ""];
}

/** A target on one row's req/s over another's, same rounds: met at `min` or more (n/a when either is missing). */
export function reqRatioTarget(p: SweepResult, num: string, den: string, conn: ConnMode, name: string, min: number, want = `>= ${min}x`): Target {
  const r = ratio(p, num, den, conn);
  const at = (key: string): string => fmt(figure(p, key, conn, (x) => x.rps).median);
  return { name, want, got: r.n ? `${fmtSpread(r, "x")} (${at(num)} vs ${at(den)} req/s)` : "n/a", met: r.n ? r.median >= min : null };
}
