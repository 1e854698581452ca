// Starting and stopping the servers under test: nginx, Bun.serve and ringside,
// each pinned as the policy says (or wrapped in taskset and a cgroup quota by
// the phases that hold servers to a budget), each checked to serve the same
// body before anything is measured: the canned 17 bytes, or a body file's bytes
// (ringside --body-file, nginx's static file, Bun.serve's static route).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { basename, dirname, join } from "node:path";
import { BODY, isRing, keepsAlive, type Pinning, type RingMode, type Variant } from "./config.ts";
import { alive, children, findTask, isRingThread, isSqpollThread, parseStartup, readText, summaryCounters, tasks, waitFor, type Startup } from "../../test/lib/proc.ts";
import { spawn, stopChild, trackStray, untrackStray, type Child } from "./proc.ts";

/** bench/lib: the peers' programs and configuration live beside this file. */
export const LIB = import.meta.dir;
export const BENCH = join(LIB, "..");
export const ROOT = join(BENCH, "..");
export const CLI = join(ROOT, "src", "cli.ts");
/** What `bun run serve` runs: the CLI bundled (dist/ringside.js, built again when src/ is newer). */
export const ENTRY = join(ROOT, "src", "entry.ts");
export const PEER_BUN = join(LIB, "peer-bun.ts");
export const NGINX = process.env.NGINX ?? "/usr/sbin/nginx";

/** A server as started: its processes and threads, its port, how to stop it. */
export interface Running {
  pid: number;
  port: number;
  /** Every process whose CPU time is the server's (nginx: master and workers; Bun.serve: every process). */
  pids: number[];
  /** ringside: every ring thread (ringside-ring, ringside-ring-K) and SQPOLL thread (iou-sqp-N) of pid; empty for peers. */
  ringTids: number[];
  sqTids: number[];
  /** The startup line (ringside's: mode, rings, auto, features ...; peer-bun's: port); nginx prints none. */
  startup?: Startup;
  stop: () => Promise<StopInfo>;
}

/** A server of the wrk matrix and the cost phase: one ring, one worker, one process. */
export interface Server extends Running {
  variant: Variant;
  /** The thread that serves requests: ringside-ring, the nginx worker, Bun's main thread. */
  servingTid: number;
  /** Process that owns servingTid (the nginx worker is its own process). */
  servingPid: number;
  /** ringside's SQPOLL kernel thread (iou-sqp-N), when there is one. */
  sqTid?: number;
}

export interface StopInfo {
  code: number | null;
  /** ringside's summary counters (accepted=, requests=, ...). */
  counters: Record<string, number>;
  stderr: string;
}

/** What a command is started inside: taskset, a cgroup, both, or nothing. */
export type Wrap = (cmd: string[]) => string[];

export function withTaskset(cpus: string | undefined, cmd: string[]): string[] {
  return cpus === undefined ? cmd : ["taskset", "-c", cpus, ...cmd];
}

/** The ringside command line for a mode, connection mode and pinning. One ring:
 * the matrix compares it with one nginx worker and one Bun.serve process (batch
 * alone would take a ring per CPU). */
export function ringsideArgs(mode: RingMode, keepAlive: boolean, pin: Pinning, port: number, quiet = false): string[] {
  const args = ["bun", CLI, "--host", "127.0.0.1", "--port", String(port), "--mode", mode, "--rings", "1"];
  if (keepAlive) args.push("--keep-alive");
  if (pin.ringCpu !== undefined) args.push("--cpu", String(pin.ringCpu));
  // Batch mode has no SQPOLL thread, and the CLI refuses --sq-cpu for it.
  if (pin.sqCpu !== undefined && mode !== "batch") args.push("--sq-cpu", String(pin.sqCpu));
  if (quiet) args.push("--quiet");
  return withTaskset(pin.ringsideCpus, args);
}

export function peerBunArgs(pin: Pinning, port: number): string[] {
  return withTaskset(pin.peerCpus, peerBunCmd(port, false));
}

function peerBunCmd(port: number, reusePort: boolean, bodyFile?: string): string[] {
  return ["bun", PEER_BUN, "--port", String(port), ...(reusePort ? ["--reuse-port"] : []), ...(bodyFile ? ["--body-file", bodyFile] : [])];
}

/**
 * A response body of `bytes` bytes (the canned body repeated) as a file in dir/bodies,
 * which every server can read: nginx's workers run as nobody, so dir (the run's scratch
 * directory, 0700) becomes traversable by others, though not listable.
 */
export function bodyFile(dir: string, bytes: number): string {
  const path = join(dir, "bodies", `body-${bytes}`);
  mkdirSync(dirname(path), { recursive: true });
  chmodSync(dir, 0o711);
  chmodSync(dirname(path), 0o755);
  writeFileSync(path, BODY.repeat(Math.ceil(bytes / BODY.length)).slice(0, bytes), { mode: 0o644 });
  return path;
}

