// The routes and delay phases (issue 13).
// routes: what matching costs. ringside batch (1 ring) with no route, with one
// route (/), and with 16 (15 prefix routes that do not match, then /, so
// every request is compared with all 16), all answering the canned bytes; each
// held to half a CPU (QUOTA_PLACE) so that req/s is the server's cost.
// delay: how precise a delay is under load. ringside batch (1 ring) answering
// after 0, 1, 10 and 100 ms, keep-alive at 64 connections, server on CPU 1
// and wrk on CPU 0 without a quota; wrk's latency percentiles against the
// asked delay.
import { availableParallelism } from "node:os";
import { BODY, type PhaseSizes } from "./config.ts";
import type { Ctx } from "./measure.ts";
import { QUOTA_PLACE, quotaBlocker } from "./quota-phase.ts";
import { sweep, type Row } from "./sweep.ts";
import type { PhaseResult } from "./types.ts";

const BATCH = ["--mode", "batch", "--rings", "1"];
/** The canned response as a route answers it (the harness checks every server serves it). */
const CANNED = `type=text/html body="${BODY.replace(/\n/g, "\\n")}"`;
const root = (extra = ""): string[] => ["--route", `/=200 ${CANNED}${extra}`];
const misses = Array.from({ length: 15 }, (_, i) => ["--route", `/miss-${i}/*=200 ${CANNED}`]).flat();

export const ROUTES_ROWS: readonly Row[] = [
  { key: "none", label: "ringside batch, no route", kind: "ringside", flags: BATCH, ...QUOTA_PLACE },
  { key: "route1", label: "ringside batch, 1 route", kind: "ringside", flags: [...BATCH, ...root()], ...QUOTA_PLACE },
  { key: "route16", label: "ringside batch, 16 routes (the match is the last)", kind: "ringside", flags: [...BATCH, ...misses, ...root()], ...QUOTA_PLACE },
];

/** The delays the delay phase asks for, in ms (0: the reference latency). */
export const DELAYS_MS = [0, 1, 10, 100] as const;
export const delayKey = (ms: number): string => `delay${ms}`;

export const DELAY_ROWS: readonly Row[] = DELAYS_MS.map((ms) => ({
  key: delayKey(ms),
  label: ms ? `ringside batch, delay=${ms}ms` : "ringside batch, no delay",
  kind: "ringside",
  flags: [...BATCH, ...root(ms ? ` delay=${ms}ms` : "")],
  serverCpus: "1",
  clientCpus: "0",
}));

export async function routesPhase(ctx: Ctx, sizes: PhaseSizes): Promise<PhaseResult> {
  const blocked = quotaBlocker();
  if (blocked) return { rows: [], runs: [], blocks: [], skipped: blocked };
  return sweep(ctx, "routes", ROUTES_ROWS, sizes);
}

export async function delayPhase(ctx: Ctx, sizes: PhaseSizes): Promise<PhaseResult> {
  if (availableParallelism() < 2) return { rows: [], runs: [], blocks: [], skipped: "it needs 2 CPUs (the server on CPU 1, wrk on CPU 0)" };
  return sweep(ctx, "delay", DELAY_ROWS, sizes);
}
