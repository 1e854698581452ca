#!/usr/bin/env bun
// `bun run bench [--quick] [--pinning NAME] [--only PHASES] [--out DIR]`:
// ringside against nginx and Bun.serve on this machine, in one run,
// interleaved, with ratios. Phases: pinning trials -> wrk matrix (rounds x
// servers x connection counts) -> rings (1 and 2 rings, workers, processes)
// -> quota (every server held to half a CPU) -> budget (the default against
// --mode batch under three CPU budgets) -> hyperfine cold start -> startup and
// footprint (cold start polled from the spawn, --version and --check, RSS,
// image size) -> per-request cost (perf/strace syscalls, profile, sequential
// batch, idle CPU, peak RSS, idle keep-alive RSS, stop under load) -> report
// (.md, .json, .svg).
// Every process started here is killed on the way out, error or not.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { DRAIN_TIMEOUT_MS, FULL, PINNINGS, QUICK, SPIN_BUDGET_MS, SQ_IDLE_MS, pinningByName, type Pinning } from "./config.ts";
import { budgetPhase } from "./budget-phase.ts";
import { costPhase } from "./cost-phase.ts";
import { footprintPhase } from "./footprint-phase.ts";
import { coldStart } from "./hyperfine.ts";
import { imageSize } from "./image.ts";
import { machine, type Machine } from "./machine.ts";
import { log, type Ctx } from "./measure.ts";
import { Monitor, conntrack } from "./monitor.ts";
import { inOwnNetns, netnsBlocker, rerunInOwnNetns } from "./netns.ts";
import { loadPhase, pinningPhase } from "./phases.ts";
import { killAll, run, runOk } from "./proc.ts";
import { quotaPhase } from "./quota-phase.ts";
import { derive, renderSvg } from "./report.ts";
import { renderMarkdown } from "./markdown.ts";
import { ringsPhase } from "./rings-phase.ts";
import { delayPhase, routesPhase } from "./routes-phase.ts";
import { BENCH, ROOT } from "./servers.ts";
import type { FootprintResult, PhaseResult, Results } from "./types.ts";

/** The phases of rows side by side (sweep.ts). */
const SIDE_PHASES = { rings: ringsPhase, quota: quotaPhase, budget: budgetPhase, routes: routesPhase, delay: delayPhase } as const;
type SidePhase = keyof typeof SIDE_PHASES;
const SIDE_NAMES = Object.keys(SIDE_PHASES) as SidePhase[];
/** The phases --only can run alone: those, and startup and footprint. */
type OnlyPhase = SidePhase | "footprint";
const ONLY_NAMES: readonly OnlyPhase[] = [...SIDE_NAMES, "footprint"];
const isSide = (name: OnlyPhase): name is SidePhase => name !== "footprint";

const USAGE = `usage: bun run bench [--quick] [--pinning ${PINNINGS.map((p) => p.name).join("|")}] [--only ${ONLY_NAMES.join(",")}] [--out DIR]
       bun run bench --render bench/results/DATE-HOST.json
  --quick     1 round, 1 s wrk runs, 64 connections, small hyperfine/strace runs, one connection mode,
              a few rows in the rings, quota, budget, routes and delay phases, 3 cold starts and no
              image build in the footprint phase (< 90 s; CI)
  --pinning   skip the pinning trials and use this policy
  --only      run these phases alone (comma-separated: ${ONLY_NAMES.join(", ")}); no pinning trials,
              wrk matrix, hyperfine cold start or cost (the quota phase's per-CPU-second ratios need the matrix)
  --out DIR   where the report goes (default: bench/results; --quick and --only: a temp dir)
  --render    write the .md and .svg again from a results .json (no measuring)`;

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

interface Cli {
  quick: boolean;
  pinning?: string;
  only?: string;
  out?: string;
  render?: string;
  help: boolean;
}

function parseCli(): Cli {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      quick: { type: "boolean", default: false },
      pinning: { type: "string" },
      only: { type: "string" },
      out: { type: "string" },
      render: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  return values;
}

/** Logs each phase with the time the one before took, and tells the noise monitor. */
function phaseLogger(monitor: Monitor): (name: string) => void {
  let at = performance.now();
  return (name) => {
    log(`phase ${name} (previous took ${((performance.now() - at) / 1000).toFixed(1)} s)`);
    at = performance.now();
    monitor.enter(name);
  };
}

/** A bad flag: one line and exit code 2, no stack. */
class UsageError extends Error {}

