// Results written before the phases had one interface (schema 1, up to
// 2026-11-23): one key per kind of figure, every size in one `sizes` object.
// Read into schema 2, each phase's plan and figures as its record, so that
// `--render` shows those runs with today's report.
import type { Limits, ServerBlock } from "../lib/ctx.ts";
import type { CostPlan, CostResult } from "../lib/cost.ts";
import type { Timing } from "../lib/hyperfine.ts";
import type { Machine } from "../lib/machine.ts";
import type { LoadRun } from "../lib/measure.ts";
import type { SweepPlan, SweepResult } from "../lib/sweep.ts";
import { budget } from "../phases/budget.ts";
import { cold, type ColdPlan } from "../phases/cold.ts";
import { cost } from "../phases/cost.ts";
import { delay } from "../phases/delay.ts";
import { footprint, type FootprintPlan, type FootprintResult } from "../phases/footprint.ts";
import { matrix, type MatrixResult } from "../phases/matrix.ts";
import type { Done, Noise, Phase, Results, Target } from "../phases/phase.ts";
import { pinning, type PinningPlan, type PinningResult } from "../phases/pinning.ts";
import { quota } from "../phases/quota.ts";
import { rings } from "../phases/rings.ts";
import { routes } from "../phases/routes.ts";

/** The phases of rows, by the key their figures and sizes had (their names). */
const SWEEPS = { rings, quota, budget, routes, delay } as const;
type SweepName = keyof typeof SWEEPS;

interface SizesV1 extends Limits, Partial<Record<SweepName, SweepPlan>> {
  quick: boolean;
  rounds: number;
  wrkS: number;
  warmupS: number;
  connections: number[];
  pinning: PinningPlan;
  cold: ColdPlan;
  batch: CostPlan["batch"];
  costVariants?: string[];
  cost: Omit<CostPlan, "batch" | "variants">;
  footprint?: FootprintPlan;
}

export interface ResultsV1 extends Partial<Record<SweepName, SweepResult>> {
  schema: 1;
  quick: boolean;
  startedAt: string;
  durationS: number;
  machine: Machine;
  sizes: SizesV1;
  serverDefaults: Results["serverDefaults"];
  tree: Results["tree"];
  pinning: PinningResult;
  load: LoadRun[];
  blocks: ServerBlock[];
  throughput: MatrixResult["throughput"];
  cold: Timing[];
  cost: CostResult[];
  sqpollAccounting: MatrixResult["sqpollAccounting"];
  targets: Target[];
  anomalies: string[];
  footprint?: FootprintResult;
  /** The --only phases; then pinning, load, cold and cost are empty. */
  only?: string[];
  noise: Noise;
}

function record<P, R>(phases: Results["phases"], phase: Phase<P, R>, done: Done<P, R>): void {
  phases[phase.name] = done;
}

function phasesOf(v1: ResultsV1): Results["phases"] {
  const s = v1.sizes;
  const out: Results["phases"] = {};
  // A run of --only phases had no pinning trials, matrix, cold start or cost.
  if (!v1.only) {
    record(out, pinning, { plan: s.pinning, result: v1.pinning });
    const result = { pinning: v1.pinning.chosen, runs: v1.load, throughput: v1.throughput, sqpollAccounting: v1.sqpollAccounting };
    record(out, matrix, { plan: { rounds: s.rounds, wrkS: s.wrkS, warmupS: s.warmupS, connections: s.connections }, result });
  }
  for (const name of Object.keys(SWEEPS) as SweepName[]) {
    const result = v1[name];
    const plan = s[name];
    if (!result) continue;
    if (!plan) throw new Error(`results (schema 1): ${name} figures without their sizes`);
    record(out, SWEEPS[name], { plan, result });
  }
  if (!v1.only) record(out, cold, { plan: s.cold, result: v1.cold });
  if (v1.footprint && s.footprint) record(out, footprint, { plan: s.footprint, result: v1.footprint });
  if (!v1.only) record(out, cost, { plan: { ...s.cost, batch: s.batch, ...(s.costVariants ? { variants: s.costVariants } : {}) }, result: v1.cost });
  return out;
}

export function upgrade(v1: ResultsV1): Results {
  const s = v1.sizes;
  return {
    schema: 2,
    quick: v1.quick,
    startedAt: v1.startedAt,
    durationS: v1.durationS,
    machine: v1.machine,
    limits: { timeoutMs: s.timeoutMs, quietBudgetS: s.quietBudgetS, retryBudget: s.retryBudget },
    serverDefaults: v1.serverDefaults,
    tree: v1.tree,
    ...(v1.only ? { only: v1.only } : {}),
    ...(!v1.only && v1.pinning.forced ? { pinning: v1.pinning.chosen } : {}),
    phases: phasesOf(v1),
    blocks: v1.blocks,
    targets: v1.targets,
    anomalies: v1.anomalies,
    noise: v1.noise,
  };
}
