// What every phase is given while it measures: the run's limits, a scratch
// directory, where it records anomalies and server starts, the noise monitor,
// the thread placement of the pinned phases, and the log.
import type { ConnMode, Pinning, ServerName } from "./config.ts";
import type { Monitor } from "./monitor.ts";

/** Bounds that hold for every phase of a run. */
export interface Limits {
  /** Hard limit per wrk/ab/hyperfine invocation, so that nothing hangs. */
  timeoutMs: number;
  /** Longest wait, over the whole run, for other work on the machine to calm down. */
  quietBudgetS: number;
  /** wrk measurements repeated (at most, over the run) because other work used > 0.15 cores meanwhile. */
  retryBudget: number;
}

export const LIMITS: { full: Limits; quick: Limits } = {
  full: { timeoutMs: 120_000, quietBudgetS: 90, retryBudget: 20 },
  quick: { timeoutMs: 30_000, quietBudgetS: 3, retryBudget: 0 },
};

/** One server start of the pinning trials, the wrk matrix or the cost phase, with ringside's summary counters. */
export interface ServerBlock {
  round: number;
  server: ServerName;
  conn: ConnMode;
  /** ringside's summary counters at stop. */
  counters: Record<string, number>;
  exitCode: number | null;
  /** Requests wrk (or ab) saw completed against this process, warm-up included. */
  clientRequests: number;
  features?: string;
}

export interface Ctx {
  limits: Limits;
  tmp: string;
  anomalies: string[];
  blocks: ServerBlock[];
  monitor: Monitor;
  /** Where the pinned phases (wrk matrix, cold start, cost) put threads: --pinning's policy,
   * else unpinned, until the pinning phase chooses one. */
  pin: Pinning;
  /** --pinning was given: the pinning phase records it and runs no trials. */
  pinForced: boolean;
  /** Starts a new step of the run in the log and the noise monitor (a phase calls it for a
   * step whose CPU is not the servers', as the image build). */
  enter(step: string): void;
}

export function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}