/** --only's list, checked; undefined without --only. */
function parseOnly(text: string | undefined): OnlyPhase[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(",").map((x) => x.trim()).filter(Boolean);
  const bad = names.filter((x) => !(ONLY_NAMES as string[]).includes(x));
  if (bad.length || !names.length) throw new UsageError(`--only ${text}: want a comma-separated list of ${ONLY_NAMES.join(", ")}`);
  return ONLY_NAMES.filter((x) => names.includes(x));
}

type Measured = Pick<Results, "pinning" | "load" | "cold" | "cost" | "rings" | "quota" | "budget" | "routes" | "delay" | "footprint">;
type Sides = Partial<Record<SidePhase, PhaseResult>>;

const NOT_RUN: Results["pinning"] = { chosen: "none", summary: "not run (--only)", forced: true, trials: [], scores: {} };

/** The rings, quota, budget, routes and delay phases (those of `which`), in that order. */
async function sidePhases(ctx: Ctx, which: readonly SidePhase[], phase: (name: string) => void): Promise<Sides> {
  const out: Sides = {};
  for (const name of which) {
    const sizes = ctx.sizes[name];
    if (!sizes) continue;
    phase(name);
    out[name] = await SIDE_PHASES[name](ctx, sizes);
    if (out[name]?.skipped) log(`${name}: skipped ${out[name]?.skipped}`);
  }
  return out;
}

/** Startup and footprint, then the image's size (a phase of its own: a build's CPU is not the servers'). */
async function footprint(ctx: Ctx, phase: (name: string) => void): Promise<{ footprint?: FootprintResult }> {
  const sizes = ctx.sizes.footprint;
  if (!sizes) return {};
  phase("footprint");
  const measured = await footprintPhase(ctx, sizes);
  phase("image");
  const image = await imageSize(sizes.buildImage);
  log(`image ${image.tag}: ${image.bytes === undefined ? image.note : `${(image.bytes / 1e6).toFixed(1)} MB`}`);
  return { footprint: { ...measured, image } };
}

/** The --only phases, in their usual order. */
async function onlyPhases(ctx: Ctx, only: readonly OnlyPhase[], phase: (name: string) => void): Promise<Measured> {
  const sides = await sidePhases(ctx, only.filter(isSide), phase);
  return { pinning: NOT_RUN, load: [], cold: [], cost: [], ...sides, ...(only.includes("footprint") ? await footprint(ctx, phase) : {}) };
}

/** Every measuring phase in order; with `only`, those phases alone. */
async function measureAll(ctx: Ctx, forced: Pinning | undefined, phase: (name: string) => void, only?: readonly OnlyPhase[]): Promise<Measured> {
  if (only) return onlyPhases(ctx, only, phase);
  const { sizes } = ctx;
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
  const sides = await sidePhases(ctx, SIDE_NAMES, phase);
  phase("cold start");
  const cold = await coldStart(["nginx", "bun", "spin", "sqpoll", "batch"], pin, ctx.tmp, sizes.cold.rounds, sizes.cold.runs, sizes.cold.warmup, sizes.timeoutMs);
  log(`cold start (median ms): ${cold.map((c) => `${c.name}=${(c.seconds.median * 1000).toFixed(1)}`).join(" ")}`);
  const fp = await footprint(ctx, phase);
  phase("cost");
  const cost = await costPhase(ctx, pin);
  return { pinning, load, cold, cost, ...sides, ...fp };
}

function assemble(ctx: Ctx, m: Measured, facts: Machine, startedAt: Date, tree: Results["tree"], noise: Results["noise"]): Results {
  return {
    schema: 1,
    quick: ctx.sizes.quick,
    startedAt: startedAt.toISOString(),
    durationS: 0,
    machine: facts,
    sizes: ctx.sizes,
    serverDefaults: { spinBudgetMs: SPIN_BUDGET_MS, sqIdleMs: SQ_IDLE_MS, drainTimeoutMs: DRAIN_TIMEOUT_MS },
    tree,
    pinning: m.pinning,
    load: m.load,
    blocks: ctx.blocks,
    throughput: [],
    cold: m.cold,
    cost: m.cost,
    sqpollAccounting: null,
    targets: [],
    anomalies: ctx.anomalies,
    ...(m.rings ? { rings: m.rings } : {}),
    ...(m.quota ? { quota: m.quota } : {}),
    ...(m.budget ? { budget: m.budget } : {}),
    ...(m.routes ? { routes: m.routes } : {}),
    ...(m.delay ? { delay: m.delay } : {}),
    ...(m.footprint ? { footprint: m.footprint } : {}),
    noise,
  };
}

