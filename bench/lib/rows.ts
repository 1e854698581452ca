// Figures of a phase of rows (lib/sweep.ts), from its raw runs: every ratio is
// taken round by round between rows measured in the same round, then summarised.
import type { ConnMode } from "./config.ts";
import { ratioSpread, spread, type Spread } from "./stats.ts";
import type { Layout, RowRun, SweepResult } from "./sweep.ts";

export const cpuPerReq = (r: RowRun): number => r.serverCpuS / r.requests;
const rps = (r: RowRun): number => r.rps;

/** Whether the phase measured a row at all. */
export const has = (p: SweepResult, key: string): boolean => p.runs.some((r) => r.row === key);

/** The runs of a row in one connection mode, by round. */
export function runsOf<R extends RowRun>(p: SweepResult<R>, key: string, conn: ConnMode): R[] {
  return p.runs.filter((r) => r.row === key && r.conn === conn).sort((a, b) => a.round - b.round);
}

/** Same-round ratio of a figure between two rows (median and spread over rounds). */
export function ratio<R extends RowRun>(p: SweepResult<R>, num: string, den: string, conn: ConnMode, f: (r: R) => number = rps): Spread {
  const a = runsOf(p, num, conn);
  const b = runsOf(p, den, conn);
  const rounds = a.map((x) => x.round).filter((round) => b.some((y) => y.round === round));
  const at = (runs: R[], round: number): number => f(runs.find((x) => x.round === round)!);
  return ratioSpread(rounds.map((round) => at(a, round)), rounds.map((round) => at(b, round)));
}

export function figure<R extends RowRun>(p: SweepResult<R>, key: string, conn: ConnMode, f: (r: R) => number): Spread {
  return spread(runsOf(p, key, conn).map(f));
}

/** Each ring's share of the requests, in %, median over the row's runs; undefined without /metrics. */
export function ringShares(p: SweepResult, key: string, conn: ConnMode): { requests: number[]; accepted: number[] } | undefined {
  const runs = runsOf(p, key, conn).filter((r) => r.perRing?.length);
  if (!runs.length) return undefined;
  const rings = Math.max(...runs.map((r) => r.perRing!.length));
  const median = (f: (x: RowRun) => number): number => spread(runs.map(f)).median;
  const total = (r: RowRun): number => r.perRing!.reduce((a, x) => a + x.requests, 0);
  return {
    requests: Array.from({ length: rings }, (_, k) => median((r) => (100 * (r.perRing![k]?.requests ?? 0)) / total(r))),
    accepted: Array.from({ length: rings }, (_, k) => median((r) => r.perRing![k]?.accepted ?? 0)),
  };
}

const layoutText = (l: Layout): string => `${l.mode}/${l.rings}${l.auto ? ` (auto: ${l.auto})` : ""}`;

/** The layouts a row's ringside starts announced (one, unless something changed mid-run). */
export function layouts(p: SweepResult, key: string): string[] {
  return [...new Set(p.blocks.filter((b) => b.row === key && b.layout).map((b) => layoutText(b.layout!)))];
}

/** The connection modes the phase measured. */
export function connsOf(p: SweepResult): ConnMode[] {
  return [...new Set(p.runs.map((r) => r.conn))];
}
