// The cost phase: for each server variant (every server of the wrk matrix, close
// and keep-alive; pipelining changes the client's cost, not the server's work
// per request), one start measured by lib/cost.ts: system calls per request of
// the serving thread, a profile, a sequential batch, idle CPU, peak RSS, idle
// keep-alive connections' RSS, and SIGTERM under load. Placed as the pinning
// phase chose.
import { LABELS, SERVERS, isRing, variant, type ConnMode, type ServerName, type Variant } from "../lib/config.ts";
import { costOf, type CostPlan, type CostResult } from "../lib/cost.ts";
import { log, type Ctx } from "../lib/ctx.ts";
import { perfAvailable } from "../lib/perf.ts";
import { fmt, fmtSpread } from "../lib/stats.ts";
import { plural, table } from "../report/md.ts";
import { matrix, matrixConnections, row, rowsOf, sqpollAccounting } from "./matrix.ts";
import { recordOf, type Done, type Phase, type Results, type Target } from "./phase.ts";

type CostRecord = Done<CostPlan, CostResult[]>;

const VARIANTS: readonly Variant[] = (["close", "keep-alive"] as const).flatMap((c) => SERVERS.map((s) => variant(s, c)));

const FULL: CostPlan = { perfS: 1, perfRuns: 3, straceS: 2, connections: 64, profileS: 2, idleS: 10, footprintConnections: 4000, stopAfterMs: 500, batch: { requests: 10_000, runs: 3 } };
const QUICK: CostPlan = {
  perfS: 1,
  perfRuns: 1,
  straceS: 1,
  connections: 64,
  profileS: 1,
  idleS: 0.5,
  footprintConnections: 1000,
  stopAfterMs: 300,
  batch: { requests: 1_000, runs: 2 },
  // Every server and both connection modes appear at least once.
  variants: ["nginx/keep-alive", "bun/close", "spin/keep-alive", "batch/close"],
};

function logResult(v: Variant, res: CostResult): void {
  const f = (x: number | undefined): string => (x === undefined ? "-" : x.toFixed(3));
  const fp = res.footprint ? ` idle-conn RSS=${res.footprint.perConnectionB.map((b) => b.toFixed(0)).join("/")} B` : "";
  const stop = res.stopUnderLoad ? ` stop=${res.stopUnderLoad.ms.toFixed(0)} ms` : "";
  log(`cost ${v.id.padEnd(18)} syscalls/req perf=${f(res.perf?.perRequest)} strace=${f(res.strace?.perRequest)} idle=${res.idle.percentOfCore.toFixed(2)}% VmHWM=${res.vmHwmKb} kB batch=${(res.batch?.seconds.median ?? 0).toFixed(3)} s${fp}${stop}; steps ${JSON.stringify(res.stepsS)}`);
}

async function run(ctx: Ctx, plan: CostPlan): Promise<CostResult[]> {
  const perf = await perfAvailable();
  if (!perf) ctx.anomalies.push("perf with raw_syscalls tracepoints is unavailable: syscall counts come from strace only, no profiles");
  const out: CostResult[] = [];
  for (const v of VARIANTS.filter((x) => !plan.variants || plan.variants.includes(x.id))) {
    const res = await costOf(ctx, plan, ctx.pin, v, perf);
    out.push(res);
    logResult(v, res);
  }
  return out;
}

// ---------------------------------------------------------------- targets

function syscallTarget(cost: readonly CostResult[], mode: ServerName, want: number, strictZero: boolean): Target {
  const vals = cost.filter((c) => c.server === mode).map((c) => ({ c, s: c.perf ?? c.strace }));
  const got = vals
    .map(({ c, s }) => {
      if (!s) return `${c.conn}: n/a`;
      const sp = c.perf?.spread && c.perf.spread.n > 1 ? `, runs ${c.perf.spread.min.toFixed(3)}–${c.perf.spread.max.toFixed(3)}` : "";
      return `${c.conn}: ${s.perRequest.toFixed(3)} (${s.calls} calls / ${s.requests} requests, ${s.tool}${sp})`;
    })
    .join("; ");
  return {
    name: `${mode} mode under load: system calls per request on the ringside-ring thread`,
    want: strictZero ? "0 (under 0.01)" : `< ${want}`,
    got,
    met: vals.length === 0 || vals.some((v) => !v.s) ? null : vals.every((v) => v.s!.perRequest < want),
    note: strictZero
      ? "counted with perf's raw_syscalls tracepoint on that thread, which does not slow it; strace -c figures are in the cost table"
      : undefined,
  };
}

