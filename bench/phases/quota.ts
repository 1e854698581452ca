// The quota phase (issue 11): every server held to the same CPU budget, half a
// CPU of cgroup quota on CPU 1, while wrk has CPU 0 to itself: req/s is what a
// server does with the CPU it is given. nginx (1 worker), Bun.serve (1
// process), ringside in each explicit mode (1 ring), and ringside's default,
// which must pick batch with 1 ring from that quota. Beside the ratios: the
// same ratios per server CPU-second from the wrk matrix, where no server has a quota.
import { CONN_MODES, type ConnMode } from "../lib/config.ts";
import { QUOTA_CPUS, QUOTA_PLACE } from "../lib/quota.ts";
import { connsOf, has, layouts, ratio } from "../lib/rows.ts";
import { fmtSpread } from "../lib/stats.ts";
import { sweepInQuota, sweepPlan, type Row, type RowInfo, type RowRun, type SweepPlan, type SweepResult } from "../lib/sweep.ts";
import { table, targetLines } from "../report/md.ts";
import { cell, clientBound, otherWork, reqRatioTarget, rowList, serverCores, sizesLine, usPerReq } from "../report/rows.ts";
import { matrix, matrixPerCpu } from "./matrix.ts";
import { recordOf, type Done, type Phase, type Results, type Target } from "./phase.ts";

const ring = (mode: string): string[] => ["--mode", mode, "--rings", "1"];

const QUOTA_ROWS: readonly Row[] = [
  { key: "nginx", label: "nginx, 1 worker", kind: "nginx", ...QUOTA_PLACE },
  { key: "bun", label: "Bun.serve", kind: "bun", ...QUOTA_PLACE },
  { key: "spin", label: "ringside spin", kind: "ringside", flags: ring("spin"), ...QUOTA_PLACE },
  { key: "sqpoll", label: "ringside sqpoll", kind: "ringside", flags: ring("sqpoll"), ...QUOTA_PLACE },
  { key: "batch", label: "ringside batch", kind: "ringside", flags: ring("batch"), ...QUOTA_PLACE },
  { key: "default", label: "ringside default (no --mode: auto)", kind: "ringside", flags: [], ...QUOTA_PLACE },
];

// ---------------------------------------------------------------- targets

/** The quota phase's ratio targets: ringside batch vs a peer, both held to the same quota. */
const QUOTA_WANTS: ReadonlyArray<{ conn: ConnMode; peer: "nginx" | "bun"; want: number }> = [
  { conn: "keep-alive", peer: "nginx", want: 1.4 },
  { conn: "close", peer: "nginx", want: 1.25 },
  { conn: "pipelined", peer: "bun", want: 2 },
];

const PEER_NAMES = { nginx: "nginx (1 worker)", bun: "Bun.serve" } as const;


function quotaPickTarget(p: SweepResult): Target {
  const got = layouts(p, "default");
  return {
    name: "quota: ringside's default (no --mode) under half a CPU picks batch with 1 ring",
    want: "mode=batch rings=1",
    got: got.join("; ") || "n/a",
    met: got.length ? got.every((l) => l.startsWith("batch/1")) : null,
  };
}

export function quotaTargets(p: SweepResult): Target[] {
  const ratios = QUOTA_WANTS.filter((w) => has(p, "batch") && has(p, w.peer) && connsOf(p).includes(w.conn));
  const target = (w: (typeof QUOTA_WANTS)[number]): Target =>
    reqRatioTarget(p, "batch", w.peer, w.conn, `quota, ${w.conn}: ringside batch vs ${PEER_NAMES[w.peer]}, req/s with half a CPU each`, w.want);
  return [...ratios.map(target), ...(has(p, "default") ? [quotaPickTarget(p)] : [])];
}

// ---------------------------------------------------------------- report

function quotaRow(p: SweepResult, row: RowInfo, conn: ConnMode): string[] {
  const f = (g: (r: RowRun) => number, unit = ""): string => cell(p, row.key, conn, g, unit);
  const vs = (peer: string): string => (row.key === peer ? "1" : fmtSpread(ratio(p, row.key, peer, conn), "x"));
  const layout = row.kind === "ringside" ? layouts(p, row.key).join("; ") : "-";
  return [conn, row.label, f((r) => r.rps), vs("nginx"), vs("bun"), f(serverCores), f(usPerReq, " µs"), f((r) => r.clientCores), otherWork(p, row.key, conn), layout];
}

/** The same ratios per server CPU-second, from this run's wrk matrix (no quota there). */
function matrixLines(run: Results): string[] {
  const m = recordOf(matrix, run);
  if (!m?.result.runs.length) return ["Without a quota: the wrk matrix did not run (--only), so there is no per-CPU-second comparison.", ""];
  const parts = QUOTA_WANTS.map((w) => {
    const s = matrixPerCpu(m, w.conn, w.peer);
    const name = w.peer === "nginx" ? "nginx" : "Bun.serve";
    return s.n ? `${w.conn} vs ${name} ${fmtSpread(s, "x")} (${s.median >= w.want ? "at or over" : "under"} the ${w.want}x wanted here)` : `${w.conn} vs ${name}: n/a`;
  });
  return [`Without a quota, the same ratios per server CPU-second (requests / server CPU-seconds, the wrk matrix of this run, same rounds): ${parts.join("; ")}.`, ""];
}

function section({ plan, result: p }: Done<SweepPlan, SweepResult>, run: Results): string[] {
  const title = `## Quota: every server held to ${QUOTA_CPUS} CPU (issue 11)`;
  if (p.skipped) return [title, "", `Skipped: ${p.skipped}.`, ""];
  const head = ["connection mode", "server", "req/s", "x nginx", "x Bun.serve", "server cores", "server CPU per request", "wrk cores", "other work cores", "ringside layout (startup line)"];
  return [
    title,
    "",
    `Each server in a cgroup of its own with a CPU quota of ${QUOTA_CPUS} CPU (cpu.cfs_quota_us ${QUOTA_CPUS * 100_000} per 100 ms period, test/cgroup.ts) and pinned to CPU 1 (taskset); wrk on CPU 0, so the client is not the ceiling. ` +
      `${sizesLine(plan)} Ratios are same-round. "server cores" should read at most ${QUOTA_CPUS}.`,
    "",
    ...rowList(p),
    "",
    table(head, connsOf(p).flatMap((conn) => p.rows.map((row) => quotaRow(p, row, conn)))),
    "",
    ...targetLines(quotaTargets(p)),
    "",
    ...clientBound(p),
    ...matrixLines(run),
  ];
}

export const quota: Phase<SweepPlan, SweepResult> = {
  name: "quota",
  plan: (quick) => sweepPlan(quick, CONN_MODES, ["nginx", "batch", "default"]),
  run: (ctx, plan) => sweepInQuota(ctx, "quota", QUOTA_ROWS, plan),
  targets: ({ result }) => quotaTargets(result),
  section,
};
