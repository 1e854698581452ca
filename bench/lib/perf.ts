// What serving costs a thread: its system calls (perf counting, which does not
// slow the thread, and strace -c, which names them but stops the thread on
// every call), and where a process's CPU time goes (perf record: the top
// symbols, or every sample's call graph over a window).
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "../../test/lib/proc.ts";
import { run, spawn, stopChild } from "./proc.ts";
import { withTaskset } from "./servers.ts";
import { spread, type Spread } from "./stats.ts";
import { parseStrace, type StraceTable } from "../../test/lib/strace.ts";

export interface SyscallCount {
  tool: "perf" | "strace";
  calls: number;
  requests: number;
  perRequest: number;
  /** strace only: calls by name, most first. */
  byName: StraceTable["byName"];
  /** When measured more than once: calls per request of each run, and their spread. */
  runs?: number[];
  spread?: Spread;
}

/** Several counts of the same thread as one: totals, and the spread of the per-run ratios. */
export function combineCounts(counts: readonly SyscallCount[]): SyscallCount {
  const first = counts[0];
  if (!first) throw new Error("combineCounts: nothing to combine");
  const calls = counts.reduce((a, c) => a + c.calls, 0);
  const requests = counts.reduce((a, c) => a + c.requests, 0);
  const runs = counts.map((c) => c.perRequest);
  return { tool: first.tool, calls, requests, perRequest: calls / requests, byName: first.byName, runs, spread: spread(runs) };
}

let perfOk: boolean | undefined;

/** perf with the raw_syscalls tracepoint (needs root or perf_event_paranoid <= 1 and tracefs). */
export async function perfAvailable(): Promise<boolean> {
  if (perfOk === undefined) {
    const r = await run(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "--", "true"], 20_000).catch(() => undefined);
    perfOk = r !== undefined && r.code === 0 && /raw_syscalls:sys_enter/.test(r.stderr) && !/not supported|<not counted>/.test(r.stderr);
  }
  return perfOk;
}

/** Attaches a counter to one thread, runs load, detaches; returns calls per request. */
export async function countSyscalls(tool: "perf" | "strace", tid: number, tmp: string, load: () => Promise<number>): Promise<SyscallCount> {
  const out = join(tmp, `${tool}-${tid}-${Date.now()}.txt`);
  const cmd =
    tool === "perf"
      ? ["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-t", String(tid), "-o", out]
      : ["strace", "-c", "-p", String(tid), "-o", out];
  const tracer = spawn(tool, cmd);
  let requests: number;
  try {
    if (tool === "strace") {
      await waitFor("strace to attach", () => /attached/.test(tracer.stderr()) || tracer.proc.exitCode !== null, 10_000);
    } else {
      await Bun.sleep(300); // perf stat prints nothing when it has attached
    }
    if (tracer.proc.exitCode !== null) throw new Error(`${tool} exited ${tracer.proc.exitCode}: ${tracer.stderr()}`);
    requests = await load();
  } finally {
    await stopChild(tracer, "SIGINT", 10_000);
  }
  const text = readFileSync(out, "utf8");
  if (tool === "perf") {
    const line = text.split("\n").find((l) => l.includes("raw_syscalls:sys_enter"));
    const calls = Number(line?.split(",")[0]);
    if (!Number.isFinite(calls)) throw new Error(`perf stat: unexpected output: ${text}`);
    return { tool, calls, requests, perRequest: calls / requests, byName: [] };
  }
  const { total, byName } = parseStrace(text);
  return { tool, calls: total, requests, perRequest: total / requests, byName };
}

export interface ProfileLine {
  percent: number;
  comm: string;
  dso: string;
  symbol: string;
}

/** perf record (cpu-clock, no call graphs) of one process during load; top lines by share. */
export async function profile(pid: number, tmp: string, load: () => Promise<unknown>, limit = 12): Promise<ProfileLine[]> {
  const data = join(tmp, `perf-${pid}-${Date.now()}.data`);
  const rec = spawn("perf record", ["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999", "-p", String(pid), "-o", data]);
  try {
    await Bun.sleep(300);
    if (rec.proc.exitCode !== null) throw new Error(`perf record exited ${rec.proc.exitCode}: ${rec.stderr()}`);
    await load();
  } finally {
    await stopChild(rec, "SIGINT", 15_000);
  }
  const rep = await run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "comm,dso,sym", "--percent-limit", "1", "-q"], 60_000);
  if (rep.code !== 0) throw new Error(`perf report exited ${rep.code}: ${rep.stderr.slice(-500)}`);
  return parseProfile(rep.stdout).slice(0, limit);
}

export function parseProfile(text: string): ProfileLine[] {
  const out: ProfileLine[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*([\d.]+)%\s+(.+?)\s{2,}(\S+)\s+\[([.kug])\]\s+(.*)$/.exec(line);
    if (m) out.push({ percent: Number(m[1]), comm: m[2]!.trim(), dso: m[3]!, symbol: `[${m[4]}] ${m[5]!.trim()}` });
  }
  return out;
}

/** Wall-clock seconds, as perf's -k CLOCK_REALTIME stamps its samples. */
const realtimeS = (): number => (performance.timeOrigin + performance.now()) / 1000;

/**
 * perf record -g (cpu-clock, `hz` samples per CPU-second) on every thread of
 * `pids` while `during` runs: the threads that exist at the start, kernel
 * threads of the process such as io_uring's iou-sqp included, and the threads
 * they start. perf runs on `cpus` (the client's), attaches before `during`
 * starts, with a buffer (-m: 4 MiB a CPU) that holds seconds of samples if
 * perf falls behind, and only the samples taken while it ran are kept: `perf script`
 * (comm, tid, ip, sym, dso; one frame a line, leaf first) of that window.
 */
export async function callGraphs<T>(pids: readonly number[], tmp: string, hz: number, cpus: string | undefined, during: () => Promise<T>): Promise<{ value: T; script: string; lostChunks: number }> {
  const data = join(tmp, `perf-g-${pids[0]}-${Date.now()}.data`);
  const cmd = ["perf", "record", "-q", "-B", "-m", "1024", "-g", "-k", "CLOCK_REALTIME", "-e", "cpu-clock", "-F", String(hz), "-p", pids.join(","), "-o", data];
  const rec = spawn("perf record -g", withTaskset(cpus, cmd));
  let value: T;
  let window: string;
  try {
    await Bun.sleep(300); // perf record prints nothing once attached
    if (rec.proc.exitCode !== null) throw new Error(`perf record exited ${rec.proc.exitCode}: ${rec.stderr()}`);
    const from = realtimeS();
    value = await during();
    window = `${from.toFixed(6)},${realtimeS().toFixed(6)}`;
  } finally {
    await stopChild(rec, "SIGINT", 15_000);
  }
  try {
    const script = await run(["perf", "script", "-i", data, "-F", "comm,tid,ip,sym,dso", "--no-inline", "--time", window], 120_000);
    if (script.code !== 0) throw new Error(`perf script exited ${script.code}: ${script.stderr.slice(-500)}`);
    return { value, script: script.stdout, lostChunks: Number(/lost (\d+) chunks/.exec(script.stderr)?.[1] ?? 0) };
  } finally {
    rmSync(data, { force: true });
  }
}