function idleTarget({ plan, result }: CostRecord, run: Results): Target {
  const idle = result.filter((c) => isRing(c.server));
  return {
    name: `idle CPU over ${plan.idleS} s after load, from the end of the ${run.serverDefaults.spinBudgetMs} ms spin budget`,
    want: "< 1% of a core, every ringside mode",
    got: idle.map((c) => `${c.server}/${c.conn}: ${c.idle.percentOfCore.toFixed(2)}%${Number.isFinite(c.idle.steadyPercentOfCore) ? ` (${c.idle.steadyPercentOfCore.toFixed(2)}% after the first ${c.idle.skipS} s)` : ""}`).join("; "),
    met: idle.length ? idle.every((c) => c.idle.percentOfCore < 1) : null,
    note: `includes the SQPOLL thread's own idle spin (--sq-idle, default ${run.serverDefaults.sqIdleMs} ms)`,
  };
}

/** SIGTERM under load ends ringside within its drain timeout, exit 0 (when measured). */
function stopTarget(cost: readonly CostResult[], run: Results): Target[] {
  const ring = cost.filter((c) => isRing(c.server) && c.stopUnderLoad);
  const drainMs = run.serverDefaults.drainTimeoutMs;
  if (!ring.length || drainMs === undefined) return [];
  return [{
    name: "SIGTERM under load: ringside drains and exits 0",
    want: `before the drain timeout (${drainMs} ms), every ringside mode`,
    got: ring.map((c) => `${c.server}/${c.conn}: ${c.stopUnderLoad!.ms.toFixed(0)} ms, exit ${c.stopUnderLoad!.code}`).join("; "),
    met: ring.every((c) => c.stopUnderLoad!.ms < drainMs && c.stopUnderLoad!.code === 0),
  }];
}

/** Memory per idle keep-alive connection stays under 16 KiB (an 8 KiB header buffer, mapped lazily, and nothing else grows). */
function footprintTarget(cost: readonly CostResult[]): Target[] {
  const ring = cost.filter((c) => isRing(c.server) && c.footprint);
  if (!ring.length) return [];
  return [{
    name: "RSS growth per idle keep-alive connection (one request each), over the first baseline, two rounds",
    want: "< 16 KiB, every ringside mode",
    got: ring.map((c) => `${c.server}/${c.conn} (${c.footprint!.connections} connections): ${c.footprint!.perConnectionB.map((b) => `${fmt(b)} B`).join(", ")}`).join("; "),
    met: ring.every((c) => c.footprint!.perConnectionB.every((b) => b < 16 * 1024)),
  }];
}

function targets(done: CostRecord, run: Results): Target[] {
  const cost = done.result;
  return [syscallTarget(cost, "spin", 0.01, true), syscallTarget(cost, "batch", 0.3, false), idleTarget(done, run), ...stopTarget(cost, run), ...footprintTarget(cost)];
}

// ---------------------------------------------------------------- report

const pct = (x: number): string => `${x.toFixed(x < 10 ? 2 : 1)}%`;
const label = (c: CostResult): string => `${LABELS[c.server]} / ${c.conn}`;

function costIntro(plan: CostPlan, run: Results): string {
  return (
    `System calls of the serving thread (ringside-ring; the nginx worker; Bun's main thread) under \`wrk -c${plan.connections}\`: ` +
    `perf counts the raw_syscalls:sys_enter tracepoint on that thread (${plural(plan.perfRuns, "run")} of ${plan.perfS} s: all calls / all requests, then the per-run spread; the thread runs at full speed), ` +
    `strace -c -p names them (${plan.straceS} s; strace stops the thread at every call, so it serves fewer requests per wake-up and batches differently). ` +
    `Idle: CPU of every thread of the server over ${plan.idleS} s, starting ${run.serverDefaults.spinBudgetMs} ms (the spin budget) after the last request. ` +
    `Peak RSS: VmHWM (nginx: master + worker).`
  );
}