/** Renders bench/lib/nginx.conf into dir for port and workers, answering the canned
 * body or the body file (a static file, sent with sendfile); returns the command line (unwrapped). */
function nginxCmd(dir: string, port: number, workers: number, body?: string): string[] {
  mkdirSync(dir, { recursive: true });
  const answer = body ? `root ${dirname(body)}; try_files /${basename(body)} =404;` : `return 200 "${BODY.replace(/\n/g, "\\n")}";`;
  const conf = readFileSync(join(LIB, "nginx.conf"), "utf8")
    .replaceAll("{{DIR}}", dir)
    .replaceAll("{{PORT}}", String(port))
    .replaceAll("{{WORKERS}}", String(workers))
    .replaceAll("{{ANSWER}}", answer);
  writeFileSync(join(dir, "nginx.conf"), conf);
  return [NGINX, "-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")];
}

/** Renders bench/lib/nginx.conf (one worker) into dir for port; returns the command line. */
export function nginxArgs(pin: Pinning, dir: string, port: number): string[] {
  return withTaskset(pin.peerCpus, nginxCmd(dir, port, 1));
}

/** A port that was free a moment ago (for servers that cannot report port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** One HTTP/1.0 GET over raw TCP, read to EOF (every server closes a 1.0 request). */
export function probe(port: number, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const sock = connect({ host: "127.0.0.1", port });
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(Buffer.concat(parts).toString("latin1"));
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on("data", (d: Buffer) => parts.push(d));
    sock.on("end", finish);
    sock.on("error", finish);
    sock.on("connect", () => sock.write("GET / HTTP/1.0\r\nHost: bench\r\n\r\n"));
  });
}

/** True when the response (latin1) is a text/html 200 whose body is exactly `body`. */
export function serves(response: string, body: string): boolean {
  const split = response.indexOf("\r\n\r\n");
  if (split < 0 || !/^HTTP\/1\.[01] 200 /.test(response)) return false;
  const head = response.slice(0, split);
  const m = /^content-length:\s*(\d+)/im.exec(head);
  return m !== null && Number(m[1]) === body.length && response.slice(split + 4) === body && /^content-type:\s*text\/html/im.test(head);
}

/** True when the response is a 200 with exactly the canned 17-byte body. */
export const isCanned = (response: string): boolean => serves(response, BODY);

/** Waits until the server answers with the canned body, or with the body file's bytes. */
async function waitServing(port: number, what: string, child: Child, body?: string): Promise<void> {
  const want = body === undefined ? BODY : readFileSync(body, "latin1");
  let last = "";
  await waitFor(
    `${what} to serve ${body === undefined ? "the canned response" : basename(body)} on port ${port}`,
    async () => {
      if (child.proc.exitCode !== null) throw new Error(`${what} exited ${child.proc.exitCode}: ${child.stderr().slice(-1000)}`);
      last = await probe(port, 500);
      return serves(last, want);
    },
    10_000,
    10,
  ).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; last response: ${JSON.stringify(last.slice(0, 300))}`);
  });
}

/** Waits for a child's startup line (ringside's, or peer-bun's), then for its body on its port. */
async function serving(what: string, child: Child, body?: string): Promise<Startup> {
  const startup = await waitFor(`${what} startup line`, () => {
    if (child.proc.exitCode !== null) throw new Error(`${what} exited ${child.proc.exitCode}: ${child.stderr()}`);
    return parseStartup(child.stdout());
  });
  await waitServing(startup.port, what, child, body);
  return startup;
}

/** Starts ringside from a full command line (env: added to the harness's; body: the --body-file
 * it was given); waits until it serves and every ring thread it announced exists. */
export async function launchRingside(id: string, cmd: string[], env?: Record<string, string>, body?: string): Promise<Running> {
  const child = spawn(id, cmd, { cwd: ROOT, env });
  const stop = async (): Promise<StopInfo> => {
    const code = await stopChild(child, "SIGTERM");
    return { code, counters: summaryCounters(child.stdout()), stderr: child.stderr() };
  };
  try {
    const startup = await serving(`ringside ${id}`, child, body);
    const pid = child.proc.pid;
    const rings = Number(startup.fields.rings ?? 1);
    const ringTids = await waitFor(`${rings} ring thread(s)`, () => {
      const found = tasks(pid).filter((t) => isRingThread(t.comm));
      return found.length >= rings && found.map((t) => t.tid);
    });
    const sqTids = tasks(pid).filter((t) => isSqpollThread(t.comm)).map((t) => t.tid);
    return { pid, port: startup.port, pids: [pid], ringTids, sqTids, startup, stop };
  } catch (e) {
    await stopChild(child, "SIGKILL");
    throw e;
  }
}

async function startRingside(v: Variant, mode: RingMode, pin: Pinning): Promise<Server> {
  const r = await launchRingside(v.id, ringsideArgs(mode, keepsAlive(v.conn), pin, 0));
  // The matrix's figures are the one ring's: the thread is named ringside-ring exactly.
  const ring = findTask(r.pid, "ringside-ring");
  if (!ring) {
    await r.stop();
    throw new Error(`ringside ${v.id}: no thread named ringside-ring (one ring expected); startup: ${r.startup?.line}`);
  }
  return { ...r, variant: v, servingTid: ring.tid, servingPid: r.pid, sqTid: r.sqTids[0] };
}

/** One Bun.serve process, serving. */
async function bunProcess(id: string, cmd: string[], body?: string): Promise<{ child: Child; startup: Startup }> {
  const child = spawn(id, cmd, { cwd: ROOT });
  try {
    return { child, startup: await serving("Bun.serve", child, body) };
  } catch (e) {
    await stopChild(child, "SIGKILL");
    throw e;
  }
}

/** `processes` Bun.serve processes on one port: the first on port 0, the others
 * on the port it printed, all with reusePort when there are several; each serves
 * the canned body, or the body file from a static route. */
export async function launchBun(id: string, processes: number, wrap: Wrap, body?: string): Promise<Running> {
  const reuse = processes > 1;
  const started = [await bunProcess(`${id}#1`, wrap(peerBunCmd(0, reuse, body)), body)];
  // The peer installs no handler (a user's minimal server has none): ended by our SIGTERM is a clean stop.
  const stopOne = async (c: Child): Promise<number | null> => {
    const code = await stopChild(c, "SIGTERM");
    return c.proc.signalCode === "SIGTERM" ? 0 : code;
  };
  const stopAll = async (): Promise<number | null> => {
    const codes = await Promise.all(started.map((p) => stopOne(p.child)));
    return codes.find((c) => c !== 0) ?? codes[0] ?? null;
  };
  const port = started[0]!.startup.port;
  try {
    for (let i = 2; i <= processes; i++) started.push(await bunProcess(`${id}#${i}`, wrap(peerBunCmd(port, true, body)), body));
  } catch (e) {
    await stopAll();
    throw e;
  }
  const pids = started.map((p) => p.child.proc.pid);
  const stderr = (): string => started.map((p) => p.child.stderr()).join("");
  return { pid: pids[0]!, port, pids, ringTids: [], sqTids: [], startup: started[0]!.startup, stop: async () => ({ code: await stopAll(), counters: {}, stderr: stderr() }) };
}

