#!/usr/bin/env bun
// `bun run bench [--quick] [--pinning NAME] [--out DIR]`: ringside against
// nginx and Bun.serve on this machine, in one run, interleaved, with ratios.
// Phases: pinning trials -> wrk matrix (rounds x servers x connection counts)
// -> hyperfine cold start -> per-request cost (perf/strace syscalls, profile,
// sequential batch, idle CPU, peak RSS) -> report (.md, .json, .svg).
// Every process started here is killed on the way out, error or not.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import {
  CONN_MODES,
  COST_VARIANTS,
  FULL,
  PINNINGS,
  QUICK,
  SERVERS,
  SPIN_BUDGET_MS,
  SQ_IDLE_MS,
  isRing,
  keepsAlive,
  pinningByName,
  variant,
  type ConnMode,
  type Pinning,
  type ServerName,
  type Sizes,
} from "./config.ts";
import { combineCounts, countSyscalls, idleCpu, perfAvailable, profile } from "./cost.ts";
import { batch, coldStart, validateBatch } from "./hyperfine.ts";
import { machine } from "./machine.ts";
import { Monitor, systemCpu } from "./monitor.ts";
import { cpuSeconds, kb, statusField, tasks } from "../test/proc.ts";
import { killAll, run, runOk } from "./proc.ts";
import { derive, renderMarkdown, renderSvg } from "./report.ts";
import { BENCH, ROOT, ringsideArgs, startServer, type Server } from "./servers.ts";
import { geomean } from "./stats.ts";
import type { Affinity, CostResult, LoadRun, PinningTrial, Results, ServerBlock } from "./types.ts";
import { runWrk } from "./wrk.ts";

const USAGE = `usage: bun run bench [--quick] [--pinning ${PINNINGS.map((p) => p.name).join("|")}] [--out DIR]
       bun run bench --render bench/results/DATE-HOST.json
  --quick     1 round, 1 s wrk runs, 64 connections, small hyperfine/strace runs (< 60 s; CI)
  --pinning   skip the pinning trials and use this policy
  --out DIR   where the report goes (default: bench/results; --quick: a temp dir)
  --render    write the .md and .svg again from a results .json (no measuring)`;

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function affinity(s: Server): Affinity {
  const out: Affinity = {};
  for (const pid of s.pids) {
    for (const t of tasks(pid)) {
      const interesting = t.tid === s.servingTid || t.tid === s.sqTid || t.tid === pid;
      if (!interesting) continue;
      const name = t.comm.replace(/^iou-sqp-\d+$/, "iou-sqp");
      out[s.pids.length > 1 && pid !== s.servingPid ? `${name} (master)` : name] = statusField(pid, "Cpus_allowed_list", t.tid) ?? "?";
    }
  }
  return out;
}

function serverCpu(s: Server): number {
  return s.pids.reduce((a, pid) => a + cpuSeconds(pid), 0);
}

/** One wrk measurement with the server's CPU over it; repeated (within the run's
 * retry budget) when other work on the machine took CPU meanwhile. */
async function measure(ctx: Ctx, s: Server, round: number, connections: number, seconds: number, pin: Pinning): Promise<LoadRun> {
  let retried = 0;
  for (;;) {
    const r = await measureOnce(ctx, s, round, connections, seconds, pin);
    r.retried = retried;
    if (r.foreignCores + r.stealCores <= 0.15 || ctx.monitor.retries >= ctx.sizes.retryBudget) return r;
    ctx.monitor.retries++;
    retried++;
    log(`  ${r.server}/${r.conn} c${connections}: other work used ${r.foreignCores.toFixed(2)} cores (steal ${r.stealCores.toFixed(2)}) meanwhile; measuring again`);
    await ctx.monitor.quiet(Math.max(5, ctx.sizes.quietBudgetS - ctx.monitor.waitedS));
  }
}

