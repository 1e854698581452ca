// The Markdown sections of the rings, quota and budget phases (absent from
// results made before those phases existed, and from runs that skipped them).
import { BUDGETS, BUDGET_VARIANTS, budgetKey } from "./budget-phase.ts";
import type { ConnMode, PhaseSizes } from "./config.ts";
import { plural, table, targetLines } from "./md.ts";
import { QUOTA_WANTS, budgetTargets, connsOf, cpuPerReq, figure, layouts, matrixPerCpu, quotaTargets, ratio, ringShares, ringsTargets } from "./phase-report.ts";
import { NIC_GBPS, PROJECT_CORES, WIRE_OVERHEAD_B, projections, type Projection } from "./projection.ts";
import { QUOTA_CPUS } from "./quota-phase.ts";
import { fmt, fmtSpread, spread } from "./stats.ts";
import type { PhaseResult, Results, RowInfo, RowRun } from "./types.ts";

const us = (r: RowRun): number => cpuPerReq(r) * 1e6;
const cores = (r: RowRun): number => r.serverCpuS / r.seconds;
const errors = (r: RowRun): number => r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout + r.errors.non2xx;

/** CPU other work on the machine took during a row's runs, in cores ("0" under 0.05, as in the matrix tables). */
function otherWork(p: PhaseResult, key: string, conn: ConnMode): string {
  const s = figure(p, key, conn, (r) => r.foreignCores + r.stealCores);
  return s.max >= 0.05 ? fmtSpread(s) : "0";
}

function sizesLine(s: PhaseSizes | undefined): string {
  if (!s) return "";
  return `wrk -t1 -c${s.connections}, ${s.wrkS} s per run after ${s.warmupS} s of warm-up per server start, ${plural(s.rounds, "round")} (medians, min–max), rows interleaved in every round.`;
}

/** Other work on the machine over a whole phase: it skews every row alike only if it was steady. */
function noiseLine(p: PhaseResult): string[] {
  const s = spread(p.runs.map((r) => r.foreignCores + r.stealCores));
  return s.n && s.max >= 0.05 ? [`Other work on the machine during these runs: ${fmtSpread(s)} cores (median, min–max over runs).`, ""] : [];
}

function rowList(p: PhaseResult): string[] {
  return p.rows.map((row) => `- **${row.label}**: \`${row.command}\`; ${row.placement}.`);
}

/** Rows where wrk's one thread was the ceiling (>= 0.9 of a core, median). */
function clientBound(p: PhaseResult): string[] {
  const bound: string[] = [];
  for (const conn of connsOf(p)) {
    for (const row of p.rows) if (figure(p, row.key, conn, (r) => r.clientCores).median >= 0.9) bound.push(`${row.label} / ${conn}`);
  }
  if (!bound.length) return ["wrk's one thread stayed under 0.9 of a core in every row: no row's req/s is the client's ceiling.", ""];
  return [`**wrk's one thread is the ceiling** (>= 0.9 of a core) for: ${bound.join("; ")}. Those req/s are the client's limit; compare the server CPU per request there.`, ""];
}

function sharesCell(p: PhaseResult, key: string, conn: ConnMode): string {
  const s = ringShares(p, key, conn);
  if (!s) return "-";
  return s.requests.map((share, k) => `${share.toFixed(0)}% (${fmt(s.accepted[k]!)} acc.)`).join(" / ");
}

function ringsRow(p: PhaseResult, row: RowInfo, conn: ConnMode): string[] {
  const f = (g: (r: RowRun) => number, unit = ""): string => fmtSpread(figure(p, row.key, conn, g), unit);
  const errs = p.runs.filter((r) => r.row === row.key && r.conn === conn).reduce((a, r) => a + errors(r), 0);
  return [conn, row.label, f((r) => r.rps), f(us, " µs"), f(cores), f((r) => r.clientCores), sharesCell(p, row.key, conn), otherWork(p, row.key, conn), String(errs)];
}

