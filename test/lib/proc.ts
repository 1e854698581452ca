// Process and /proc helpers shared by test/ and bench/ (bench imports
// ../test/lib/proc.ts): waiting with a deadline, spawning with captured output,
// what /proc says about a process and its threads, and parsers for the lines
// ringside prints (startup, stats, summary). Nothing here asserts: tests
// assert, bench reports.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

// ---------------------------------------------------------------- waiting

type Maybe<T> = T | undefined | false;

/** Polls fn until it returns something truthy; throws once timeoutMs has passed. */
export async function waitFor<T>(what: string, fn: () => Maybe<T> | Promise<Maybe<T>>, timeoutMs = 10_000, everyMs = 5): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(everyMs);
  }
}

/** The promise's value, or an error if it has not settled within timeoutMs. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- spawning

export type Piped = Bun.Subprocess<"ignore", "pipe", "pipe">;

/** A child whose stdout and stderr are read as they come. */
export interface Captured {
  proc: Piped;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code once the process exited and both pipes were read to the end. */
  done: Promise<number | null>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
}

async function collect(stream: ReadableStream<Uint8Array>, into: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) into.text += decoder.decode(chunk, { stream: true });
}

/** Captured children still running, for killStrays. */
const running = new Set<Piped>();

/** SIGKILLs every captured child still running: bun test calls it when the
 * run ends (test/setup.ts), so a test that fails before disposing of its
 * server, or leaves a sibling's mid-way, leaves none behind. */
export function killStrays(): void {
  for (const p of running) if (p.exitCode === null) p.kill("SIGKILL");
}

export function spawnCaptured(cmd: string[], opts: SpawnOptions = {}): Captured {
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  const out = { text: "" };
  const err = { text: "" };
  const done = Promise.all([collect(proc.stdout, out), collect(proc.stderr, err), proc.exited]).then(([, , code]) => code);
  return { proc, stdout: () => out.text, stderr: () => err.text, done };
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** CPU time the process used, in seconds (user + system). */
  cpuS: number;
  wallS: number;
}

/** Waits for a captured child to end, SIGKILLing it after timeoutMs. */
export async function finish(child: Captured, timeoutMs: number): Promise<Finished> {
  const started = performance.now();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.proc.kill("SIGKILL");
  }, timeoutMs);
  try {
    const code = await child.done;
    const usage = child.proc.resourceUsage();
    const cpuS = usage ? Number(usage.cpuTime.total) / 1e6 : 0;
    return { code, stdout: child.stdout(), stderr: child.stderr(), timedOut, cpuS, wallS: (performance.now() - started) / 1000 };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command to completion (killed after timeoutMs). */
export function runToEnd(cmd: string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<Finished> {
  return finish(spawnCaptured(cmd, opts), opts.timeoutMs ?? 60_000);
}

// ---------------------------------------------------------------- /proc

const CLK_TCK = 100; // USER_HZ: fixed at 100 on Linux for /proc/*/stat.

/** A file's text, or undefined when it cannot be read (a process or thread gone meanwhile). */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

const procPath = (pid: number | "self", tid: number | undefined, file: string): string =>
  tid === undefined ? `/proc/${pid}/${file}` : `/proc/${pid}/task/${tid}/${file}`;

export interface Stat {
  /** R, S, D, Z ... */
  state: string;
  ppid: number;
  /** utime + stime, seconds: of the whole process (dead threads included) or of one thread. */
  cpuS: number;
}

/** /proc/PID[/task/TID]/stat, or undefined when the process is gone. */
export function procStat(pid: number, tid?: number): Stat | undefined {
  const text = readText(procPath(pid, tid, "stat"));
  if (text === undefined) return undefined;
  // After "pid (comm) " (comm may hold spaces and parentheses): field 3 (state) is index 0.
  const f = text.slice(text.lastIndexOf(")") + 2).trim().split(" ");
  return { state: f[0] ?? "?", ppid: Number(f[1]), cpuS: (Number(f[11]) + Number(f[12])) / CLK_TCK };
}

/** utime + stime in seconds, of a process or one of its threads; 0 when gone. */
export function cpuSeconds(pid: number, tid?: number): number {
  return procStat(pid, tid)?.cpuS ?? 0;
}

/** Time a thread spent on CPU, in seconds, with nanosecond resolution (schedstat); 0 when gone. */
export function runSeconds(pid: number, tid: number): number {
  const text = readText(`/proc/${pid}/task/${tid}/schedstat`);
  return text === undefined ? 0 : Number(text.split(" ")[0]) / 1e9;
}

export function alive(pid: number): boolean {
  const s = procStat(pid);
  return s !== undefined && s.state !== "Z";
}

export interface Task {
  tid: number;
  comm: string;
}

/** The threads of a process with their names; empty when it is gone. */
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

/** ringside's ring threads: `ringside-ring` (one ring), `ringside-ring-K`, `ringside-r-K` from K = 10. */
export function isRingThread(comm: string): boolean {
  return /^ringside-(ring(-\d+)?|r-\d+)$/.test(comm);
}

/** An io_uring SQPOLL kernel thread (iou-sqp-PID), one per ring in spin and sqpoll modes. */
export function isSqpollThread(comm: string): boolean {
  return comm.startsWith("iou-sqp");
}

/** The first thread whose name is `match` exactly, or satisfies it. */
export function findTask(pid: number, match: string | ((comm: string) => boolean)): Task | undefined {
  const ok = typeof match === "string" ? (comm: string) => comm === match : match;
  return tasks(pid).find((t) => ok(t.comm));
}

export function children(pid: number): number[] {
  const text = readText(`/proc/${pid}/task/${pid}/children`) ?? "";
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

/** A field of /proc/PID[/task/TID]/status as text, e.g. "Cpus_allowed_list". */
export function statusField(pid: number, field: string, tid?: number): string | undefined {
  const text = readText(procPath(pid, tid, "status"));
  const m = text === undefined ? null : new RegExp(`^${field}:\\s*(.*)$`, "m").exec(text);
  return m?.[1]?.trim();
}

/** A kB field of /proc/PID/status ("VmRSS", "VmHWM"); 0 when absent. */
export function kb(pid: number, field: string): number {
  return Number((statusField(pid, field) ?? "0").replace(/\s*kB$/, ""));
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** A soft resource limit from /proc/PID/limits ("Max open files"); Infinity when unlimited. */
export function softLimit(label: string, pid: number | "self" = "self"): number {
  const v = new RegExp(`^${label}\\s+(\\S+)`, "m").exec(readText(`/proc/${pid}/limits`) ?? "")?.[1];
  if (v === undefined) throw new Error(`no limit "${label}" for ${pid}`);
  return v === "unlimited" ? Number.POSITIVE_INFINITY : Number(v);
}

interface TcpSocket {
  localPort: number;
  /** The kernel's state code: "01" ESTABLISHED, "08" CLOSE_WAIT, "0A" LISTEN ... */
  state: string;
  inode: string;
}

/** Every TCP socket of this network namespace, IPv4 and IPv6. */
function tcpSockets(): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const table of ["tcp", "tcp6"]) {
    for (const line of (readText(`/proc/net/${table}`) ?? "").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      out.push({ localPort: parseInt(f[1]!.split(":")[1]!, 16), state: f[3]!, inode: f[9]! });
    }
  }
  return out;
}

/** The TCP port a process listens on (for servers that do not say, like --quiet ones). */
export function listeningPort(pid: number): number | undefined {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // the fd closed while we looked
    }
  }
  return tcpSockets().find((t) => t.state === "0A" && inodes.has(t.inode))?.localPort;
}