async function measureOnce(ctx: Ctx, s: Server, round: number, connections: number, seconds: number, pin: Pinning): Promise<LoadRun> {
  const { server, conn } = s.variant;
  const taskSum = (): number => tasks(s.pid).reduce((a, t) => a + cpuSeconds(s.pid, t.tid), 0);
  const cpu0 = serverCpu(s);
  const ring0 = isRing(server) ? cpuSeconds(s.pid, s.servingTid) : 0;
  const sq0 = s.sqTid !== undefined ? cpuSeconds(s.pid, s.sqTid) : 0;
  const sum0 = isRing(server) ? taskSum() : 0;
  const sys0 = systemCpu();
  const h0 = process.cpuUsage();
  const t0 = performance.now();
  const w = await runWrk(s.port, connections, seconds, conn, pin.clientCpus);
  const h = process.cpuUsage(h0);
  const sys1 = systemCpu();
  const wallS = (performance.now() - t0) / 1000;
  const serverCpuS = serverCpu(s) - cpu0;
  const foreignCores = Math.max(0, sys1.busy - sys0.busy - serverCpuS - w.clientCpuS - (h.user + h.system) / 1e6) / wallS;
  const stealCores = (sys1.steal - sys0.steal) / wallS;
  const run: LoadRun = {
    round,
    server,
    conn,
    connections,
    rps: w.rps,
    requests: w.requests,
    seconds: w.seconds,
    p50Ms: w.p50Ms,
    p99Ms: w.p99Ms,
    errors: w.errors,
    clientCores: w.clientCores,
    serverCpuS,
    foreignCores,
    stealCores,
    retried: 0,
  };
  if (isRing(server)) {
    run.ringCpuS = cpuSeconds(s.pid, s.servingTid) - ring0;
    run.taskSumCpuS = taskSum() - sum0;
    if (s.sqTid !== undefined) run.sqCpuS = cpuSeconds(s.pid, s.sqTid) - sq0;
  }
  return run;
}

interface Ctx {
  sizes: Sizes;
  tmp: string;
  anomalies: string[];
  blocks: ServerBlock[];
  monitor: Monitor;
}

/** Starts a variant, runs fn, stops it, and checks ringside's counters against what the clients saw. */
async function block<T>(ctx: Ctx, round: number, server: ServerName, conn: ConnMode, pin: Pinning, fn: (s: Server, seen: (n: number) => void) => Promise<T>): Promise<T> {
  await ctx.monitor.quiet(Math.max(0, ctx.sizes.quietBudgetS - ctx.monitor.waitedS));
  const s = await startServer(variant(server, conn), pin, ctx.tmp);
  let clientRequests = 0;
  let value: T;
  try {
    value = await fn(s, (n) => (clientRequests += n));
  } catch (e) {
    await s.stop();
    throw e;
  }
  const stop = await s.stop();
  const b: ServerBlock = { round, server, conn, counters: stop.counters, exitCode: stop.code, clientRequests, features: s.startup?.fields.features };
  ctx.blocks.push(b);
  const where = `${server}/${conn} (round ${round + 1}, pinning ${pin.name})`;
  if (isRing(server)) {
    const c = stop.counters;
    if (stop.code !== 0) ctx.anomalies.push(`${where}: exit code ${stop.code}; stderr: ${stop.stderr.slice(-300)}`);
    if (c.responses === undefined) ctx.anomalies.push(`${where}: no summary line at stop`);
    else {
      if (c.responses < clientRequests) ctx.anomalies.push(`${where}: server counted ${c.responses} responses but clients completed ${clientRequests}`);
      if (c.requests !== c.responses) ctx.anomalies.push(`${where}: requests=${c.requests} but responses=${c.responses}`);
      for (const k of ["bad_requests", "too_large", "recv_errors", "send_errors", "accept_errors", "cq_overflow", "header_timeouts"] as const) {
        if ((c[k] ?? 0) > 0) ctx.anomalies.push(`${where}: ${k}=${c[k]}`);
      }
    }
  } else if (stop.code !== 0 && stop.code !== null) {
    ctx.anomalies.push(`${where}: exit code ${stop.code}`);
  }
  return value;
}