function projectionText(x: Projection): string {
  const nic = x.nicBound === undefined ? "" : `; a ${NIC_GBPS} GbE NIC at ${fmt(x.responseBytes!)} B per response plus headers caps it at ${fmt(x.nicBound)}`;
  const scaled = x.scaling === undefined ? "" : ` (2 rings cost ${x.scaling.toFixed(2)}x 1 ring's per request)`;
  return (
    `${x.conn}: ${fmt(x.cpuPerReqS * 1e6)} µs per request${scaled} gives ${PROJECT_CORES} / ${fmt(x.cpuPerReqS * 1e6)} µs = ${fmt(x.cpuBound)} req/s${nic}: ` +
    `**~${fmt(x.projected)} req/s** (${x.limit === "NIC" ? "the NIC" : "CPU"} bound), which takes ~${fmt(x.clientCores)} cores of wrk at the ${fmt(x.perClientCore)} req/s per client core it managed here`
  );
}

function projectionLines(p: PhaseResult): string[] {
  const ps = projections(p);
  if (!ps.length) return [];
  return [
    `**PROJECTION, not a measurement.** What ${PROJECT_CORES} rings in batch mode on ${PROJECT_CORES} cores should reach, computed from this run's server CPU per request (${ps[0]!.row === "ring2" ? "2 rings" : "1 ring"}, median) ` +
      `as ${PROJECT_CORES} / CPU-seconds per request, assuming the cost per request stays what it was from 1 to 2 rings, then capped by what would limit it first:`,
    "",
    ...ps.map((x) => `- ${projectionText(x)}.`),
    "",
    `The NIC figures count ${WIRE_OVERHEAD_B} B of Ethernet, IP and TCP per segment and, per request, 3 server segments in close mode (SYN-ACK, response, FIN), 1 with keep-alive and 1/16 pipelined. ` +
      "The load generator is the first limit in practice: the client needs those cores on other machines. " +
      "The kernel's TCP work is the other: on loopback the kernel receives each side's packets in the sender's context, so the server's CPU here includes part of wrk's receive path and leaves out its own; " +
      "behind a NIC the server's cores also take their receive interrupts, so expect more CPU per request than measured here, most in close mode, where connection setup and teardown (SYN, accept, FIN, TIME_WAIT) are all kernel work.",
    "",
  ];
}

function defaultLayout(p: PhaseResult): string[] {
  const l = layouts(p, "default");
  return l.length ? [`ringside's default started as ${l.join("; ")} (mode/rings from its startup line).`, ""] : [];
}

export function ringsSection(r: Results): string[] {
  const p = r.rings;
  if (!p) return [];
  const head = ["connection mode", "server", "req/s", "server CPU per request", "server cores", "wrk cores", "rings: share of requests (accepted per run)", "other work cores", "wrk socket errors"];
  return [
    "## Rings: 1 and 2 rings against 1 and 2 nginx workers and Bun.serve processes (issue 10)",
    "",
    `Everything unpinned (wrk and the servers float over both CPUs: a 2-ring, 2-worker or 2-process server needs both). ${sizesLine(r.sizes.rings)} ` +
      `Server CPU per request: CPU-seconds of every server process (all threads, SQPOLL threads included) over the run, per request. ringside runs with --admin-port 0; its rings' shares come from /metrics (ringside_ring_requests_total, ringside_ring_accepted_total) scraped around each run.`,
    "",
    ...rowList(p),
    "",
    table(head, connsOf(p).flatMap((conn) => p.rows.map((row) => ringsRow(p, row, conn)))),
    "",
    ...defaultLayout(p),
    ...targetLines(ringsTargets(p)),
    "",
    ...clientBound(p),
    ...projectionLines(p),
  ];
}

// ---------------------------------------------------------------- quota

function quotaRow(p: PhaseResult, row: RowInfo, conn: ConnMode): string[] {
  const f = (g: (r: RowRun) => number, unit = ""): string => fmtSpread(figure(p, row.key, conn, g), unit);
  const vs = (peer: string): string => (row.key === peer ? "1" : fmtSpread(ratio(p, row.key, peer, conn), "x"));
  const layout = row.kind === "ringside" ? layouts(p, row.key).join("; ") : "-";
  return [conn, row.label, f((r) => r.rps), vs("nginx"), vs("bun"), f(cores), f(us, " µs"), f((r) => r.clientCores), otherWork(p, row.key, conn), layout];
}

function matrixLines(r: Results): string[] {
  if (!r.load.length) return ["Without a quota: the wrk matrix did not run (--only), so there is no per-CPU-second comparison.", ""];
  const parts = QUOTA_WANTS.map((w) => {
    const s = matrixPerCpu(r, w.conn, w.peer);
    const name = w.peer === "nginx" ? "nginx" : "Bun.serve";
    return s.n ? `${w.conn} vs ${name} ${fmtSpread(s, "x")} (${s.median >= w.want ? "at or over" : "under"} the ${w.want}x wanted here)` : `${w.conn} vs ${name}: n/a`;
  });
  return [`Without a quota, the same ratios per server CPU-second (requests / server CPU-seconds, the wrk matrix of this run, same rounds): ${parts.join("; ")}.`, ""];
}

