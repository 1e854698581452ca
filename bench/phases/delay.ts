// The delay phase (issue 13): how precise a delay is under load. ringside batch
// (1 ring) answering after 0, 1, 10 and 100 ms, keep-alive at 64 connections,
// server on CPU 1 and wrk on CPU 0 without a quota; wrk's latency percentiles
// against the asked delay. No target: the figures are what docs/http.md quotes.
import { availableParallelism } from "node:os";
import { BATCH_1, rootRoute } from "../lib/config.ts";
import { figure, has } from "../lib/rows.ts";
import { fmt } from "../lib/stats.ts";
import { skipped, sweep, sweepPlan, type Row, type SweepPlan, type SweepResult } from "../lib/sweep.ts";
import { table } from "../report/md.ts";
import { briefSizesLine } from "../report/rows.ts";
import type { Done, Phase } from "./phase.ts";

/** The delays asked for, in ms (0: the reference latency). */
const DELAYS_MS = [0, 1, 10, 100] as const;
const delayKey = (ms: number): string => `delay${ms}`;

const DELAY_ROWS: readonly Row[] = DELAYS_MS.map((ms) => ({
  key: delayKey(ms),
  label: ms ? `ringside batch, delay=${ms}ms` : "ringside batch, no delay",
  kind: "ringside",
  flags: [...BATCH_1, ...rootRoute("200", ms ? ` delay=${ms}ms` : "")],
  serverCpus: "1",
  clientCpus: "0",
}));

export interface DelayFigure {
  askedMs: number;
  p50Ms: number;
  p99Ms: number;
  rps: number;
}

/** Median latency percentiles of each delay row (keep-alive). */
export function delayFigures(p: SweepResult): DelayFigure[] {
  return DELAYS_MS.filter((ms) => has(p, delayKey(ms))).map((ms) => ({
    askedMs: ms,
    p50Ms: figure(p, delayKey(ms), "keep-alive", (x) => x.p50Ms).median,
    p99Ms: figure(p, delayKey(ms), "keep-alive", (x) => x.p99Ms).median,
    rps: figure(p, delayKey(ms), "keep-alive", (x) => x.rps).median,
  }));
}

function section({ plan, result: p }: Done<SweepPlan, SweepResult>): string[] {
  const title = "## Delay: how precise --delay is under load (issue 13)";
  if (p.skipped) return [title, "", `Skipped: ${p.skipped}.`, ""];
  const ms = (x: number): string => `${x.toFixed(2)} ms`;
  const rows = delayFigures(p).map((f) => [f.askedMs ? ms(f.askedMs) : "none", fmt(f.rps), ms(f.p50Ms), ms(f.p99Ms), f.askedMs ? ms(f.p50Ms - f.askedMs) : "-", f.askedMs ? ms(f.p99Ms - f.askedMs) : "-"]);
  return [
    title,
    "",
    `ringside batch (1 ring) on CPU 1, wrk on CPU 0, keep-alive: each of the ${plan.connections} connections has one request outstanding, held back by an io_uring timeout (the DELAYING state's clock), the send issued when it fires. ` +
      `"added" is wrk's percentile minus the delay asked for: the timer's lateness plus the response's own latency (the "none" row). ${briefSizesLine(plan)}`,
    "",
    table(["delay asked", "req/s", "p50", "p99", "added at p50", "added at p99"], rows),
    "",
  ];
}

export const delay: Phase<SweepPlan, SweepResult> = {
  name: "delay",
  plan: (quick) => sweepPlan(quick, ["keep-alive"], ["delay10"]),
  run: async (ctx, plan) => (availableParallelism() < 2 ? skipped("delay", "it needs 2 CPUs (the server on CPU 1, wrk on CPU 0)") : sweep(ctx, "delay", DELAY_ROWS, plan)),
  targets: () => [],
  section,
};