/** Server CPU per 100k requests in the wrk matrix, at 64 connections (or the first count measured). */
function matrixCpu(run: Results, server: ServerName, conn: ConnMode): string {
  const m = recordOf(matrix, run);
  if (!m) return "-";
  const c = matrixConnections(m);
  const x = row(rowsOf(m), server, conn, c);
  return x ? `${fmtSpread(x.cpuPer100kS, " s")} (c${c})` : "-";
}

function costRow(run: Results, c: CostResult): string[] {
  return [
    label(c),
    c.perf ? `${c.perf.perRequest.toFixed(3)}${c.perf.spread && c.perf.spread.n > 1 ? ` (${c.perf.spread.min.toFixed(3)}–${c.perf.spread.max.toFixed(3)})` : ""}` : "-",
    c.strace ? `${c.strace.perRequest.toFixed(3)}` : "-",
    c.strace ? c.strace.byName.slice(0, 4).map((s) => `${s.name} ${(s.calls / c.strace!.requests).toFixed(2)}`).join(", ") : "-",
    matrixCpu(run, c.server, c.conn),
    `${pct(c.idle.percentOfCore)}${c.idle.series.length > 1 ? ` (per second ${pct(Math.min(...c.idle.series))}–${pct(Math.max(...c.idle.series))})` : ""}`,
    Object.entries(c.idle.byThread)
      .filter(([, v]) => v >= 0.01)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${pct(v)}`)
      .join(", ") || "-",
    `${(c.vmHwmKb / 1024).toFixed(1)} MB`,
  ];
}

/** What the table says where something stands out: spin mode's system calls by name, idle CPU of 1% or more. */
function observations(cost: readonly CostResult[], run: Results): string[] {
  const o: string[] = [];
  for (const c of cost.filter((x) => x.server === "spin" && x.strace)) {
    const top = c.strace!.byName.slice(0, 3).map((s) => `${s.name} ${s.calls}`).join(", ");
    if (top) o.push(`spin/${c.conn}: the ring thread's system calls under strace were ${top} for ${c.strace!.requests} requests.`);
  }
  for (const c of cost.filter((x) => isRing(x.server) && x.idle.percentOfCore >= 1)) {
    const sq = c.idle.byThread["iou-sqp"] ?? 0;
    o.push(
      `${c.server}/${c.conn} idle ${pct(c.idle.percentOfCore)}: ${sq > 0 ? `iou-sqp thread ${pct(sq)} (it spins for --sq-idle, ${run.serverDefaults.sqIdleMs} ms, after the last submission), ` : ""}ring thread ${pct(c.idle.byThread["ringside-ring"] ?? 0)}; ` +
        `per second: ${c.idle.series.map((x) => x.toFixed(1)).join(", ")}; after the first ${c.idle.skipS} s: ${Number.isFinite(c.idle.steadyPercentOfCore) ? pct(c.idle.steadyPercentOfCore) : "n/a"}.`,
    );
  }
  return o.length ? [...o.map((s) => `- ${s}`), ""] : [];
}

/** Whether the matrix's server CPU counts the SQPOLL thread (the cost table shows that CPU). */
function sqpollLines(run: Results): string[] {
  const m = recordOf(matrix, run);
  const a = m && sqpollAccounting(m.result.runs);
  if (!a) return [];
  return [
    `SQPOLL accounting: over the spin/sqpoll wrk runs the process used ${a.processCpuS.toFixed(2)} s (/proc/PID/stat), its threads ${a.taskSumCpuS.toFixed(2)} s (/proc/PID/task/*/stat), of which the iou-sqp thread ${a.sqCpuS.toFixed(2)} s: ${a.note}.`,
    "",
  ];
}

