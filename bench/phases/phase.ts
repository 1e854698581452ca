// The one interface every phase of the benchmark implements, and the run
// record (the results JSON) that a phase's targets and section read. A phase
// owns its plan (full and quick), its measurement, its targets and its part of
// the report; the registry (./index.ts) lists the phases in order, run.ts runs
// them in that order and the report (../report/) shows them in it.
import type { Ctx, ServerBlock, Limits } from "../lib/ctx.ts";
import type { Machine } from "../lib/machine.ts";
import type { Foreign, PhaseNoise } from "../lib/monitor.ts";
import type { Chart } from "../report/svg.ts";

export interface Phase<Plan, Result> {
  /** Its name for --only and the log, and the key of its record in the results. */
  readonly name: string;
  /** What it runs: a full run's sizes, or --quick's (seconds each, for CI). */
  plan(quick: boolean): Plan;
  /** Measures. A phase that cannot run here says why in its result instead of failing the run. */
  run(ctx: Ctx, plan: Plan): Promise<Result>;
  /** What it should reach, met or missed (every phase's go into the report's Targets table). */
  targets(done: Done<Plan, Result>, run: Results): Target[];
  /** Its part of the Markdown report, as lines. */
  section(done: Done<Plan, Result>, run: Results): string[];
  /** The run's chart (the .svg beside the report), for the one phase that draws it. */
  chart?(done: Done<Plan, Result>, run: Results): Chart;
}

/** What a phase planned and measured: its record in the results. */
export interface Done<Plan, Result> {
  plan: Plan;
  result: Result;
}

/**
 * Any phase, as the registry holds them. Sound because a phase's plan only
 * ever goes back to its own run, and a record only to the phase that made it
 * (run.ts and the report look records up by the phase's name).
 */
export type AnyPhase = Phase<unknown, unknown>;

export interface Target {
  name: string;
  want: string;
  got: string;
  met: boolean | null;
  note?: string;
}

export interface Noise {
  phases: PhaseNoise[];
  processes: Foreign[];
  waitedS: number;
  noisyStarts: number;
  retries: number;
}

/** bench/results/*.json: the run, and what each phase planned and measured. */
export interface Results {
  /** 2: the phases' records under `phases`; 1 (read, never written): one key per figure (report/upgrade.ts). */
  schema: 2;
  quick: boolean;
  startedAt: string;
  durationS: number;
  machine: Machine;
  limits: Limits;
  /** ringside's defaults at run time (src/options.ts), which the idle figures depend on. */
  serverDefaults: { spinBudgetMs: number; sqIdleMs: number; drainTimeoutMs?: number };
  /** git HEAD, local changes to src/ and native/, and the library's mtime, at start and end. */
  tree: { start: string; end: string };
  /** --only's phases, when given. */
  only?: string[];
  /** --pinning's policy, when given. */
  pinning?: string;
  /** Every phase that ran, by name, in the order it ran. */
  phases: Record<string, Done<unknown, unknown>>;
  /** Server starts of the phases that use lib/measure.ts's block (pinning, matrix, cost), with ringside's counters. */
  blocks: ServerBlock[];
  /** Every phase's targets, in registry order (the report computes them again from the records). */
  targets: Target[];
  anomalies: string[];
  noise: Noise;
}

/** A phase's record in a run, typed as that phase made it; undefined when it did not run. */
export function recordOf<Plan, Result>(phase: Phase<Plan, Result>, run: Results): Done<Plan, Result> | undefined {
  return run.phases[phase.name] as Done<Plan, Result> | undefined;
}
