// Cold start with hyperfine: coldstart.sh (bench/lib/) starts a server and
// polls it every 1 ms until a 200; the kill happens in hyperfine's --prepare,
// outside the timing. The servers of the wrk matrix, pinned as it was, in turn
// within each hyperfine invocation, pooled over invocations.
import { LABELS, SERVERS, isRing, type ServerName } from "../lib/config.ts";
import { log } from "../lib/ctx.ts";
import { coldStart, type Timing } from "../lib/hyperfine.ts";
import { fmtSpread } from "../lib/stats.ts";
import { plural, table } from "../report/md.ts";
import { footprint } from "./footprint.ts";
import { recordOf, type Done, type Phase, type Results, type Target } from "./phase.ts";

/** hyperfine invocations (servers interleaved in each), runs per server in each, warm-up runs. */
export interface ColdPlan {
  rounds: number;
  runs: number;
  warmup: number;
}

type ColdRecord = Done<ColdPlan, Timing[]>;

function coldTarget({ result: cold }: ColdRecord): Target {
  const bun = cold.find((c) => c.name === "bun");
  const ringCold = cold.filter((c) => isRing(c.name as ServerName));
  return {
    name: "cold start to first 200 (hyperfine median), ringside vs Bun.serve",
    want: "within 30 ms",
    got: bun
      ? `Bun.serve ${(bun.seconds.median * 1000).toFixed(1)} ms; ` + ringCold.map((c) => `${c.name} ${(c.seconds.median * 1000).toFixed(1)} ms (+${((c.seconds.median - bun.seconds.median) * 1000).toFixed(1)})`).join(", ")
      : "n/a",
    met: bun && ringCold.length ? ringCold.every((c) => c.seconds.median - bun.seconds.median <= 0.03) : null,
  };
}

function coldTable(cold: readonly Timing[]): string {
  const bunCold = cold.find((c) => c.name === "bun");
  return table(
    ["server", "ms median (min–max)", "mean ± sd", "vs Bun.serve"],
    cold.map((c) => [
      LABELS[c.name as ServerName] ?? c.name,
      fmtSpread({ min: c.seconds.min * 1000, median: c.seconds.median * 1000, max: c.seconds.max * 1000, n: c.seconds.n }),
      `${(c.meanS * 1000).toFixed(1)} ± ${(c.stddevS * 1000).toFixed(1)}`,
      bunCold ? `${c.seconds.median >= bunCold.seconds.median ? "+" : ""}${((c.seconds.median - bunCold.seconds.median) * 1000).toFixed(1)} ms` : "-",
    ]),
  );
}

function section({ plan, result }: ColdRecord, run: Results): string[] {
  return [
    "## Cold start (hyperfine)",
    "",
    `Cold start: \`bench/lib/coldstart.sh\` starts the server and polls it with an HTTP/1.0 GET every 1 ms until a 200 arrives (bounded at 10 s); the server is killed in hyperfine's --prepare, outside the timing. ${plural(plan.rounds, "hyperfine invocation")} with the servers in turn, ${plan.runs} runs each (after ${plan.warmup} warm-up), pooled: ${plan.rounds * plan.runs} runs per server.`,
    "",
    coldTable(result),
    "",
    ...(recordOf(footprint, run) ? ["Startup and footprint (below) times cold starts another way: the harness polls from the spawn, with no shell in between and nothing pinned.", ""] : []),
  ];
}

export const cold: Phase<ColdPlan, Timing[]> = {
  name: "cold",
  plan: (quick) => (quick ? { rounds: 1, runs: 3, warmup: 1 } : { rounds: 5, runs: 4, warmup: 1 }),
  run: async (ctx, plan) => {
    const timings = await coldStart(SERVERS, ctx.pin, ctx.tmp, plan.rounds, plan.runs, plan.warmup, ctx.limits.timeoutMs);
    log(`cold start (median ms): ${timings.map((c) => `${c.name}=${(c.seconds.median * 1000).toFixed(1)}`).join(" ")}`);
    return timings;
  },
  targets: (done) => [coldTarget(done)],
  section,
};
