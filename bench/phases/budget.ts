// The budget check (issue 10's "done when"): is `bun run serve` with no mode
// flag ever slower than --mode batch? ringside's default, --mode batch (rings
// auto) and --mode batch --rings 1, side by side, under three CPU budgets:
// unrestricted (server unpinned), taskset -c 1, and half a CPU of cgroup quota
// on CPU 1; wrk always on CPU 0. Under the quota nginx runs too: the default
// must beat it there.
import { availableParallelism } from "node:os";
import type { ConnMode } from "../lib/config.ts";
import { QUOTA_CPUS, QUOTA_PLACE, quotaBlocker } from "../lib/quota.ts";
import { connsOf, figure, has, layouts, ratio } from "../lib/rows.ts";
import { fmtSpread } from "../lib/stats.ts";
import { skipped, sweep, sweepPlan, type Row, type SweepPlan, type SweepResult } from "../lib/sweep.ts";
import { table, targetLines } from "../report/md.ts";
import { noiseLine, sizesLine } from "../report/rows.ts";
import { log, type Ctx } from "../lib/ctx.ts";
import type { Done, Phase, Target } from "./phase.ts";

const BUDGETS = [
  { name: "unrestricted", label: "unrestricted", place: { clientCpus: "0" } },
  { name: "taskset", label: "taskset -c 1", place: { serverCpus: "1", clientCpus: "0" } },
  { name: "quota", label: `${QUOTA_PLACE.quotaCpus}-CPU quota on CPU 1`, place: QUOTA_PLACE },
] as const;
type Budget = (typeof BUDGETS)[number];

const VARIANTS = [
  { name: "default", label: "default (no flags)", flags: [] },
  { name: "batch", label: "--mode batch", flags: ["--mode", "batch"] },
  { name: "batch-1", label: "--mode batch --rings 1", flags: ["--mode", "batch", "--rings", "1"] },
] as const;

const key = (budget: string, variant: string): string => `${budget}/${variant}`;

function budgetRows(budgets: readonly Budget[]): Row[] {
  const rows: Row[] = [];
  for (const b of budgets) {
    for (const v of VARIANTS) rows.push({ key: key(b.name, v.name), label: `${b.label}: ringside ${v.label}`, kind: "ringside", flags: [...v.flags], ...b.place });
    if (b.name === "quota") rows.push({ key: key(b.name, "nginx"), label: `${b.label}: nginx, 1 worker`, kind: "nginx", ...b.place });
  }
  return rows;
}

async function run(ctx: Ctx, plan: SweepPlan): Promise<SweepResult> {
  if (availableParallelism() < 2) return skipped("budget", "it needs 2 CPUs (wrk on CPU 0)");
  const noQuota = quotaBlocker();
  const budgets = BUDGETS.filter((b) => b.name !== "quota" || noQuota === undefined);
  const result = await sweep(ctx, "budget", budgetRows(budgets), plan);
  if (!noQuota) return result;
  log(`budget: skipped the quota budget: ${noQuota}`);
  return { ...result, skipped: `the quota budget: ${noQuota}` };
}

// ---------------------------------------------------------------- targets

/** Not slower: identical layouts measured side by side differ by a few % run to run. */
const NOT_SLOWER = 0.95;

function budgetTarget(p: SweepResult, budget: Budget): Target | undefined {
  const def = key(budget.name, "default");
  const others = ["batch", "batch-1"].filter((v) => has(p, key(budget.name, v)));
  if (!has(p, def) || !others.length) return undefined;
  const parts: string[] = [];
  let met = true;
  for (const conn of connsOf(p)) {
    for (const v of others) {
      const r = ratio(p, def, key(budget.name, v), conn);
      if (!(r.median >= NOT_SLOWER)) met = false;
      parts.push(`${conn} vs ${v === "batch" ? "--mode batch" : "--mode batch --rings 1"} ${fmtSpread(r, "x")}`);
    }
  }
  return { name: `budget ${budget.label}: ringside's default vs --mode batch, req/s`, want: `>= ${NOT_SLOWER}x (not slower, within run-to-run noise)`, got: parts.join("; "), met };
}

