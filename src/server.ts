// Runs the native server for the CLI: start, startup line, stats, and on
// SIGINT/SIGTERM a bounded drain, a final summary and exit 0.
import { release } from "node:os";
import type { Config } from "./config.ts";
import type { Fields, Log } from "./log.ts";
import type { Counters } from "./native.ts";
import { startAdmin } from "./admin.ts";
import { degradedReason, startBackend, type Backend } from "./fallback.ts";

const POLL_MS = 5;

export function urlOf(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function featureList(server: Backend, cfg: Config): string {
  return server.features
    .map((f) => (f === "sq_aff" ? `sq_aff(cpu ${cfg.native.sqCpu})` : f === "ring_aff" ? `ring_aff(cpu ${cfg.native.ringCpu})` : f))
    .join(",");
}

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
    const rps = Math.round(((now.requests - last.requests) * 1000) / (at - lastAt));
    log.info("stats", "stats", { rps, ...counterFields(now) });
    last = now;
    lastAt = at;
  }, everyMs);
}

/** Serves until SIGINT/SIGTERM; returns the exit code. Throws RingsideError at start. */
export async function serve(cfg: Config, log: Log): Promise<number> {
  const server = startBackend(cfg, log);
  const degraded = degradedReason(server);
  const mode = degraded ? "fallback" : cfg.native.mode;
  let admin: ReturnType<typeof startAdmin>;
  try {
    admin = startAdmin(cfg, server, mode);
  } catch (e) {
    server.destroy();
    throw e;
  }
  const url = urlOf(cfg.native.host, server.port);
  const signal = waitForSignal(log);
  log.info("listening", `listening on ${url}`, {
    port: server.port,
    mode,
    keep_alive: cfg.native.keepAlive,
    features: featureList(server, cfg),
    ...(degraded ? { degraded } : {}),
    ...(admin ? { admin: admin.url } : {}),
    kernel: release(),
    pid: process.pid,
  });
  const stats = startStats(server, log, cfg.statsIntervalMs);
  // The ring thread does not keep Bun's event loop alive; this does.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const sig = await signal;
  log.info("stopping", `${sig}: draining for up to ${cfg.drainTimeoutMs} ms`, { signal: sig, active: server.counters().active });
  await drain(server, cfg.drainTimeoutMs);
  admin?.stop();
  const final = server.counters();
  server.destroy();
  clearInterval(stats);
  clearInterval(keepAlive);
  log.info("summary", "stopped", counterFields(final));
  return 0;
}
