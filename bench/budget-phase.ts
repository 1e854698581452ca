// The budget check (issue 10's "done when"): is `bun run serve` with no mode
// flag ever slower than --mode batch? ringside's default, --mode batch (rings
// auto) and --mode batch --rings 1, side by side, under three CPU budgets:
// unrestricted (server unpinned), taskset -c 1, and half a CPU of cgroup quota
// on CPU 1; wrk always on CPU 0. Under the quota nginx runs too: the default
// must beat it there.
import { availableParallelism } from "node:os";
import type { PhaseSizes } from "./config.ts";
import type { Ctx } from "./measure.ts";
import { QUOTA_PLACE, quotaBlocker } from "./quota-phase.ts";
import { sweep, type Row } from "./sweep.ts";
import type { PhaseResult } from "./types.ts";

export const BUDGETS = [
  { name: "unrestricted", label: "unrestricted", place: { clientCpus: "0" } },
  { name: "taskset", label: "taskset -c 1", place: { serverCpus: "1", clientCpus: "0" } },
  { name: "quota", label: `${QUOTA_PLACE.quotaCpus}-CPU quota on CPU 1`, place: QUOTA_PLACE },
] as const;
export type BudgetName = (typeof BUDGETS)[number]["name"];

export const BUDGET_VARIANTS = [
  { name: "default", label: "default (no flags)", flags: [] },
  { name: "batch", label: "--mode batch", flags: ["--mode", "batch"] },
  { name: "batch-1", label: "--mode batch --rings 1", flags: ["--mode", "batch", "--rings", "1"] },
] as const;

export const budgetKey = (budget: string, variant: string): string => `${budget}/${variant}`;

function budgetRows(budgets: readonly (typeof BUDGETS)[number][]): Row[] {
  const rows: Row[] = [];
  for (const b of budgets) {
    for (const v of BUDGET_VARIANTS) rows.push({ key: budgetKey(b.name, v.name), label: `${b.label}: ringside ${v.label}`, kind: "ringside", flags: [...v.flags], ...b.place });
    if (b.name === "quota") rows.push({ key: budgetKey(b.name, "nginx"), label: `${b.label}: nginx, 1 worker`, kind: "nginx", ...b.place });
  }
  return rows;
}

export async function budgetPhase(ctx: Ctx, sizes: PhaseSizes): Promise<PhaseResult> {
  if (availableParallelism() < 2) return { rows: [], runs: [], blocks: [], skipped: "it needs 2 CPUs (wrk on CPU 0)" };
  const noQuota = quotaBlocker();
  const budgets = BUDGETS.filter((b) => b.name !== "quota" || noQuota === undefined);
  const result = await sweep(ctx, "budget", budgetRows(budgets), sizes);
  return noQuota ? { ...result, skipped: `the quota budget: ${noQuota}` } : result;
}
