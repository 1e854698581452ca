// Starting and stopping the servers under test: nginx, Bun.serve and ringside,
// each pinned as the policy says, each checked to serve the same canned body
// before anything is measured.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { BODY, isRing, keepsAlive, type Pinning, type RingMode, type Variant } from "./config.ts";
import { alive, children, findTask, parseStartup, readText, summaryCounters, waitFor, type Startup } from "../test/proc.ts";
import { spawn, stopChild, trackStray, untrackStray, type Child } from "./proc.ts";

export const BENCH = import.meta.dir;
export const ROOT = join(BENCH, "..");
export const CLI = join(ROOT, "src", "cli.ts");
export const PEER_BUN = join(BENCH, "peer-bun.ts");
export const NGINX = process.env.NGINX ?? "/usr/sbin/nginx";

export interface Server {
  variant: Variant;
  pid: number;
  port: number;
  /** The thread that serves requests: ringside-ring, the nginx worker, Bun's main thread. */
  servingTid: number;
  /** Process that owns servingTid (the nginx worker is its own process). */
  servingPid: number;
  /** ringside's SQPOLL kernel thread (iou-sqp-N), when there is one. */
  sqTid?: number;
  /** Every process whose CPU time is the server's (nginx: master and worker). */
  pids: number[];
  /** The startup line (ringside's: mode, features, kernel ...); nginx prints none. */
  startup?: Startup;
  stop: () => Promise<StopInfo>;
}

export interface StopInfo {
  code: number | null;
  /** ringside's summary counters (accepted=, requests=, ...). */
  counters: Record<string, number>;
  stderr: string;
}

export function withTaskset(cpus: string | undefined, cmd: string[]): string[] {
  return cpus === undefined ? cmd : ["taskset", "-c", cpus, ...cmd];
}

/** The ringside command line for a mode, connection mode and pinning. */
export function ringsideArgs(mode: RingMode, keepAlive: boolean, pin: Pinning, port: number, quiet = false): string[] {
  const args = ["bun", CLI, "--host", "127.0.0.1", "--port", String(port), "--mode", mode];
  if (keepAlive) args.push("--keep-alive");
  if (pin.ringCpu !== undefined) args.push("--cpu", String(pin.ringCpu));
  // Batch mode has no SQPOLL thread, and the CLI refuses --sq-cpu for it.
  if (pin.sqCpu !== undefined && mode !== "batch") args.push("--sq-cpu", String(pin.sqCpu));
  if (quiet) args.push("--quiet");
  return withTaskset(pin.ringsideCpus, args);
}

export function peerBunArgs(pin: Pinning, port: number): string[] {
  return withTaskset(pin.peerCpus, ["bun", PEER_BUN, "--port", String(port)]);
}

/** Renders bench/nginx.conf into dir for port; returns the command line. */
export function nginxArgs(pin: Pinning, dir: string, port: number): string[] {
  mkdirSync(dir, { recursive: true });
  const conf = readFileSync(join(BENCH, "nginx.conf"), "utf8").replaceAll("{{DIR}}", dir).replaceAll("{{PORT}}", String(port));
  writeFileSync(join(dir, "nginx.conf"), conf);
  return withTaskset(pin.peerCpus, [NGINX, "-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")]);
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

/** True when the response is a 200 with exactly the canned 17-byte body. */
export function isCanned(response: string): boolean {
  const split = response.indexOf("\r\n\r\n");
  if (split < 0 || !/^HTTP\/1\.[01] 200 /.test(response)) return false;
  const head = response.slice(0, split);
  const m = /^content-length:\s*(\d+)/im.exec(head);
  return m !== null && Number(m[1]) === BODY.length && response.slice(split + 4) === BODY && /^content-type:\s*text\/html/im.test(head);
}

async function waitServing(port: number, what: string, child: Child): Promise<void> {
  let last = "";
  await waitFor(
    `${what} to serve the canned response on port ${port}`,
    async () => {
      if (child.proc.exitCode !== null) throw new Error(`${what} exited ${child.proc.exitCode}: ${child.stderr().slice(-1000)}`);
      last = await probe(port, 500);
      return isCanned(last);
    },
    10_000,
    10,
  ).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; last response: ${JSON.stringify(last.slice(0, 300))}`);
  });
}

/** Waits for a child's startup line (ringside's, or peer-bun's), then for the canned response on its port. */
async function serving(what: string, child: Child): Promise<Startup> {
  const startup = await waitFor(`${what} startup line`, () => {
    if (child.proc.exitCode !== null) throw new Error(`${what} exited ${child.proc.exitCode}: ${child.stderr()}`);
    return parseStartup(child.stdout());
  });
  await waitServing(startup.port, what, child);
  return startup;
}

async function startRingside(v: Variant, mode: RingMode, pin: Pinning): Promise<Server> {
  const child = spawn(v.id, ringsideArgs(mode, keepsAlive(v.conn), pin, 0), { cwd: ROOT });
  const startup = await serving(`ringside ${v.id}`, child);
  const { port } = startup;
  const pid = child.proc.pid;
  const ring = await waitFor("ringside-ring thread", () => findTask(pid, "ringside-ring"));
  const sq = mode === "batch" ? undefined : findTask(pid, (c) => c.startsWith("iou-sqp"));
  return {
    variant: v,
    pid,
    port,
    servingTid: ring.tid,
    servingPid: pid,
    sqTid: sq?.tid,
    pids: [pid],
    startup,
    stop: async () => {
      const code = await stopChild(child, "SIGTERM");
      return { code, counters: summaryCounters(child.stdout()), stderr: child.stderr() };
    },
  };
}

async function startBun(v: Variant, pin: Pinning): Promise<Server> {
  const child = spawn(v.id, peerBunArgs(pin, 0), { cwd: ROOT });
  const startup = await serving("Bun.serve", child);
  const { port } = startup;
  const pid = child.proc.pid;
  return {
    variant: v,
    pid,
    port,
    servingTid: pid,
    servingPid: pid,
    pids: [pid],
    startup,
    stop: async () => ({ code: await stopChild(child, "SIGTERM"), counters: {}, stderr: child.stderr() }),
  };
}

async function startNginx(v: Variant, pin: Pinning, tmp: string): Promise<Server> {
  // nginx cannot report an ephemeral port: take a free one, retry on a lost race.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const dir = join(tmp, `nginx-${port}`);
    const child = spawn(v.id, nginxArgs(pin, dir, port), { cwd: dir });
    try {
      await waitServing(port, "nginx", child);
    } catch (e) {
      await stopChild(child, "SIGKILL");
      if (attempt < 3 && /Address already in use/.test(child.stderr() + readLog(dir))) continue;
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${readLog(dir)}`);
    }
    const master = child.proc.pid;
    const worker = await waitFor("nginx worker", () => children(master)[0]);
    trackStray(worker);
    return {
      variant: v,
      pid: master,
      port,
      servingTid: worker,
      servingPid: worker,
      pids: [master, worker],
      stop: async () => {
        const code = await stopChild(child, "SIGTERM");
        await waitFor("nginx worker exit", () => !alive(worker), 5_000).catch(() => process.kill(worker, "SIGKILL"));
        untrackStray(worker);
        return { code, counters: {}, stderr: child.stderr() + readLog(dir) };
      },
    };
  }
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

/** Starts a server, runs fn, and always stops it. */
export async function withServer<T>(v: Variant, pin: Pinning, tmp: string, fn: (s: Server) => Promise<T>): Promise<{ value: T; stop: StopInfo }> {
  const server = await startServer(v, pin, tmp);
  let value: T;
  try {
    value = await fn(server);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return { value, stop: await server.stop() };
}