function checkWrk(ctx: Ctx, r: Pick<LoadRun, "errors" | "server" | "conn" | "connections">, what: string): void {
  const e = r.errors;
  const n = e.connect + e.write + e.timeout + e.non2xx + (keepsAlive(r.conn) ? e.read : 0);
  if (n > 0) ctx.anomalies.push(`${what} ${r.server}/${r.conn} c=${r.connections}: wrk errors ${JSON.stringify(e)}`);
}

async function pinningPhase(ctx: Ctx): Promise<{ trials: PinningTrial[]; scores: Record<string, number>; chosen: Pinning }> {
  const { sizes } = ctx;
  const trials: PinningTrial[] = [];
  const peerDone = new Map<string, PinningTrial[]>();
  const ringDone = new Map<string, PinningTrial>();
  for (const name of sizes.pinning.policies) {
    const pin = pinningByName(name);
    for (const server of sizes.pinning.servers) {
      if (!isRing(server)) {
        // Peers only see peerCpus/clientCpus: measure each placement once.
        const key = `${server}|${pin.peerCpus}|${pin.clientCpus}`;
        const seen = peerDone.get(key);
        if (seen) {
          trials.push(...seen.map((t) => ({ ...t, policy: name })));
          continue;
        }
        const mine = await block(ctx, 0, server, "close", pin, async (s, count) => {
          const out: PinningTrial[] = [];
          for (const conn of sizes.pinning.conns) {
            const r = await measure(ctx, { ...s, variant: variant(server, conn) }, 0, sizes.pinning.connections, sizes.pinning.wrkS, pin);
            count(r.requests);
            out.push({ ...r, policy: name, affinity: affinity(s) });
          }
          return out;
        });
        peerDone.set(key, mine);
        trials.push(...mine);
        continue;
      }
      for (const conn of sizes.pinning.conns) {
        // Batch mode has no SQPOLL thread: policies that differ only there are one trial.
        const key = `${ringsideArgs(server, keepsAlive(conn), pin, 0).join(" ")}|${pin.clientCpus}|${conn}`;
        const seen = ringDone.get(key);
        if (seen) {
          trials.push({ ...seen, policy: name });
          continue;
        }
        const t = await block(ctx, 0, server, conn, pin, async (s, count) => {
          const r = await measure(ctx, s, 0, sizes.pinning.connections, sizes.pinning.wrkS, pin);
          count(r.requests);
          return { ...r, policy: name, affinity: affinity(s) };
        });
        ringDone.set(key, t);
        trials.push(t);
        log(`pinning ${name.padEnd(13)} ${server}/${conn}: ${Math.round(t.rps)} req/s (client ${t.clientCores.toFixed(2)} cores, server ${(t.serverCpuS / t.seconds).toFixed(2)})`);
      }
    }
  }
  const scores: Record<string, number> = {};
  for (const name of sizes.pinning.policies) scores[name] = geomean(trials.filter((t) => t.policy === name && isRing(t.server)).map((t) => t.rps));
  // In list order (simplest first), a policy must beat the one kept so far by 5%:
  // closer than that is run-to-run noise, and the simpler placement wins.
  let best = sizes.pinning.policies[0] ?? "unpinned";
  for (const name of sizes.pinning.policies) if ((scores[name] ?? 0) > (scores[best] ?? 0) * 1.05) best = name;
  return { trials, scores, chosen: pinningByName(best) };
}

