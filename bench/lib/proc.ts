// Processes the harness starts. Every child is tracked here so that killAll()
// (from run.ts's finally block and its signal handlers) leaves nothing behind,
// whatever happened in between. Spawning with captured output, waiting and
// what /proc says about a process come from ../test/proc.ts.
import { finish, spawnCaptured, type Captured, type Finished, type Piped, type SpawnOptions } from "../../test/lib/proc.ts";

export interface Child extends Captured {
  name: string;
}

const live = new Set<Piped>();
/** Processes that are not our children (nginx workers, cold-start servers). */
const strays = new Set<number>();
/** Cleanups killAll runs once the processes are gone (cgroups they were in). */
const undos = new Set<() => void>();

export function spawn(name: string, cmd: string[], opts: SpawnOptions = {}): Child {
  const child = spawnCaptured(cmd, opts);
  live.add(child.proc);
  const done = child.done.finally(() => live.delete(child.proc));
  return { ...child, name, done };
}

/** Runs a command to completion, killing it after timeoutMs. */
export function run(cmd: string[], timeoutMs: number, opts: SpawnOptions = {}): Promise<Finished> {
  return finish(spawn(cmd[0] ?? "?", cmd, opts), timeoutMs);
}

/** Like run(), but a non-zero exit or a timeout is an error that shows the output. */
export async function runOk(cmd: string[], timeoutMs: number, opts: SpawnOptions = {}): Promise<Finished> {
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

/** Undoes, after killAll's kills, what a phase set up around its processes (a cgroup); returns a function that forgets it. */
export function atKillAll(undo: () => void): () => void {
  undos.add(undo);
  return () => undos.delete(undo);
}

function runUndos(): void {
  for (const undo of undos) {
    try {
      undo();
    } catch {
      // best effort on the way out
    }
  }
  undos.clear();
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
  runUndos();
}