function budgetNginxTarget(p: SweepResult): Target | undefined {
  const def = key("quota", "default");
  const ng = key("quota", "nginx");
  if (!has(p, def) || !has(p, ng)) return undefined;
  const rs = connsOf(p).map((c) => ({ c, r: ratio(p, def, ng, c) }));
  return {
    name: `budget ${BUDGETS.find((b) => b.name === "quota")!.label}: ringside's default vs nginx (1 worker) in the same quota, req/s`,
    want: "> 1x",
    got: rs.map(({ c, r }) => `${c} ${fmtSpread(r, "x")}`).join("; "),
    met: rs.every(({ r }) => r.median > 1),
  };
}

export function budgetTargets(p: SweepResult): Target[] {
  const t = [...BUDGETS.map((b) => budgetTarget(p, b)), budgetNginxTarget(p)];
  return t.filter((v): v is Target => v !== undefined);
}

// ---------------------------------------------------------------- report

function budgetRow(p: SweepResult, budget: Budget, conn: ConnMode): string[] | undefined {
  const k = (v: string): string => key(budget.name, v);
  if (!p.runs.some((r) => r.row === k("default") && r.conn === conn)) return undefined;
  const req = (v: string): string => (has(p, k(v)) ? fmtSpread(figure(p, k(v), conn, (r) => r.rps)) : "-");
  const vs = (v: string): string => (has(p, k(v)) ? fmtSpread(ratio(p, k("default"), k(v), conn), "x") : "-");
  return [budget.label, conn, ...VARIANTS.map((v) => req(v.name)), vs("batch"), vs("batch-1"), req("nginx"), vs("nginx")];
}

function layoutRows(p: SweepResult): string[][] {
  return BUDGETS.filter((b) => p.blocks.some((x) => x.row.startsWith(`${b.name}/`))).map((b) => [
    b.label,
    ...VARIANTS.map((v) => layouts(p, key(b.name, v.name)).join("; ") || "-"),
  ]);
}

function section({ plan, result: p }: Done<SweepPlan, SweepResult>): string[] {
  const title = "## Budget check: ringside's default against --mode batch (issue 10)";
  if (!p.runs.length) return [title, "", `Skipped: ${p.skipped ?? "nothing measured"}.`, ""];
  const head = ["budget", "connection mode", ...VARIANTS.map((v) => `${v.label} req/s`), "default / --mode batch", "default / --mode batch --rings 1", "nginx (quota) req/s", "default / nginx"];
  const rows = BUDGETS.flatMap((b) => connsOf(p).map((c) => budgetRow(p, b, c))).filter((x): x is string[] => x !== undefined);
  return [
    title,
    "",
    `\`bun run serve\` with no mode flag against \`--mode batch\` (rings auto) and \`--mode batch --rings 1\`, side by side, under three CPU budgets: unrestricted (server unpinned), ` +
      `\`taskset -c 1\`, and a ${QUOTA_CPUS}-CPU cgroup quota on CPU 1, where nginx (1 worker) runs too; wrk on CPU 0 throughout. ${sizesLine(plan)}` +
      (p.skipped ? ` Skipped: ${p.skipped}.` : ""),
    "",
    table(head, rows),
    "",
    "What each start announced (mode/rings, and auto's reason from the startup line):",
    "",
    table(["budget", ...VARIANTS.map((v) => v.label)], layoutRows(p)),
    "",
    ...targetLines(budgetTargets(p)),
    "",
    ...noiseLine(p),
  ];
}

export const budget: Phase<SweepPlan, SweepResult> = {
  name: "budget",
  plan: (quick) => sweepPlan(quick, ["keep-alive", "close"], ["unrestricted/default", "unrestricted/batch", "taskset/default"]),
  run,
  targets: ({ result }) => budgetTargets(result),
  section,
};