async function loadPhase(ctx: Ctx, pin: Pinning): Promise<LoadRun[]> {
  const { sizes } = ctx;
  const runs: LoadRun[] = [];
  for (let round = 0; round < sizes.rounds; round++) {
    for (const conn of CONN_MODES) {
      for (const server of SERVERS) {
        const got = await block(ctx, round, server, conn, pin, async (s, count) => {
          if (sizes.warmupS > 0) count((await runWrk(s.port, 64, sizes.warmupS, conn, pin.clientCpus)).requests);
          const out: LoadRun[] = [];
          for (const c of sizes.connections) {
            const r = await measure(ctx, s, round, c, sizes.wrkS, pin);
            count(r.requests);
            checkWrk(ctx, r, `round ${round + 1}`);
            out.push(r);
          }
          return out;
        });
        runs.push(...got);
        log(`round ${round + 1}/${sizes.rounds} ${`${server}/${conn}`.padEnd(18)} ${got.map((r) => `c${r.connections}=${Math.round(r.rps)}`).join(" ")}`);
      }
    }
  }
  return runs;
}

async function costPhase(ctx: Ctx, pin: Pinning): Promise<CostResult[]> {
  const { sizes, tmp } = ctx;
  const perf = await perfAvailable();
  if (!perf) ctx.anomalies.push("perf with raw_syscalls tracepoints is unavailable: syscall counts come from strace only, no profiles");
  const out: CostResult[] = [];
  for (const v of COST_VARIANTS.filter((x) => !sizes.costVariants || sizes.costVariants.includes(x.id))) {
    const res = await block(ctx, 0, v.server, v.conn, pin, async (s, count): Promise<CostResult> => {
      const load = (seconds: number) => async (): Promise<number> => {
        const r = await runWrk(s.port, sizes.cost.connections, seconds, v.conn, pin.clientCpus);
        count(r.requests);
        checkWrk(ctx, { errors: r.errors, server: v.server, conn: v.conn, connections: sizes.cost.connections }, "cost");
        return r.requests;
      };
      let at = performance.now();
      const step = (name: string): void => {
        res.stepsS[name] = Math.round(performance.now() - at) / 1000;
        at = performance.now();
      };
      const res: CostResult = { server: v.server, conn: v.conn, idle: { windowS: 0, percentOfCore: 0, byThread: {}, series: [], steadyPercentOfCore: 0, skipS: 0 }, vmHwmKb: 0, vmHwmByProcess: {}, affinity: affinity(s), counters: {}, stepsS: {} };
      if (perf) {
        const counts = [];
        for (let i = 0; i < sizes.cost.perfRuns; i++) counts.push(await countSyscalls("perf", s.servingTid, tmp, load(sizes.cost.perfS)));
        res.perf = combineCounts(counts);
      }
      step("perf");
      res.strace = await countSyscalls("strace", s.servingTid, tmp, load(sizes.cost.straceS));
      step("strace");
      if (perf && isRing(v.server)) res.profile = await profile(s.pid, tmp, load(sizes.cost.profileS));
      step("profile");
      const validation = await validateBatch(s.port, v.conn, sizes.batch.requests, pin.clientCpus, sizes.timeoutMs);
      count(validation.ok);
      if (validation.ok !== sizes.batch.requests || (validation.connects !== undefined && validation.connects !== 1)) {
        ctx.anomalies.push(`batch ${v.id}: ${validation.client}: ${validation.ok}/${validation.requests} good responses${validation.connects !== undefined ? `, ${validation.connects} connections` : ""}`);
      }
      const t = await batch(v.id, s.port, v.conn, sizes.batch.requests, sizes.batch.runs, pin.clientCpus, tmp, sizes.timeoutMs);
      count(sizes.batch.requests * sizes.batch.runs);
      res.batch = { ...t, validation };
      step("batch");
      // Idle: from the end of the last load plus the spin budget.
      await Bun.sleep(SPIN_BUDGET_MS + 20);
      res.idle = await idleCpu(s.pids, sizes.cost.idleS, SQ_IDLE_MS / 1000);
      for (const pid of s.pids) res.vmHwmByProcess[pid === s.servingPid ? "serving" : "master"] = kb(pid, "VmHWM");
      res.vmHwmKb = Object.values(res.vmHwmByProcess).reduce((a, b) => a + b, 0);
      step("idle");
      return res;
    });
    res.counters = ctx.blocks[ctx.blocks.length - 1]?.counters ?? {};
    out.push(res);
    const f = (x: number | undefined): string => (x === undefined ? "-" : x.toFixed(3));
    log(`cost ${v.id.padEnd(18)} syscalls/req perf=${f(res.perf?.perRequest)} strace=${f(res.strace?.perRequest)} idle=${res.idle.percentOfCore.toFixed(2)}% VmHWM=${res.vmHwmKb} kB batch=${(res.batch?.seconds.median ?? 0).toFixed(3)} s; steps ${JSON.stringify(res.stepsS)}`);
  }
  return out;
}

