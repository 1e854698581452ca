// hyperfine: cold start to the first 200 (coldstart.sh, beside this file, starts a server
// and polls it; the kill happens in --prepare/--cleanup, outside the timing),
// the wall time of a fixed batch of sequential requests (ab -c 1), and short
// commands (ringside --version and --check) in rounds.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type ConnMode, type Pinning, type ServerName, isRing } from "./config.ts";
import { readText } from "../../test/lib/proc.ts";
import { runOk, trackStray, untrackStray } from "./proc.ts";
import { LIB, freePort, nginxArgs, peerBunArgs, ringsideArgs, withTaskset } from "./servers.ts";
import { spread, type Spread } from "./stats.ts";
import { abArgs, parseAb } from "./wrk.ts";

export interface Timing {
  name: string;
  command: string;
  /** Seconds. */
  seconds: Spread;
  meanS: number;
  stddevS: number;
  runs: number[];
}

interface HyperfineJson {
  results: Array<{ command: string; mean: number; stddev: number | null; median: number; min: number; max: number; times: number[]; exit_codes: number[] }>;
}

function readHyperfine(path: string): Timing[] {
  const json = JSON.parse(readFileSync(path, "utf8")) as HyperfineJson;
  return json.results.map((r) => ({
    name: r.command,
    command: r.command,
    seconds: spread(r.times),
    meanS: r.mean,
    stddevS: r.stddev ?? 0,
    runs: r.times,
  }));
}

