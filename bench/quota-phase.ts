// The quota phase (issue 11): every server held to the same CPU budget, half a
// CPU (a cgroup CPU quota, as a container limit gives it) on CPU 1 (taskset),
// while wrk has CPU 0 to itself: with the client no longer the ceiling, req/s
// measures what the server does with the CPU it is given. nginx (1 worker),
// Bun.serve (1 process), ringside in each explicit mode (1 ring), and ringside's
// default, which must pick batch with 1 ring from that quota.
import { availableParallelism } from "node:os";
import { quotaUnavailable } from "../test/lib/cgroup.ts";
import type { PhaseSizes } from "./config.ts";
import type { Ctx } from "./measure.ts";
import { sweep, type Row } from "./sweep.ts";
import type { PhaseResult } from "./types.ts";

/** The budget every server gets, in CPUs. */
export const QUOTA_CPUS = 0.5;
/** The server on CPU 1 in its quota, wrk on CPU 0. */
export const QUOTA_PLACE = { serverCpus: "1", clientCpus: "0", quotaCpus: QUOTA_CPUS } as const;

const ring = (mode: string): string[] => ["--mode", mode, "--rings", "1"];

export const QUOTA_ROWS: readonly Row[] = [
  { key: "nginx", label: "nginx, 1 worker", kind: "nginx", ...QUOTA_PLACE },
  { key: "bun", label: "Bun.serve", kind: "bun", ...QUOTA_PLACE },
  { key: "spin", label: "ringside spin", kind: "ringside", flags: ring("spin"), ...QUOTA_PLACE },
  { key: "sqpoll", label: "ringside sqpoll", kind: "ringside", flags: ring("sqpoll"), ...QUOTA_PLACE },
  { key: "batch", label: "ringside batch", kind: "ringside", flags: ring("batch"), ...QUOTA_PLACE },
  { key: "default", label: "ringside default (no --mode: auto)", kind: "ringside", flags: [], ...QUOTA_PLACE },
];

/** Why a quota phase cannot run here (no writable cgroup, one CPU), or undefined. */
export function quotaBlocker(): string | undefined {
  if (availableParallelism() < 2) return "it needs 2 CPUs (the server on CPU 1, wrk on CPU 0)";
  const why = quotaUnavailable();
  return why === undefined ? undefined : `no CPU quota can be made here: ${why}`;
}

export async function quotaPhase(ctx: Ctx, sizes: PhaseSizes): Promise<PhaseResult> {
  const blocked = quotaBlocker();
  if (blocked) return { rows: [], runs: [], blocks: [], skipped: blocked };
  return sweep(ctx, "quota", QUOTA_ROWS, sizes);
}