/** What the servers under test are built from: a change mid-run mixes two servers in one report. */
async function treeState(): Promise<string> {
  const head = await run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], 10_000).catch(() => undefined);
  const diff = await run(["git", "-C", ROOT, "diff", "HEAD", "--", "src", "native"], 10_000).catch(() => undefined);
  const lib = join(ROOT, "native", "build", "libringside.so");
  const libAt = existsSync(lib) ? statSync(lib).mtime.toISOString() : "missing";
  const local = diff?.stdout ? ` +local changes ${Bun.hash(diff.stdout).toString(16).slice(0, 8)}` : "";
  return `${head?.stdout.trim() ?? "?"}${local}, libringside.so ${libAt}`;
}

async function ensureNative(): Promise<void> {
  if (existsSync(join(ROOT, "native", "build", "libringside.so"))) return;
  log("native/build/libringside.so missing: building it (make -C native lib)");
  await runOk(["make", "-s", "-C", join(ROOT, "native"), "lib"], 300_000);
}

async function preflight(): Promise<void> {
  const missing: string[] = [];
  for (const tool of ["wrk", "ab", "hyperfine", "strace", "taskset", "bash"]) if (!Bun.which(tool)) missing.push(tool);
  if (!existsSync(process.env.NGINX ?? "/usr/sbin/nginx")) missing.push("nginx (/usr/sbin/nginx, or set NGINX)");
  if (missing.length) throw new Error(`missing tools: ${missing.join(", ")} (Debian: apt-get install wrk apache2-utils hyperfine strace nginx-light util-linux)`);
  await ensureNative();
}

/** Writes the report files for results (.md, .svg next to .json; latest.svg unless quick). */
function writeReport(results: Results, dir: string, stem: string, latest: boolean): string[] {
  const files = [join(dir, `${stem}.md`), join(dir, `${stem}.json`), join(dir, `${stem}.svg`)];
  writeFileSync(files[1]!, JSON.stringify(results, null, 2) + "\n");
  writeFileSync(files[2]!, renderSvg(results));
  writeFileSync(files[0]!, renderMarkdown(results, `${stem}.svg`));
  if (latest) copyFileSync(files[2]!, join(dir, "latest.svg"));
  return files;
}

