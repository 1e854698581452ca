#!/usr/bin/env bun
// `bun run bench [--quick] [--pinning NAME] [--only PHASES] [--out DIR]`:
// ringside against nginx and Bun.serve on this machine, in one run,
// interleaved, with ratios. Runs the phases of the registry (phases/index.ts)
// in order, or those of --only, then writes the report (.md, .json, .svg).
// Here only what the run as a whole needs: its own network namespace, the
// machine and the tree it measured, the noise monitor, and killing every
// process started, on the way out, error or not.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { DRAIN_TIMEOUT_MS, PINNINGS, SPIN_BUDGET_MS, SQ_IDLE_MS, pinningByName } from "./lib/config.ts";
import { LIMITS, log, type Ctx } from "./lib/ctx.ts";
import { machine } from "./lib/machine.ts";
import { Monitor, conntrack } from "./lib/monitor.ts";
import { inOwnNetns, netnsBlocker, rerunInOwnNetns } from "./lib/netns.ts";
import { killAll, run, runOk } from "./lib/proc.ts";
import { BENCH, ROOT } from "./lib/servers.ts";
import { PHASES, PHASE_NAMES } from "./phases/index.ts";
import type { AnyPhase, Results } from "./phases/phase.ts";
import { readResults, writeReport } from "./report/files.ts";

const USAGE = `usage: bun run bench [--quick] [--pinning ${PINNINGS.map((p) => p.name).join("|")}] [--only ${PHASE_NAMES.join(",")}] [--out DIR]
       bun run bench --render bench/results/DATE-HOST.json
  --quick     every phase at its quick size: 1 round, 1 s wrk runs, 64 connections, one connection mode,
              a few rows, small hyperfine/strace runs, no image build (< 2 min; CI)
  --pinning   skip the pinning trials and use this policy
  --only      run these phases alone, in their usual order (comma-separated: ${PHASE_NAMES.join(", ")});
              the phases that need a pinning use --pinning's, or unpinned, unless pinning is one of them
  --out DIR   where the report goes (default: bench/results; --quick and --only: a temp dir)
  --render    write the report again from a results .json (no measuring)`;

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

/** --render FILE.json: the report again from stored figures, next to them. */
function render(path: string): number {
  const results = readResults(path);
  const files = writeReport(results, dirname(path), basename(path, ".json"), !results.quick && !results.only);
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

/** A bad flag: one line and exit code 2, no stack. */
class UsageError extends Error {}

/** The phases to run: --only's, in registry order, or all. */
function selectPhases(only: string | undefined): readonly AnyPhase[] {
  if (only === undefined) return PHASES;
  const names = only.split(",").map((x) => x.trim()).filter(Boolean);
  const bad = names.filter((x) => !PHASE_NAMES.includes(x));
  if (bad.length || !names.length) throw new UsageError(`--only ${only}: want a comma-separated list of ${PHASE_NAMES.join(", ")}`);
  return PHASES.filter((p) => names.includes(p.name));
}

/** Logs each step with the time the one before took, and tells the noise monitor. */
function stepLogger(monitor: Monitor): (name: string) => void {
  let at = performance.now();
  return (name) => {
    log(`phase ${name} (previous took ${((performance.now() - at) / 1000).toFixed(1)} s)`);
    at = performance.now();
    monitor.enter(name);
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

interface RunOptions {
  quick: boolean;
  phases: readonly AnyPhase[];
  only?: string[];
  pinning?: string;
  outDir: string;
  latest: boolean;
}

/** Runs the phases in order; returns the files written. */
async function measureAndReport(ctx: Ctx, o: RunOptions): Promise<string[]> {
  const started = performance.now();
  const startedAt = new Date();
  await preflight();
  const treeAtStart = await treeState();
  const facts = await machine();
  log(`${facts.cores} CPUs (${facts.cpuModel}), kernel ${facts.kernel}, bun ${facts.versions.bun}; ${o.quick ? "quick" : "full"} run${o.only ? ` of ${o.only.join(", ")} only` : ""}, output in ${o.outDir}`);
  if (facts.cores < 2) ctx.anomalies.push(`only ${facts.cores} CPU: client and server always share it; pinning policies are moot`);
  ctx.monitor.start();
  const phases: Results["phases"] = {};
  for (const phase of o.phases) {
    ctx.enter(phase.name);
    const plan = phase.plan(o.quick);
    phases[phase.name] = { plan, result: await phase.run(ctx, plan) };
  }
  ctx.enter("report");
  const noise = ctx.monitor.stop();
  conntrackAnomaly(ctx);
  const treeAtEnd = await treeState();
  if (treeAtEnd !== treeAtStart) ctx.anomalies.push(`the server changed during the run: at start ${treeAtStart}; at end ${treeAtEnd}`);
  const results: Results = {
    schema: 2,
    quick: o.quick,
    startedAt: startedAt.toISOString(),
    durationS: Math.round((performance.now() - started) / 100) / 10,
    machine: facts,
    limits: ctx.limits,
    serverDefaults: { spinBudgetMs: SPIN_BUDGET_MS, sqIdleMs: SQ_IDLE_MS, drainTimeoutMs: DRAIN_TIMEOUT_MS },
    tree: { start: treeAtStart, end: treeAtEnd },
    ...(o.only ? { only: o.only } : {}),
    ...(o.pinning ? { pinning: o.pinning } : {}),
    phases,
    blocks: ctx.blocks,
    targets: [],
    anomalies: ctx.anomalies,
    noise,
  };
  mkdirSync(o.outDir, { recursive: true });
  const files = writeReport(results, o.outDir, `${startedAt.toISOString().slice(0, 10)}-${hostname()}`, o.latest);
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
  const phases = selectPhases(values.only);
  const forced = values.pinning !== undefined ? pinningByName(values.pinning) : undefined;
  if (!inOwnNetns() && !netnsBlocker()) return rerunInOwnNetns();
  const only = values.only !== undefined ? phases.map((p) => p.name) : undefined;
  const scratch = only ? "ringside-bench-only" : values.quick ? "ringside-bench-quick" : undefined;
  const outDir = values.out ?? (scratch ? join(tmpdir(), scratch) : join(BENCH, "results"));
  const tmp = mkdtempSync(join(tmpdir(), "ringside-bench-"));
  // Orphans (servers that coldstart.sh leaves for hyperfine's --prepare to kill)
  // carry this in their environment, so the noise monitor knows them as ours.
  process.env.RINGSIDE_BENCH_RUN = String(process.pid);
  const monitor = new Monitor(`RINGSIDE_BENCH_RUN=${process.pid}`);
  const ctx: Ctx = {
    limits: values.quick ? LIMITS.quick : LIMITS.full,
    tmp,
    anomalies: [],
    blocks: [],
    monitor,
    pin: forced ?? pinningByName("unpinned"),
    pinForced: forced !== undefined,
    enter: stepLogger(monitor),
  };
  try {
    // latest.svg is the full run's chart: a quick or partial run leaves it alone (unless sent elsewhere).
    const latest = !only && (!values.quick || values.out !== undefined);
    await measureAndReport(ctx, { quick: values.quick, phases, only, pinning: forced?.name, outDir, latest });
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