export function quotaSection(r: Results): string[] {
  const p = r.quota;
  if (!p) return [];
  const title = `## Quota: every server held to ${QUOTA_CPUS} CPU (issue 11)`;
  if (p.skipped) return [title, "", `Skipped: ${p.skipped}.`, ""];
  const head = ["connection mode", "server", "req/s", "x nginx", "x Bun.serve", "server cores", "server CPU per request", "wrk cores", "other work cores", "ringside layout (startup line)"];
  return [
    title,
    "",
    `Each server in a cgroup of its own with a CPU quota of ${QUOTA_CPUS} CPU (cpu.cfs_quota_us ${QUOTA_CPUS * 100_000} per 100 ms period, test/cgroup.ts) and pinned to CPU 1 (taskset); wrk on CPU 0, so the client is not the ceiling. ` +
      `${sizesLine(r.sizes.quota)} Ratios are same-round. "server cores" should read at most ${QUOTA_CPUS}.`,
    "",
    ...rowList(p),
    "",
    table(head, connsOf(p).flatMap((conn) => p.rows.map((row) => quotaRow(p, row, conn)))),
    "",
    ...targetLines(quotaTargets(p)),
    "",
    ...clientBound(p),
    ...matrixLines(r),
  ];
}

// ---------------------------------------------------------------- budget

function budgetRow(p: PhaseResult, budget: (typeof BUDGETS)[number], conn: ConnMode): string[] | undefined {
  const key = (v: string): string => budgetKey(budget.name, v);
  if (!p.runs.some((r) => r.row === key("default") && r.conn === conn)) return undefined;
  const req = (v: string): string => (p.runs.some((r) => r.row === key(v)) ? fmtSpread(figure(p, key(v), conn, (r) => r.rps)) : "-");
  const vs = (v: string): string => (p.runs.some((r) => r.row === key(v)) ? fmtSpread(ratio(p, key("default"), key(v), conn), "x") : "-");
  return [budget.label, conn, ...BUDGET_VARIANTS.map((v) => req(v.name)), vs("batch"), vs("batch-1"), req("nginx"), vs("nginx")];
}

function layoutRows(p: PhaseResult): string[][] {
  return BUDGETS.filter((b) => p.blocks.some((x) => x.row.startsWith(`${b.name}/`))).map((b) => [
    b.label,
    ...BUDGET_VARIANTS.map((v) => layouts(p, budgetKey(b.name, v.name)).join("; ") || "-"),
  ]);
}

export function budgetSection(r: Results): string[] {
  const p = r.budget;
  if (!p) return [];
  const title = "## Budget check: ringside's default against --mode batch (issue 10)";
  if (!p.runs.length) return [title, "", `Skipped: ${p.skipped ?? "nothing measured"}.`, ""];
  const head = ["budget", "connection mode", ...BUDGET_VARIANTS.map((v) => `${v.label} req/s`), "default / --mode batch", "default / --mode batch --rings 1", "nginx (quota) req/s", "default / nginx"];
  const rows = BUDGETS.flatMap((b) => connsOf(p).map((c) => budgetRow(p, b, c))).filter((x): x is string[] => x !== undefined);
  return [
    title,
    "",
    `\`bun run serve\` with no mode flag against \`--mode batch\` (rings auto) and \`--mode batch --rings 1\`, side by side, under three CPU budgets: unrestricted (server unpinned), ` +
      `\`taskset -c 1\`, and a ${QUOTA_CPUS}-CPU cgroup quota on CPU 1, where nginx (1 worker) runs too; wrk on CPU 0 throughout. ${sizesLine(r.sizes.budget)}` +
      (p.skipped ? ` Skipped: ${p.skipped}.` : ""),
    "",
    table(head, rows),
    "",
    "What each start announced (mode/rings, and auto's reason from the startup line):",
    "",
    table(["budget", ...BUDGET_VARIANTS.map((v) => v.label)], layoutRows(p)),
    "",
    ...targetLines(budgetTargets(p)),
    "",
    ...noiseLine(p),
  ];
}