function sequentialBatch({ plan, result }: CostRecord): string[] {
  const n = plan.batch.requests;
  const measured = result.filter((c) => c.batch);
  if (!measured.length) return [];
  return [
    `Batch: wall time of ${n} sequential requests, ${plan.batch.runs} runs, after one untimed pass that checks every response. ` +
      `Close: \`ab -n ${n} -c 1\` (HTTP/1.0, a connection per request). Keep-alive: \`curl -s "http://127.0.0.1:PORT/?n=[1-${n}]"\` (HTTP/1.1, one connection; ` +
      `\`ab -k\` would speak HTTP/1.0 keep-alive, which Bun.serve answers and then closes). The client's own cost is in every figure: compare rows, not absolute values.`,
    "",
    table(["server / mode", "seconds median (min–max)", "sequential req/s (median)"], measured.map((c) => [label(c), fmtSpread(c.batch!.seconds, " s"), fmt(n / c.batch!.seconds.median)])),
    "",
  ];
}

function profiles({ plan, result }: CostRecord): string[] {
  const profiled = result.filter((c) => c.profile?.length);
  if (!profiled.length) return [];
  return [
    `### Where the time goes (perf record -e cpu-clock, wrk -c64 for ${plan.profileS} s, whole server process)`,
    "",
    ...profiled.flatMap((c) => [`**${label(c)}**: ` + c.profile!.slice(0, 8).map((p) => `${p.percent.toFixed(1)}% ${p.comm} ${p.symbol}`).join("; "), ""]),
  ];
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;

/** RSS of idle keep-alive connections; absent from results made before it was measured. */
function idleConnections(cost: readonly CostResult[]): string[] {
  const measured = cost.filter((c) => c.footprint);
  if (!measured.length) return [];
  const rowOf = (c: CostResult): string[] => {
    const f = c.footprint!;
    const cells = f.rounds.map((x, i) => `${mb(x.baseKb)} → ${mb(x.heldKb)} → ${mb(x.afterKb)} (${fmt(f.perConnectionB[i] ?? Number.NaN)} B per connection)`);
    return [label(c), String(f.connections), ...cells];
  };
  return [
    "### Idle keep-alive connections",
    "",
    "VmRSS of the server (nginx: master + worker) before, while holding N connections that each sent one request, read the response and stayed open, and after they left; twice. " +
      "Bytes per connection: growth while held over the first round's baseline, divided by N. Round 2 runs on what round 1 freed; ringside maps each slot's header buffer on first use, " +
      "so round 2 still grows where it lands on slots round 1 did not touch (bounded by --max-connections x --max-header-size).",
    "",
    table(["server / mode", "connections", "round 1: before → held → after", "round 2: before → held → after"], measured.map(rowOf)),
    "",
  ];
}

/** SIGTERM under load; absent from results made before it was measured. */
function stopUnderLoad({ plan, result }: CostRecord, run: Results): string[] {
  const measured = result.filter((c) => c.stopUnderLoad);
  if (!measured.length) return [];
  const rows = measured.map((c) => [label(c), `${c.stopUnderLoad!.ms.toFixed(0)} ms`, String(c.stopUnderLoad!.code)]);
  return [
    "### Stopping under load",
    "",
    `SIGTERM ${plan.stopAfterMs} ms into a \`wrk -c${plan.connections}\` run, to the process's exit (ringside drains: in-flight requests finish, idle connections close, for at most --drain-timeout, ${run.serverDefaults.drainTimeoutMs} ms by default).`,
    "",
    table(["server / mode", "signal to exit", "exit code"], rows),
    "",
  ];
}

function section(done: CostRecord, run: Results): string[] {
  const head = ["server / mode", "syscalls/req (perf)", "syscalls/req (strace)", "top syscalls (strace)", "server CPU per 100k req", "idle CPU (% of a core)", "idle by thread", "peak RSS"];
  return [
    "## Per-request cost",
    "",
    costIntro(done.plan, run),
    "",
    table(head, done.result.map((c) => costRow(run, c))),
    "",
    ...observations(done.result, run),
    ...sqpollLines(run),
    ...sequentialBatch(done),
    ...profiles(done),
    ...idleConnections(done.result),
    ...stopUnderLoad(done, run),
  ];
}

export const cost: Phase<CostPlan, CostResult[]> = {
  name: "cost",
  plan: (quick) => (quick ? QUICK : FULL),
  run,
  targets,
  section,
};
