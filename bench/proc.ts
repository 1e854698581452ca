// Processes the harness starts, and what /proc says about them. Every child is
// tracked here so that killAll() (from run.ts's finally block and its signal
// handlers) leaves nothing behind, whatever happened in between.
import { existsSync, readdirSync, readFileSync } from "node:fs";

export type Proc = Bun.Subprocess<"ignore", "pipe", "pipe">;

export interface Child {
  name: string;
  proc: Proc;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when the process exited and both pipes were read to the end. */
  done: Promise<number | null>;
}

const live = new Set<Proc>();
/** Processes that are not our children (nginx workers, cold-start servers). */
const strays = new Set<number>();

async function collect(stream: ReadableStream<Uint8Array>, into: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) into.text += decoder.decode(chunk, { stream: true });
}

export function spawn(name: string, cmd: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Child {
  const proc = Bun.spawn(cmd, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
  });
  live.add(proc);
  const out = { text: "" };
  const err = { text: "" };
  const done = Promise.all([collect(proc.stdout, out), collect(proc.stderr, err), proc.exited]).then(([, , code]) => {
    live.delete(proc);
    return code;
  });
  return { name, proc, stdout: () => out.text, stderr: () => err.text, done };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** CPU time the process used, in seconds (user + system). */
  cpuS: number;
  wallS: number;
}

/** Runs a command to completion, killing it after timeoutMs. */
export async function run(cmd: string[], timeoutMs: number, opts: { cwd?: string } = {}): Promise<RunResult> {
  const started = performance.now();
  const child = spawn(cmd[0] ?? "?", cmd, opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.proc.kill("SIGKILL");
  }, timeoutMs);
  try {
    const code = await child.done;
    const usage = child.proc.resourceUsage();
    return {
      code,
      stdout: child.stdout(),
      stderr: child.stderr(),
      timedOut,
      cpuS: usage ? Number(usage.cpuTime.total) / 1e6 : 0,
      wallS: (performance.now() - started) / 1000,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Like run(), but a non-zero exit or a timeout is an error that shows the output. */
export async function runOk(cmd: string[], timeoutMs: number, opts: { cwd?: string } = {}): Promise<RunResult> {
  const r = await run(cmd, timeoutMs, opts);
  if (r.code !== 0 || r.timedOut) {
    const why = r.timedOut ? `timed out after ${timeoutMs} ms` : `exited ${r.code}`;
    throw new Error(`${cmd.join(" ")}: ${why}\n${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  }
  return r;
}

/** Sends a signal and waits up to graceMs for the exit, then SIGKILLs. */
export async function stopChild(child: Child, signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<number | null> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill(signal);
  const timer = setTimeout(() => child.proc.kill("SIGKILL"), graceMs);
  try {
    return await child.done;
  } finally {
    clearTimeout(timer);
  }
}

export function trackStray(pid: number): void {
  strays.add(pid);
}

export function untrackStray(pid: number): void {
  strays.delete(pid);
}

/** Kills everything the harness started that may still run. */
export async function killAll(): Promise<void> {
  for (const pid of strays) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  strays.clear();
  const waits: Array<Promise<unknown>> = [];
  for (const proc of live) {
    proc.kill("SIGKILL");
    waits.push(proc.exited);
  }
  let timer: Timer | undefined;
  await Promise.race([Promise.all(waits), new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)))]);
  clearTimeout(timer);
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 5): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}

// ---------------------------------------------------------------- /proc

const CLK_TCK = 100; // USER_HZ: fixed at 100 on Linux for /proc/*/stat.

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Fields of a stat line after "pid (comm)", so that field 3 (state) is index 0. */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(")") + 2).trim().split(" ");
}

/** utime + stime in seconds, of a process (all threads, dead ones included) or one task. */
export function cpuSeconds(pid: number, tid?: number): number {
  const text = readText(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`);
  if (text === undefined) return 0;
  const f = statFields(text);
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15
}

/** Time a task spent on CPU, in seconds, with nanosecond resolution (schedstat). */
export function runSeconds(pid: number, tid: number): number {
  const text = readText(`/proc/${pid}/task/${tid}/schedstat`);
  return text === undefined ? 0 : Number(text.split(" ")[0]) / 1e9;
}

export interface Task {
  tid: number;
  comm: string;
}

export function tasks(pid: number): Task[] {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: Task[] = [];
  for (const name of names) {
    const comm = readText(`/proc/${pid}/task/${name}/comm`);
    if (comm !== undefined) out.push({ tid: Number(name), comm: comm.trim() });
  }
  return out;
}

export function findTask(pid: number, match: (comm: string) => boolean): Task | undefined {
  return tasks(pid).find((t) => match(t.comm));
}

export function children(pid: number): number[] {
  const text = readText(`/proc/${pid}/task/${pid}/children`) ?? "";
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

/** A field of /proc/PID[/task/TID]/status, e.g. "VmHWM" (kB, as a number) or "Cpus_allowed_list". */
export function statusField(pid: number, field: string, tid?: number): string | undefined {
  const text = readText(tid === undefined ? `/proc/${pid}/status` : `/proc/${pid}/task/${tid}/status`);
  const m = text === undefined ? null : new RegExp(`^${field}:\\s*(.*)$`, "m").exec(text);
  return m?.[1]?.trim();
}

export function kb(pid: number, field: string): number {
  return Number((statusField(pid, field) ?? "0").replace(/\s*kB$/, ""));
}

export function alive(pid: number): boolean {
  const text = readText(`/proc/${pid}/stat`);
  return text !== undefined && statFields(text)[0] !== "Z";
}

export function exists(path: string): boolean {
  return existsSync(path);
}
