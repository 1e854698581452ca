// Runs the server for the CLI: start, startup line, stats, and on
// SIGINT/SIGTERM a bounded drain, a final summary and exit 0.
import { drawsPerRequest, type Config } from "../config/config.ts";
import { urlOf } from "../lib/address.ts";
import type { Fields, Log } from "../lib/log.ts";
import { nodeOs } from "../lib/node.ts";
import { readText } from "../lib/read-text.ts";
import type { Backend } from "./backend.ts";
import { loadLibrary, type Counters } from "./native.ts";
import { startBackend } from "./start.ts";

const POLL_MS = 5;

/** Builds (if stale) and loads the library ahead of the start; a failure
 * here is thrown again, with its message, by the start itself. */
export function preload(): void {
  try {
    loadLibrary();
  } catch {
    // reported by startBackend
  }
}

function featureList(server: Backend, cfg: Config): string {
  const cpus = (list?: readonly number[]): string => `cpu${list && list.length > 1 ? "s" : ""} ${list?.join(" ")}`;
  return server.features
    .map((f) => (f === "sq_aff" ? `sq_aff(${cpus(cfg.values["sq-cpu"])})` : f === "ring_aff" ? `ring_aff(${cpus(cfg.values.cpu)})` : f))
    .join(",");
}

/** The counters a log line shows: all but the state word and the loop count. */
function counterFields(c: Counters): Fields {
  const { state: _state, loops: _loops, ...rest } = c;
  return rest;
}

/** Resolves on the first SIGINT/SIGTERM. The handlers stay installed, so a
 * second signal during the drain cannot kill the process mid-response (the
 * drain timeout bounds the wait; SIGKILL still works). */
function waitForSignal(log: Log): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: NodeJS.Signals | undefined;
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      process.on(sig, () => {
        if (first) log.info("signal", `${sig}: already draining`, { signal: sig });
        else resolve((first = sig));
      });
    }
  });
}

async function drain(server: Backend, drainMs: number): Promise<void> {
  server.stop(drainMs);
  // The ring thread enforces the drain timeout itself; this only observes it.
  while (server.state() !== "stopped") await Bun.sleep(POLL_MS);
}

function startStats(server: Backend, log: Log, everyMs: number): Timer | undefined {
  if (!everyMs) return undefined;
  let last = server.counters();
  let lastAt = performance.now();
  return setInterval(() => {
    const now = server.counters();
    const at = performance.now();
    const rps = Math.round((((now.requests ?? 0) - (last.requests ?? 0)) * 1000) / (at - lastAt));
    log.info("stats", "stats", { rps, ...counterFields(now) });
    last = now;
    lastAt = at;
  }, everyMs);
}

async function startAdminFor(cfg: Config, server: Backend, mode: string) {
  if (!cfg.admin) return undefined;
  const { startAdmin } = await import("./admin.ts");
  const { routeViews } = await import("./metrics.ts");
  try {
    return startAdmin(cfg.admin, { server, mode, routes: routeViews(cfg) });
  } catch (e) {
    server.destroy();
    throw e;
  }
}

/** uname -r, for the startup line: read from /proc while the ring starts, node:os only without it. */
async function kernelRelease(): Promise<string> {
  return (await readText("/proc/sys/kernel/osrelease"))?.trim() || nodeOs().release();
}

/** Serves until SIGINT/SIGTERM; returns the exit code. Throws RingsideError at start. */
export async function serve(cfg: Config, log: Log): Promise<number> {
  const kernel = kernelRelease();
  const server = await startBackend(cfg, log);
  const v = cfg.values;
  const mode = server.degraded ? "fallback" : cfg.layout.mode;
  const admin = await startAdminFor(cfg, server, mode);
  const signal = waitForSignal(log);
  log.info("listening", `listening on ${urlOf(v.host, server.port)}`, {
    port: server.port,
    mode,
    rings: server.rings,
    ...(cfg.layout.why && !server.degraded ? { auto: cfg.layout.why } : {}),
    keep_alive: v["keep-alive"],
    ...(cfg.routes.length ? { routes: cfg.routes.length } : {}),
    ...(cfg.outcome.delayMs ? { delay_ms: cfg.outcome.delayMs } : {}),
    features: featureList(server, cfg),
    ...(server.degraded ? { degraded: server.degraded } : {}),
    ...(admin ? { admin: admin.url } : {}),
    // Replaying a run takes its seed: named whenever something is drawn.
    ...(drawsPerRequest(cfg) || v.seed !== undefined ? { seed: cfg.seed } : {}),
    ...(v.control !== "off" ? { control: v.control } : {}),
    kernel: await kernel,
    pid: process.pid,
  });
  const stats = startStats(server, log, v["stats-interval"]);
  // The ring thread does not keep Bun's event loop alive; this does.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const sig = await signal;
  log.info("stopping", `${sig}: draining for up to ${v["drain-timeout"]} ms`, { signal: sig, active: server.counters().active ?? 0 });
  const cutBefore = server.counters().delayed_cut ?? 0;
  await drain(server, v["drain-timeout"]);
  admin?.stop();
  const final = server.counters();
  const cut = (final.delayed_cut ?? 0) - cutBefore;
  if (cut) log.warn("drain", `${cut} delayed response${cut === 1 ? " was" : "s were"} not sent: the drain timeout (${v["drain-timeout"]} ms) ended before their delay`, { delayed_cut: cut });
  server.destroy();
  clearInterval(stats);
  clearInterval(keepAlive);
  log.info("summary", "stopped", counterFields(final));
  return 0;
}