/** A full conntrack table drops new connections' packets: every close-mode figure and server start then waits on SYN retries. */
function conntrackAnomaly(ctx: Ctx): void {
  const phases = [...ctx.monitor.conntrackFull];
  if (!phases.length) return;
  const max = conntrack()?.max ?? "?";
  ctx.anomalies.push(
    `the kernel's conntrack table was full (>= 95% of nf_conntrack_max ${max}) during: ${phases.join(", ")}: packets of new connections were dropped (SYN retried after 1 s), ` +
      `so close-mode figures and connection set-up in those phases are not the servers' (closed connections stay tracked for nf_conntrack_tcp_timeout_time_wait)`,
  );
}

/** A full or quick run; returns the files written. */
async function measureAndReport(ctx: Ctx, forced: Pinning | undefined, only: OnlyPhase[] | undefined, outDir: string, latest: boolean): Promise<string[]> {
  const started = performance.now();
  const startedAt = new Date();
  await preflight();
  const treeAtStart = await treeState();
  const facts = await machine();
  log(`${facts.cores} CPUs (${facts.cpuModel}), kernel ${facts.kernel}, bun ${facts.versions.bun}; ${ctx.sizes.quick ? "quick" : "full"} run${only ? ` of ${only.join(", ")} only` : ""}, output in ${outDir}`);
  if (facts.cores < 2) ctx.anomalies.push(`only ${facts.cores} CPU: client and server always share it; pinning policies are moot`);
  ctx.monitor.start();
  const phase = phaseLogger(ctx.monitor);
  const measured = await measureAll(ctx, forced, phase, only);
  phase("report");
  const noise = ctx.monitor.stop();
  conntrackAnomaly(ctx);
  const treeAtEnd = await treeState();
  if (treeAtEnd !== treeAtStart) ctx.anomalies.push(`the server changed during the run: at start ${treeAtStart}; at end ${treeAtEnd}`);
  const results = assemble(ctx, measured, facts, startedAt, { start: treeAtStart, end: treeAtEnd }, noise);
  if (only) results.only = only;
  derive(results);
  results.durationS = Math.round((performance.now() - started) / 100) / 10;
  mkdirSync(outDir, { recursive: true });
  const files = writeReport(results, outDir, `${startedAt.toISOString().slice(0, 10)}-${hostname()}`, latest);
  for (const t of results.targets) log(`target ${t.met === null ? "n/a " : t.met ? "met " : "MISSED"} ${t.name}: ${t.got} (want ${t.want})`);
  for (const a of results.anomalies) log(`anomaly: ${a}`);
  log(`done in ${results.durationS} s: ${files.join(", ")}`);
  return files;
}

async function main(): Promise<number> {
  const values = parseCli();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.render !== undefined) return render(values.render);
  if (!inOwnNetns() && !netnsBlocker()) return rerunInOwnNetns();
  const sizes = values.quick ? QUICK : FULL;
  const forced = values.pinning !== undefined ? pinningByName(values.pinning) : undefined;
  const only = parseOnly(values.only);
  const scratch = only ? "ringside-bench-only" : sizes.quick ? "ringside-bench-quick" : undefined;
  const outDir = values.out ?? (scratch ? join(tmpdir(), scratch) : join(BENCH, "results"));
  const tmp = mkdtempSync(join(tmpdir(), "ringside-bench-"));
  // Orphans (servers that coldstart.sh leaves for hyperfine's --prepare to kill)
  // carry this in their environment, so the noise monitor knows them as ours.
  process.env.RINGSIDE_BENCH_RUN = String(process.pid);
  const monitor = new Monitor(`RINGSIDE_BENCH_RUN=${process.pid}`);
  const ctx: Ctx = { sizes, tmp, anomalies: [], blocks: [], monitor };
  try {
    // latest.svg is the matrix's chart: a run without the matrix leaves it alone.
    await measureAndReport(ctx, forced, only, outDir, !only && (!sizes.quick || values.out !== undefined));
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

/** Bad flags: parseArgs' own errors and ours. */
function isUsage(e: unknown): e is Error {
  return e instanceof UsageError || (e instanceof Error && String((e as NodeJS.ErrnoException).code ?? "").startsWith("ERR_PARSE_ARGS"));
}

try {
  process.exitCode = await main();
} catch (e) {
  if (isUsage(e)) {
    log(`${e.message} (see --help)`);
    process.exitCode = 2;
  } else {
    log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  }
}
