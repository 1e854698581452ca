// The routes phase (issue 13): what matching costs. ringside batch (1 ring)
// with no route, with one route (/), and with 16 (15 prefix routes that do not
// match, then /, so every request is compared with all 16), all answering the
// canned bytes; each held to half a CPU so that req/s is the server's cost.
import { BATCH_1, rootRoute, sixteenRoutes, type ConnMode } from "../lib/config.ts";
import { QUOTA_CPUS, QUOTA_PLACE } from "../lib/quota.ts";
import { connsOf, has } from "../lib/rows.ts";
import { sweepInQuota, sweepPlan, type Row, type SweepPlan, type SweepResult } from "../lib/sweep.ts";
import { targetLines } from "../report/md.ts";
import { briefSizesLine, quotaTable, reqRatioTarget } from "../report/rows.ts";
import type { Done, Phase, Target } from "./phase.ts";


const ROUTES_ROWS: readonly Row[] = [
  { key: "none", label: "ringside batch, no route", kind: "ringside", flags: BATCH_1, ...QUOTA_PLACE },
  { key: "route1", label: "ringside batch, 1 route", kind: "ringside", flags: [...BATCH_1, ...rootRoute()], ...QUOTA_PLACE },
  { key: "route16", label: "ringside batch, 16 routes (the match is the last)", kind: "ringside", flags: [...BATCH_1, ...sixteenRoutes()], ...QUOTA_PLACE },
];

/** Matching 16 routes costs at most 3% of the throughput of matching one. */
const ROUTES_WANT = 0.97;

function routesTarget(p: SweepResult, num: string, den: string, what: string, conn: ConnMode): Target {
  return reqRatioTarget(p, num, den, conn, `routes, ${conn}: ${what}, req/s with half a CPU each`, ROUTES_WANT, `>= ${ROUTES_WANT}x (within 3%)`);
}

export function routesTargets(p: SweepResult): Target[] {
  const out: Target[] = [];
  for (const conn of connsOf(p)) {
    if (has(p, "route16") && has(p, "route1")) out.push(routesTarget(p, "route16", "route1", "16 routes vs 1", conn));
    if (has(p, "route1") && has(p, "none")) out.push(routesTarget(p, "route1", "none", "1 route vs none", conn));
  }
  return out;
}

function section({ plan, result: p }: Done<SweepPlan, SweepResult>): string[] {
  const title = "## Routes: what matching costs (issue 13)";
  if (p.skipped) return [title, "", `Skipped: ${p.skipped}.`, ""];
  return [
    title,
    "",
    `ringside batch (1 ring) answering the canned bytes with no route, with one route (\`/\`), and with 16 (15 prefix routes that do not match, then \`/\`: every request is compared with all 16); ` +
      `each in a ${QUOTA_CPUS}-CPU cgroup quota on CPU 1, wrk on CPU 0, so req/s is what the server does with the CPU it has. ${briefSizesLine(plan)}`,
    "",
    quotaTable(p),
    "",
    ...targetLines(routesTargets(p)),
    "",
  ];
}

export const routes: Phase<SweepPlan, SweepResult> = {
  name: "routes",
  plan: (quick) => sweepPlan(quick, ["keep-alive", "pipelined"], ["route1", "route16"]),
  run: (ctx, plan) => sweepInQuota(ctx, "routes", ROUTES_ROWS, plan),
  targets: ({ result }) => routesTargets(result),
  section,
};