/** --render FILE.json: derive and write the report again from stored measurements. */
function render(path: string): number {
  const results = JSON.parse(readFileSync(path, "utf8")) as Results;
  // derive() adds this one again.
  results.anomalies = results.anomalies.filter((a) => !a.startsWith("SQPOLL accounting:"));
  derive(results);
  const files = writeReport(results, dirname(path), basename(path, ".json"), !results.quick);
  log(`rendered ${files.join(", ")}`);
  return 0;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      quick: { type: "boolean", default: false },
      pinning: { type: "string" },
      out: { type: "string" },
      render: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.render !== undefined) return render(values.render);
  const sizes = values.quick ? QUICK : FULL;
  const forced = values.pinning !== undefined ? pinningByName(values.pinning) : undefined;
  const outDir = values.out ?? (sizes.quick ? join(tmpdir(), "ringside-bench-quick") : join(BENCH, "results"));
  const started = performance.now();
  const startedAt = new Date();
  const tmp = mkdtempSync(join(tmpdir(), "ringside-bench-"));
  // Orphans (servers that coldstart.sh leaves for hyperfine's --prepare to kill)
  // carry this in their environment, so the noise monitor knows them as ours.
  const marker = `RINGSIDE_BENCH_RUN=${process.pid}`;
  process.env.RINGSIDE_BENCH_RUN = String(process.pid);
  const monitor = new Monitor(marker);
  const ctx: Ctx = { sizes, tmp, anomalies: [], blocks: [], monitor };
  try {
    await preflight();
    const treeAtStart = await treeState();
    const facts = await machine();
    log(`${facts.cores} CPUs (${facts.cpuModel}), kernel ${facts.kernel}, bun ${facts.versions.bun}; ${sizes.quick ? "quick" : "full"} run, output in ${outDir}`);
    if (facts.cores < 2) ctx.anomalies.push(`only ${facts.cores} CPU: client and server always share it; pinning policies are moot`);
    monitor.start();

    let phaseAt = performance.now();
    const phase = (name: string): void => {
      log(`phase ${name} (previous took ${((performance.now() - phaseAt) / 1000).toFixed(1)} s)`);
      phaseAt = performance.now();
      monitor.enter(name);
    };
    phase("pinning");
    let pinning: Results["pinning"];
    if (forced) {
      pinning = { chosen: forced.name, summary: forced.summary, forced: true, trials: [], scores: {} };
    } else {
      const p = await pinningPhase(ctx);
      pinning = { chosen: p.chosen.name, summary: p.chosen.summary, forced: false, trials: p.trials, scores: p.scores };
    }
    const pin = pinningByName(pinning.chosen);
    log(`pinning policy: ${pin.name}: ${pin.summary}`);

    phase("wrk");
    const load = await loadPhase(ctx, pin);

    phase("cold start");
    const cold = await coldStart(["nginx", "bun", "spin", "sqpoll", "batch"], pin, tmp, sizes.cold.rounds, sizes.cold.runs, sizes.cold.warmup, sizes.timeoutMs);
    log(`cold start (median ms): ${cold.map((c) => `${c.name}=${(c.seconds.median * 1000).toFixed(1)}`).join(" ")}`);

    phase("cost");
    const cost = await costPhase(ctx, pin);

    phase("report");
    const noise = monitor.stop();
    const treeAtEnd = await treeState();
    if (treeAtEnd !== treeAtStart) ctx.anomalies.push(`the server changed during the run: at start ${treeAtStart}; at end ${treeAtEnd}`);
    const results: Results = {
      schema: 1,
      quick: sizes.quick,
      startedAt: startedAt.toISOString(),
      durationS: 0,
      machine: facts,
      sizes,
      serverDefaults: { spinBudgetMs: SPIN_BUDGET_MS, sqIdleMs: SQ_IDLE_MS },
      tree: { start: treeAtStart, end: treeAtEnd },
      pinning,
      load,
      blocks: ctx.blocks,
      throughput: [],
      cold,
      cost,
      sqpollAccounting: null,
      targets: [],
      anomalies: ctx.anomalies,
      noise,
    };
    derive(results);
    results.durationS = Math.round((performance.now() - started) / 100) / 10;
    mkdirSync(outDir, { recursive: true });
    const stem = `${startedAt.toISOString().slice(0, 10)}-${hostname()}`;
    const files = writeReport(results, outDir, stem, !sizes.quick || values.out !== undefined);
    for (const t of results.targets) log(`target ${t.met === null ? "n/a " : t.met ? "met " : "MISSED"} ${t.name}: ${t.got} (want ${t.want})`);
    for (const a of results.anomalies) log(`anomaly: ${a}`);
    log(`done in ${results.durationS} s: ${files.join(", ")}`);
    return 0;
  } finally {
    monitor.stop();
    await killAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

let exiting = false;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    if (exiting) return;
    exiting = true;
    log(`${sig}: stopping every process started here`);
    void killAll().finally(() => process.exit(130));
  });
}

try {
  process.exitCode = await main();
} catch (e) {
  log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
}
