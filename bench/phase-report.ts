// Figures and targets of the rings, quota and budget phases, from their raw
// runs (pure: used by derive() and by the Markdown report). Every ratio is
// taken round by round between rows measured in the same round, then summarised.
import type { ConnMode } from "./config.ts";
import { BUDGETS, budgetKey } from "./budget-phase.ts";
import { footprintTargets } from "./footprint-report.ts";
import { fmt, fmtSpread, ratioSpread, spread, type Spread } from "./stats.ts";
import type { Layout, PhaseResult, Results, RowRun, Target } from "./types.ts";

export const cpuPerReq = (r: RowRun): number => r.serverCpuS / r.requests;
const rps = (r: RowRun): number => r.rps;

/** The runs of a row in one connection mode, by round. */
export function runsOf(p: PhaseResult, key: string, conn: ConnMode): RowRun[] {
  return p.runs.filter((r) => r.row === key && r.conn === conn).sort((a, b) => a.round - b.round);
}

/** Same-round ratio of a figure between two rows (median and spread over rounds). */
export function ratio(p: PhaseResult, num: string, den: string, conn: ConnMode, f: (r: RowRun) => number = rps): Spread {
  const a = runsOf(p, num, conn);
  const b = runsOf(p, den, conn);
  const rounds = a.map((x) => x.round).filter((round) => b.some((y) => y.round === round));
  const at = (runs: RowRun[], round: number): number => f(runs.find((x) => x.round === round)!);
  return ratioSpread(rounds.map((round) => at(a, round)), rounds.map((round) => at(b, round)));
}

export function figure(p: PhaseResult, key: string, conn: ConnMode, f: (r: RowRun) => number): Spread {
  return spread(runsOf(p, key, conn).map(f));
}

