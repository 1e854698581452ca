// The mode and ring count that fit a CPU budget (--mode auto, --rings auto),
// as nginx's `worker_processes auto` fits the machine, and the reason the
// startup line and --doctor give for them.
import type { Budget } from "./cpu-budget.ts";
import type { ModeName } from "./flags.ts";

export interface Layout {
  mode: ModeName;
  rings: number;
  /** Why, when either was chosen automatically ("" when both were given):
   * "2 CPUs, quota none; spin needs 3; 2 rings". */
  why: string;
}

/** CPUs one ring of this mode wants to itself. */
const CPUS_PER_RING: Record<ModeName, number> = { spin: 2, sqpoll: 1, batch: 1 };

/** Spin pays only where every spinning ring has two CPUs of its own (its
 * thread and its SQPOLL thread) and one is left for everything else. */
function ringsFor(mode: ModeName, cpus: number): number {
  const spare = mode === "batch" ? cpus : cpus - 1;
  return Math.max(1, Math.floor(spare / CPUS_PER_RING[mode]));
}

function describeBudget(b: Budget): string {
  const n = (x: number): string => String(Number(x.toFixed(2)));
  if (b.fake) return `${n(b.cpus)} CPUs (RINGSIDE_TEST_CPU_BUDGET)`;
  return `${b.affinity} CPU${b.affinity === 1 ? "" : "s"}, quota ${b.quota === undefined ? "none" : n(b.quota)}`;
}

/** The mode and ring count for this budget; a given --mode or --rings is kept. */
export function pickLayout(b: Budget, mode: ModeName | "auto", rings: number | "auto"): Layout {
  const spinNeeds = (r: number): number => 2 * r + 1;
  let chosen: ModeName;
  let why = "";
  if (mode === "auto") {
    const spinRings = rings === "auto" ? 1 : rings;
    chosen = b.cpus >= spinNeeds(spinRings) ? "spin" : "batch";
    why = chosen === "spin" ? `spin: ${spinNeeds(spinRings)} CPUs or more` : `spin needs ${spinNeeds(spinRings)}`;
  } else {
    chosen = mode;
  }
  const n = rings === "auto" ? ringsFor(chosen, b.cpus) : rings;
  if (rings === "auto") why = why ? `${why}; ${n} ring${n === 1 ? "" : "s"}` : `${n} ${chosen} ring${n === 1 ? "" : "s"}`;
  return { mode: chosen, rings: n, why: mode === "auto" || rings === "auto" ? `${describeBudget(b)}; ${why}` : "" };
}