async function startBun(v: Variant, pin: Pinning): Promise<Server> {
  const r = await launchBun(v.id, 1, (cmd) => withTaskset(pin.peerCpus, cmd));
  return { ...r, variant: v, servingTid: r.pid, servingPid: r.pid };
}

/** nginx with `workers` worker processes, answering the canned body or the body file;
 * its master first in pids. nginx cannot report an ephemeral port: take a free one,
 * retry on a lost race. */
export async function launchNginx(id: string, tmp: string, workers: number, wrap: Wrap, body?: string): Promise<Running> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const dir = join(tmp, `nginx-${port}`);
    const child = spawn(id, wrap(nginxCmd(dir, port, workers, body)), { cwd: dir });
    try {
      await waitServing(port, "nginx", child, body);
    } catch (e) {
      await stopChild(child, "SIGKILL");
      if (attempt < 3 && /Address already in use/.test(child.stderr() + readLog(dir))) continue;
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${readLog(dir)}`);
    }
    return nginxRunning(child, port, dir, workers);
  }
}

async function nginxRunning(child: Child, port: number, dir: string, workers: number): Promise<Running> {
  const master = child.proc.pid;
  const found = await waitFor(`${workers} nginx worker(s)`, () => {
    const c = children(master);
    return c.length >= workers && c;
  }).catch(async (e: unknown) => {
    await stopChild(child, "SIGKILL");
    throw e;
  });
  for (const w of found) trackStray(w);
  const stop = async (): Promise<StopInfo> => {
    const code = await stopChild(child, "SIGTERM");
    for (const w of found) {
      await waitFor("nginx worker exit", () => !alive(w), 5_000).catch(() => process.kill(w, "SIGKILL"));
      untrackStray(w);
    }
    return { code, counters: {}, stderr: child.stderr() + readLog(dir) };
  };
  return { pid: master, port, pids: [master, ...found], ringTids: [], sqTids: [], stop };
}

async function startNginx(v: Variant, pin: Pinning, tmp: string): Promise<Server> {
  const r = await launchNginx(v.id, tmp, 1, (cmd) => withTaskset(pin.peerCpus, cmd));
  const worker = r.pids[1]!;
  return { ...r, variant: v, servingTid: worker, servingPid: worker };
}

function readLog(dir: string): string {
  return readText(join(dir, "error.log")) ?? "";
}

export function startServer(v: Variant, pin: Pinning, tmp: string): Promise<Server> {
  const s = v.server;
  if (isRing(s)) return startRingside(v, s, pin);
  if (s === "bun") return startBun(v, pin);
  return startNginx(v, pin, tmp);
}