/** Each ring's share of the requests, in %, median over the row's runs; undefined without /metrics. */
export function ringShares(p: PhaseResult, key: string, conn: ConnMode): { requests: number[]; accepted: number[] } | undefined {
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
export function layouts(p: PhaseResult, key: string): string[] {
  return [...new Set(p.blocks.filter((b) => b.row === key && b.layout).map((b) => layoutText(b.layout!)))];
}

/** The rows and connection modes the phase measured. */
export function connsOf(p: PhaseResult): ConnMode[] {
  return [...new Set(p.runs.map((r) => r.conn))];
}

const has = (p: PhaseResult, key: string): boolean => p.runs.some((r) => r.row === key);
const x = (s: Spread): string => fmtSpread(s, "x");
const us = (s: number): string => `${fmt(s * 1e6)} µs`;

// ---------------------------------------------------------------- rings

function ringsCpuTarget(p: PhaseResult, conn: ConnMode): Target {
  const r = ratio(p, "ring2", "ring1", conn, cpuPerReq);
  const at = (key: string): string => us(figure(p, key, conn, cpuPerReq).median);
  return {
    name: `rings, ${conn}: ringside server CPU per request, 2 rings vs 1 ring (batch mode)`,
    want: "<= 1.10x (within 10%)",
    got: r.n ? `${x(r)} (${at("ring2")} vs ${at("ring1")})` : "n/a",
    met: r.n ? r.median <= 1.1 : null,
  };
}

function bothRingsTarget(p: PhaseResult): Target {
  const multi = p.runs.filter((r) => (r.perRing?.length ?? 0) > 1);
  const idle = multi.filter((r) => r.perRing!.some((k) => k.requests === 0));
  const minShare = (r: RowRun): number => Math.min(...r.perRing!.map((k) => k.requests)) / r.perRing!.reduce((a, k) => a + k.requests, 0);
  const least = multi.length ? Math.min(...multi.map(minShare)) : Number.NaN;
  return {
    name: "rings: every ring serves (ringside with several rings, every run, /metrics per ring)",
    want: "every ring answers requests in every run",
    got: multi.length ? `${multi.length - idle.length} of ${multi.length} runs; the least busy ring took ${(least * 100).toFixed(1)}% of a run's requests` : "n/a",
    met: multi.length ? idle.length === 0 : null,
  };
}

export function ringsTargets(p: PhaseResult): Target[] {
  if (!has(p, "ring1") || !has(p, "ring2")) return [bothRingsTarget(p)];
  return [...connsOf(p).map((c) => ringsCpuTarget(p, c)), bothRingsTarget(p)];
}

// ---------------------------------------------------------------- quota

/** The quota phase's ratio targets: ringside batch vs a peer, both held to the same quota. */
export const QUOTA_WANTS: ReadonlyArray<{ conn: ConnMode; peer: "nginx" | "bun"; want: number }> = [
  { conn: "keep-alive", peer: "nginx", want: 1.4 },
  { conn: "close", peer: "nginx", want: 1.25 },
  { conn: "pipelined", peer: "bun", want: 2 },
];

const PEER_NAMES = { nginx: "nginx (1 worker)", bun: "Bun.serve" } as const;

function quotaRatioTarget(p: PhaseResult, conn: ConnMode, peer: "nginx" | "bun", want: number): Target {
  const r = ratio(p, "batch", peer, conn);
  const at = (key: string): string => fmt(figure(p, key, conn, rps).median);
  return {
    name: `quota, ${conn}: ringside batch vs ${PEER_NAMES[peer]}, req/s with half a CPU each`,
    want: `>= ${want}x`,
    got: r.n ? `${x(r)} (${at("batch")} vs ${at(peer)} req/s)` : "n/a",
    met: r.n ? r.median >= want : null,
  };
}

function quotaPickTarget(p: PhaseResult): Target {
  const got = layouts(p, "default");
  return {
    name: "quota: ringside's default (no --mode) under half a CPU picks batch with 1 ring",
    want: "mode=batch rings=1",
    got: got.join("; ") || "n/a",
    met: got.length ? got.every((l) => l.startsWith("batch/1")) : null,
  };
}

export function quotaTargets(p: PhaseResult): Target[] {
  const ratios = QUOTA_WANTS.filter((w) => has(p, "batch") && has(p, w.peer) && connsOf(p).includes(w.conn));
  return [...ratios.map((w) => quotaRatioTarget(p, w.conn, w.peer, w.want)), ...(has(p, "default") ? [quotaPickTarget(p)] : [])];
}

// ---------------------------------------------------------------- budget

/** Not slower: identical layouts measured side by side differ by a few % run to run. */
export const NOT_SLOWER = 0.95;

function budgetTarget(p: PhaseResult, budget: (typeof BUDGETS)[number]): Target | undefined {
  const def = budgetKey(budget.name, "default");
  const others = ["batch", "batch-1"].filter((v) => has(p, budgetKey(budget.name, v)));
  if (!has(p, def) || !others.length) return undefined;
  const parts: string[] = [];
  let met = true;
  for (const conn of connsOf(p)) {
    for (const v of others) {
      const r = ratio(p, def, budgetKey(budget.name, v), conn);
      if (!(r.median >= NOT_SLOWER)) met = false;
      parts.push(`${conn} vs ${v === "batch" ? "--mode batch" : "--mode batch --rings 1"} ${x(r)}`);
    }
  }
  return { name: `budget ${budget.label}: ringside's default vs --mode batch, req/s`, want: `>= ${NOT_SLOWER}x (not slower, within run-to-run noise)`, got: parts.join("; "), met };
}

function budgetNginxTarget(p: PhaseResult): Target | undefined {
  const def = budgetKey("quota", "default");
  const ng = budgetKey("quota", "nginx");
  if (!has(p, def) || !has(p, ng)) return undefined;
  const rs = connsOf(p).map((c) => ({ c, r: ratio(p, def, ng, c) }));
  return {
    name: `budget ${BUDGETS.find((b) => b.name === "quota")!.label}: ringside's default vs nginx (1 worker) in the same quota, req/s`,
    want: "> 1x",
    got: rs.map(({ c, r }) => `${c} ${x(r)}`).join("; "),
    met: rs.every(({ r }) => r.median > 1),
  };
}

export function budgetTargets(p: PhaseResult): Target[] {
  const t = [...BUDGETS.map((b) => budgetTarget(p, b)), budgetNginxTarget(p)];
  return t.filter((v): v is Target => v !== undefined);
}

/** Every target of the phases that ran besides the matrix: rings, quota, budget, startup and footprint. */
export function phaseTargets(r: Results): Target[] {
  const fp = r.footprint ? footprintTargets(r.footprint) : [];
  return [...(r.rings ? ringsTargets(r.rings) : []), ...(r.quota ? quotaTargets(r.quota) : []), ...(r.budget ? budgetTargets(r.budget) : []), ...fp];
}

/** From the wrk matrix (no quota, the run's pinning): ringside batch's requests per
 * server CPU-second over the peer's, same rounds, at 64 connections (or the first count). */
export function matrixPerCpu(r: Results, conn: ConnMode, peer: "nginx" | "bun"): Spread {
  const c = r.sizes.connections.includes(64) ? 64 : r.sizes.connections[0];
  const eff = (server: string): number[] =>
    r.load
      .filter((x) => x.server === server && x.conn === conn && x.connections === c)
      .sort((a, b) => a.round - b.round)
      // No CPU counted (a run that hardly served): no figure, rather than an infinite one.
      .map((x) => (x.serverCpuS > 0 ? x.requests / x.serverCpuS : Number.NaN));
  return ratioSpread(eff("batch"), eff(peer));
}