/** Hyperfine's -N splits on whitespace (with shell-style quoting); our arguments have no spaces. */
function cmdline(args: string[]): string {
  for (const a of args) if (/\s|["'\\]/.test(a)) throw new Error(`hyperfine -N: argument needs quoting: ${a}`);
  return args.join(" ");
}

/**
 * Cold start of each server, interleaved: `rounds` hyperfine invocations, each
 * timing every server `runsPerRound` times in turn, so that a burst of other
 * work on the machine lands on all servers alike. Runs are pooled per server.
 */
export async function coldStart(servers: readonly ServerName[], pin: Pinning, tmp: string, rounds: number, runsPerRound: number, warmup: number, timeoutMs: number): Promise<Timing[]> {
  const script = join(LIB, "coldstart.sh");
  const pidfile = join(tmp, "coldstart.pid");
  const kill = cmdline(["bash", script, "--kill", pidfile]);
  const commands: string[] = [];
  for (const s of servers) {
    const port = await freePort();
    const server = isRing(s)
      ? ringsideArgs(s, false, pin, port, true)
      : s === "bun"
        ? peerBunArgs(pin, port)
        : nginxArgs(pin, join(tmp, `nginx-cold-${port}`), port);
    commands.push(cmdline(["bash", script, String(port), pidfile, ...server]));
  }
  const pooled = new Map<string, number[]>(servers.map((s) => [s, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      const out = join(tmp, `coldstart-${round}.json`);
      const args = ["hyperfine", "-N", "--style", "basic", "--warmup", String(warmup), "--runs", String(runsPerRound), "--prepare", kill, "--cleanup", kill];
      servers.forEach((s, i) => args.push("-n", s, commands[i]!));
      args.push("--export-json", out);
      await runOk(args, timeoutMs);
      readHyperfine(out).forEach((t, i) => pooled.get(servers[i]!)!.push(...t.runs));
    }
  } finally {
    // hyperfine's --cleanup already ran; this covers an interrupted run.
    const pid = Number((readText(pidfile) ?? "").trim());
    if (pid) {
      trackStray(pid);
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
      untrackStray(pid);
    }
  }
  return servers.map((s, i) => pooledTiming(s, commands[i]!, pooled.get(s)!));
}

/** A Timing from runs pooled over several hyperfine invocations. */
function pooledTiming(name: string, command: string, runs: number[]): Timing {
  const mean = runs.reduce((a, x) => a + x, 0) / runs.length;
  const sd = Math.sqrt(runs.reduce((a, x) => a + (x - mean) ** 2, 0) / Math.max(1, runs.length - 1));
  return { name, command, seconds: spread(runs), meanS: mean, stddevS: sd, runs };
}

/** A command for hyperfine -N, with what it adds to the harness's environment, and how the report shows it. */
export interface TimedCommand {
  name: string;
  args: string[];
  env?: Record<string, string>;
  display: string;
}

/** Commands that share an environment share a hyperfine invocation (hyperfine has one environment). */
function byEnv(cmds: readonly TimedCommand[]): TimedCommand[][] {
  const groups = new Map<string, TimedCommand[]>();
  for (const c of cmds) {
    const key = JSON.stringify(c.env ?? {});
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()];
}

/**
 * Short commands timed with hyperfine -N: `rounds` invocations per environment,
 * `runs` runs of each command in each (after `warmup`), pooled per command, so
 * that a burst of other work lands on every command alike.
 */
export async function timeCommands(cmds: readonly TimedCommand[], rounds: number, runs: number, warmup: number, tmp: string, timeoutMs: number): Promise<Timing[]> {
  const pooled = new Map<string, number[]>(cmds.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [i, group] of byEnv(cmds).entries()) {
      const out = join(tmp, `commands-${round}-${i}.json`);
      const args = ["hyperfine", "-N", "--style", "basic", "--warmup", String(warmup), "--runs", String(runs)];
      for (const c of group) args.push("-n", c.name, cmdline(c.args));
      args.push("--export-json", out);
      await runOk(args, timeoutMs, { env: group[0]!.env });
      readHyperfine(out).forEach((t, j) => pooled.get(group[j]!.name)!.push(...t.runs));
    }
  }
  return cmds.map((c) => pooledTiming(c.name, c.display, pooled.get(c.name)!));
}

export interface BatchValidation {
  client: string;
  requests: number;
  /** Responses that were a 200 with the canned body (ab: complete - failed - non-2xx). */
  ok: number;
  /** TCP connections the client opened (curl only; ab -c 1 opens one per request). */
  connects?: number;
}

/**
 * The sequential client: close mode `ab -n N -c 1` (HTTP/1.0, a connection per
 * request); keep-alive `curl` over one HTTP/1.1 connection with a URL glob
 * (`ab -k` speaks HTTP/1.0 keep-alive, which Bun.serve answers and then closes,
 * so it would measure Bun reconnecting).
 */
function batchArgs(port: number, conn: ConnMode, requests: number): string[] {
  return conn === "close" ? abArgs(port, requests, 1, conn) : ["curl", "-s", `http://127.0.0.1:${port}/?n=[1-${requests}]`];
}

/** One untimed pass of the batch client that checks every response. */
export async function validateBatch(port: number, conn: ConnMode, requests: number, clientCpus: string | undefined, timeoutMs: number): Promise<BatchValidation> {
  if (conn === "close") {
    const r = await runOk(withTaskset(clientCpus, abArgs(port, requests, 1, conn)), timeoutMs);
    const ab = parseAb(r.stdout);
    return { client: "ab", requests, ok: ab.complete - ab.failed - ab.non2xx };
  }
  const args = [...batchArgs(port, conn, requests)];
  args.splice(2, 0, "-w", "%{http_code} %{num_connects}\n");
  const r = await runOk(withTaskset(clientCpus, args), timeoutMs);
  const bodies = r.stdout.split("\n").filter((l) => l === "Have a nice day!").length;
  let ok = 0;
  let connects = 0;
  for (const m of r.stdout.matchAll(/^(\d{3}) (\d+)$/gm)) {
    if (m[1] === "200") ok++;
    connects += Number(m[2]);
  }
  return { client: "curl", requests, ok: Math.min(ok, bodies), connects };
}

/** Wall time for `requests` sequential requests against a running server. */
export async function batch(name: string, port: number, conn: ConnMode, requests: number, runs: number, clientCpus: string | undefined, tmp: string, timeoutMs: number): Promise<Timing & { client: string }> {
  const out = join(tmp, `batch-${port}-${conn}.json`);
  const args = withTaskset(clientCpus, batchArgs(port, conn, requests));
  await runOk(["hyperfine", "-N", "--style", "basic", "--warmup", "0", "--runs", String(runs), "-n", name, cmdline(args), "--export-json", out], timeoutMs);
  const [t] = readHyperfine(out);
  if (!t) throw new Error(`hyperfine wrote no result to ${out}`);
  return { ...t, name, client: args.join(" ") };
}
