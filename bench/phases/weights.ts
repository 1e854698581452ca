// The weights phase (issue 19): what the test target's weighted path costs
// against static routes. ringside batch (1 ring), each held to half a CPU,
// with the 16 routes of the routes phase (15 prefix routes that do not match,
// then /) answering the canned bytes, and the same 16 routes each weighted:
// 201 drawn for half of the requests (a 2xx, so that wrk counts no error),
// a delay of 0 ms drawn for half, faults at 0%. So every request takes the
// draws, and half the replies are put together when sent (status line,
// header tail, length, body in one sendmsg) instead of the prebuilt bytes.
import { BATCH_1, sixteenRoutes, type ConnMode } from "../lib/config.ts";
import { QUOTA_CPUS, QUOTA_PLACE } from "../lib/quota.ts";
import { connsOf, has } from "../lib/rows.ts";
import { sweepInQuota, sweepPlan, type Row, type SweepPlan, type SweepResult } from "../lib/sweep.ts";
import { targetLines } from "../report/md.ts";
import { briefSizesLine, quotaTable, reqRatioTarget } from "../report/rows.ts";
import type { Done, Phase, Target } from "./phase.ts";

/** What each weighted route adds to its static twin. */
export const WEIGHTS = "delay=0ms@50% fault=reset@0%,close@0%,hang@0%";

/** The weighted row's flags (besides the layout). */
export const WEIGHTS_FLAGS: readonly string[] = sixteenRoutes("200,201@50%", ` ${WEIGHTS}`);

const WEIGHTS_ROWS: readonly Row[] = [
  { key: "static16", label: "ringside batch, 16 static routes", kind: "ringside", flags: [...BATCH_1, ...sixteenRoutes()], ...QUOTA_PLACE },
  { key: "weighted16", label: "ringside batch, the 16 routes weighted (201 half the time)", kind: "ringside", flags: [...BATCH_1, ...WEIGHTS_FLAGS], ...QUOTA_PLACE },
];

/** The weighted path costs at most 3% of the throughput of static routes. */
const WEIGHTS_WANT = 0.97;

export function weightsTargets(p: SweepResult): Target[] {
  return connsOf(p).flatMap((conn: ConnMode) =>
    has(p, "weighted16") && has(p, "static16")
      ? [reqRatioTarget(p, "weighted16", "static16", conn, `weights, ${conn}: 16 weighted routes vs 16 static, req/s with half a CPU each`, WEIGHTS_WANT, `>= ${WEIGHTS_WANT}x (within 3%)`)]
      : [],
  );
}

function section({ plan, result: p }: Done<SweepPlan, SweepResult>): string[] {
  const title = "## Weights: what the weighted path costs (issue 19)";
  if (p.skipped) return [title, "", `Skipped: ${p.skipped}.`, ""];
  return [
    title,
    "",
    `ringside batch (1 ring) with the routes phase's 16 routes (every request compared with all 16), static, then each weighted (\`200,201@50% ${WEIGHTS}\`): ` +
      `every request takes the status and delay draws and half the replies are put together when sent; a weight of 0% is not drawn. ` +
      `Each in a ${QUOTA_CPUS}-CPU cgroup quota on CPU 1, wrk on CPU 0. ${briefSizesLine(plan)}`,
    "",
    quotaTable(p),
    "",
    ...targetLines(weightsTargets(p)),
    "",
  ];
}

export const weights: Phase<SweepPlan, SweepResult> = {
  name: "weights",
  // Quick: two interleaved rounds of 1 s, a few seconds in all.
  plan: (quick) => (quick ? { ...sweepPlan(true, ["keep-alive"]), rounds: 2 } : sweepPlan(false, ["keep-alive", "pipelined"])),
  run: (ctx, plan) => sweepInQuota(ctx, "weights", WEIGHTS_ROWS, plan),
  targets: ({ result }) => weightsTargets(result),
  section,
};
