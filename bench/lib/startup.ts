// Cold start to the first 200 as a client sees it: the harness spawns the
// server and, from that moment, tries a TCP connect + `GET / HTTP/1.0` every
// millisecond until a 200 arrives. Unlike bench/coldstart.sh under hyperfine,
// no shell starts first and nothing is pinned: the clock runs from the spawn.
// The command lines of the startup and footprint phase's four servers are here.
import { connect } from "node:net";
import { join } from "node:path";
import { alive, children, waitFor } from "../../test/lib/proc.ts";
import { pinningByName } from "./config.ts";
import { runOk, spawn, stopChild, trackStray, untrackStray, type Child } from "./proc.ts";
import { CLI, ENTRY, PEER_BUN, ROOT, freePort, nginxArgs } from "./servers.ts";

/** The servers of the startup and footprint phase: ringside as a user runs it and as its image does. */
export type StartupKey = "bun" | "nginx" | "ringside" | "bundle";
export const STARTUP_KEYS: readonly StartupKey[] = ["bun", "nginx", "ringside", "bundle"];

export const STARTUP_LABELS: Record<StartupKey, string> = {
  bun: "Bun.serve",
  nginx: "nginx, 1 worker (reference)",
  ringside: "ringside as a user runs it (`bun run serve`: src/entry.ts, default mode)",
  bundle: "ringside as the image runs it (one bundled file)",
};


/** One timed cold start: spawn to the first 200, polled every millisecond. */
export interface ColdStartRun {
  /** The start's index; every server is started once per index, in turn. */
  run: number;
  key: StartupKey;
  ms: number;
  /** Connection attempts until the 200 (refused ones included). */
  attempts: number;
}

/** The app as the image holds it: one minified file, run with the prebuilt library and
 * no transpiler cache (the image's root is read-only), as the Dockerfile sets them. */
export interface Bundle {
  path: string;
  env: Record<string, string>;
}

const LIBRARY = join(ROOT, "native", "build", "libringside.so");

function bundleEnv(): Record<string, string> {
  return { RINGSIDE_LIB: LIBRARY, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" };
}

/** Bundles the app as the Dockerfile does. */
export async function buildBundle(tmp: string): Promise<Bundle> {
  const path = join(tmp, "ringside.js");
  await runOk(["bun", "build", CLI, "--target", "bun", "--minify", "--outfile", path], 60_000, { cwd: ROOT });
  return { path, env: bundleEnv() };
}

const UNPINNED = pinningByName("unpinned");

/** A server's command line on a given port, with no flag but host and port. */
function startupCmd(key: StartupKey, port: number, tmp: string, bundle: Bundle): string[] {
  const p = String(port);
  if (key === "bun") return ["bun", PEER_BUN, "--port", p];
  if (key === "nginx") return nginxArgs(UNPINNED, join(tmp, `nginx-start-${port}`), port);
  return ["bun", key === "bundle" ? bundle.path : ENTRY, "--host", "127.0.0.1", "--port", p];
}

/** The environment a server runs in, besides the harness's. */
export function startupEnv(key: StartupKey, bundle: Bundle): Record<string, string> | undefined {
  return key === "bundle" ? bundle.env : undefined;
}

/** How the report shows each server's command. */
export function startupCommands(bundle: Bundle): Record<StartupKey, string> {
  const env = Object.entries(bundle.env).map(([k, v]) => `${k}=${v.replace(`${ROOT}/`, "")}`).join(" ");
  return {
    bun: "bun bench/lib/peer-bun.ts --port P",
    nginx: "nginx -p DIR -c DIR/nginx.conf -e DIR/error.log",
    ringside: "bun src/entry.ts --host 127.0.0.1 --port P",
    bundle: `${env} bun ringside.js --host 127.0.0.1 --port P`,
  };
}

const REQUEST = "GET / HTTP/1.0\r\nHost: bench\r\n\r\n";
const OK = /^HTTP\/1\.[01] 200 /;

/** One attempt: the response's status line, or "" when the connection is refused, reset or silent for timeoutMs. */
function statusLine(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    let settled = false;
    const sock = connect({ host: "127.0.0.1", port });
    const done = (line: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => done(""), timeoutMs);
    sock.on("connect", () => sock.write(REQUEST));
    sock.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      const eol = text.indexOf("\r\n");
      if (eol >= 0) done(text.slice(0, eol));
    });
    sock.on("error", () => done(""));
    sock.on("close", () => done(""));
  });
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone meanwhile
  }
}

/** SIGTERM to a started server and its children (nginx's worker); waits until all are gone. */
async function stopTree(child: Child): Promise<void> {
  const kids = children(child.proc.pid);
  for (const k of kids) trackStray(k);
  await stopChild(child, "SIGTERM", 5_000);
  await waitFor("the server's children to exit", () => kids.every((k) => !alive(k)), 5_000).catch(() => kids.forEach(kill));
  for (const k of kids) untrackStray(k);
}

/** Spawns cmd and polls its port every millisecond; the time from the spawn to the first 200. Stops the server after. */
async function timedStart(key: StartupKey, cmd: string[], env: Record<string, string> | undefined, port: number, timeoutMs: number): Promise<{ ms: number; attempts: number }> {
  const t0 = performance.now();
  const child = spawn(`start/${key}`, cmd, { cwd: ROOT, env });
  try {
    for (let attempts = 1; ; attempts++) {
      if (OK.test(await statusLine(port, 1_000))) return { ms: performance.now() - t0, attempts };
      if (child.proc.exitCode !== null) throw new Error(`${key} exited ${child.proc.exitCode} before serving: ${child.stderr().slice(-500)}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`${key}: no 200 on port ${port} within ${timeoutMs} ms`);
      await Bun.sleep(1);
    }
  } finally {
    await stopTree(child);
  }
}

/** The servers in a different order every run, so that none always follows the same one. */
export const rotated = <T>(xs: readonly T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length]!);

/** `starts` timed cold starts of every server, in turn, after one untimed start each (page cache). */
export async function coldStarts(tmp: string, bundle: Bundle, starts: number, timeoutMs: number): Promise<ColdStartRun[]> {
  const out: ColdStartRun[] = [];
  for (let run = -1; run < starts; run++) {
    for (const key of rotated(STARTUP_KEYS, run + 1)) {
      const port = await freePort();
      const t = await timedStart(key, startupCmd(key, port, tmp, bundle), startupEnv(key, bundle), port, timeoutMs);
      if (run >= 0) out.push({ run, key, ...t });
    }
  }
  return out;
}
