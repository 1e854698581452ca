// Every phase of the benchmark, in the order a run measures them and the report
// shows them. Adding a phase: a file in this folder that exports a Phase, and its
// line here.
import { budget } from "./budget.ts";
import { cold } from "./cold.ts";
import { cost } from "./cost.ts";
import { delay } from "./delay.ts";
import { floor } from "./floor.ts";
import { footprint } from "./footprint.ts";
import { matrix } from "./matrix.ts";
import type { AnyPhase } from "./phase.ts";
import { pinning } from "./pinning.ts";
import { quota } from "./quota.ts";
import { rings } from "./rings.ts";
import { routes } from "./routes.ts";
import { sizes } from "./sizes.ts";
import { weights } from "./weights.ts";

export const PHASES: readonly AnyPhase[] = [
  pinning, // which CPUs the matrix, the cold start and the cost phase use
  matrix, // wrk: every server, connection mode and count, interleaved
  rings, // 1 and 2 rings, workers, processes (issue 10)
  quota, // every server held to half a CPU (issue 11)
  floor, // where each server's CPU goes per request, against the TCP/IP floor (issue 18)
  budget, // the default against --mode batch under three CPU budgets (issue 10)
  routes, // what route matching costs (issue 13)
  weights, // what the weighted path costs against static routes (issue 19)
  delay, // how precise --delay is under load (issue 13)
  sizes, // response sizes, 17 B to 1 MiB, against nginx and Bun.serve at half a CPU (issue 19)
  cold, // hyperfine cold start
  footprint, // startup, commands, RSS, image size (issue 12)
  cost, // per-request cost: syscalls, profile, batch, idle, RSS, stop under load
];

export const PHASE_NAMES: readonly string[] = PHASES.map((p) => p.name);