/** Connections the server side of `port` still holds open (established, or closed by the peer only). */
export function openConnections(port: number): number {
  return tcpSockets().filter((t) => t.localPort === port && (t.state === "01" || t.state === "08")).length;
}

// ---------------------------------------------------------------- ringside's lines

/** The startup line: `ringside: listening on http://HOST:PORT port=N mode=M features=a,b ...`
 * (or its --log-format json object). Also reads peer-bun's `listening on` line. */
export interface Startup {
  /** The line as printed. */
  line: string;
  url: string;
  host: string;
  port: number;
  /** "" when the line has none (peers). */
  mode: string;
  features: string[];
  /** Every key=value of the line, as text (admin, kernel, pid, degraded ...). */
  fields: Record<string, string>;
}

const LISTENING = /listening on (http:\/\/(\[[^\]]*\]|[^\s:"]+):(\d+))/;

function startupOf(line: string, url: RegExpExecArray, fields: Record<string, string>): Startup {
  const features = fields.features ?? "";
  return {
    line,
    url: url[1]!,
    host: url[2]!.replace(/^\[|\]$/g, ""),
    port: Number(fields.port ?? url[3]),
    mode: fields.mode ?? "",
    features: features ? features.split(",") : [],
    fields,
  };
}

function jsonStartup(line: string): Startup | undefined {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!o || typeof o !== "object") return undefined;
  const rec = o as Record<string, unknown>;
  const url = LISTENING.exec(String(rec.message ?? ""));
  if (rec.event !== "listening" || !url) return undefined;
  return startupOf(line, url, Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, String(v)])));
}

/** The key=value fields of a text line; a value with spaces is JSON-quoted (auto="2 CPUs, ..."). */
function lineFields(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    fields[m[1]!] = unquote(m[2]!);
  }
  return fields;
}

function unquote(v: string): string {
  if (!v.startsWith('"')) return v;
  try {
    return String(JSON.parse(v));
  } catch {
    return v; // an unbalanced quote: keep the text as printed
  }
}

/** The first startup line in a process's output, if it has printed one. */
export function parseStartup(output: string): Startup | undefined {
  for (const line of output.split("\n")) {
    if (line.startsWith("{")) {
      const s = jsonStartup(line);
      if (s) return s;
      continue;
    }
    const url = LISTENING.exec(line);
    if (url) return startupOf(line, url, lineFields(line));
  }
  return undefined;
}

/** The numeric key=value pairs of a line (`ringside: stopped accepted=3 ...`, wrk-quota.lua's WRK_RESULT). */
export function counters(line: string): Record<string, number> {
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)(?!\S)/g)].map((m) => [m[1]!, Number(m[2])]));
}

/** The server's counters, from the summary line it prints when it stops ({} before that). */
export function summaryCounters(stdout: string): Record<string, number> {
  return counters(stdout.split("\n").find((l) => l.startsWith("ringside: stopped")) ?? "");
}

/** Counters from the last `--stats-interval` line printed so far, if any. */
export function lastStats(stdout: string): Record<string, number> | undefined {
  const line = stdout.split("\n").findLast((l) => l.startsWith("ringside: stats "));
  return line === undefined ? undefined : counters(line);
}
