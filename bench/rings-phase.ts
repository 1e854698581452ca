// The rings phase (issue 10): does a second ring scale like a second nginx
// worker or a second Bun.serve process? ringside batch with 1 and 2 rings, its
// default (auto), nginx with 1 and 2 workers, Bun.serve with 1 and 2
// processes on one port; every server and wrk unpinned, since the 2-ring,
// 2-worker and 2-process servers need both CPUs. ringside runs with
// --admin-port 0, so that every run says how the connections spread over the rings.
import type { PhaseSizes } from "./config.ts";
import type { Ctx } from "./measure.ts";
import { sweep, type Row } from "./sweep.ts";
import type { PhaseResult } from "./types.ts";

const batch = (rings: number): string[] => ["--mode", "batch", "--rings", String(rings)];

export const RINGS_ROWS: readonly Row[] = [
  { key: "ring1", label: "ringside batch, 1 ring", kind: "ringside", flags: batch(1), admin: true },
  { key: "ring2", label: "ringside batch, 2 rings", kind: "ringside", flags: batch(2), admin: true },
  { key: "default", label: "ringside default (no --mode/--rings: auto)", kind: "ringside", flags: [], admin: true },
  { key: "nginx1", label: "nginx, 1 worker", kind: "nginx", processes: 1 },
  { key: "nginx2", label: "nginx, 2 workers", kind: "nginx", processes: 2 },
  { key: "bun1", label: "Bun.serve, 1 process", kind: "bun", processes: 1 },
  { key: "bun2", label: "Bun.serve, 2 processes (reusePort)", kind: "bun", processes: 2 },
];

export function ringsPhase(ctx: Ctx, sizes: PhaseSizes): Promise<PhaseResult> {
  return sweep(ctx, "rings", RINGS_ROWS, sizes);
}
