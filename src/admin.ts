// The optional admin listener (--admin-port, off by default), on Bun.serve:
//   /healthz  200 while the process is alive
//   /readyz   200 while the server is running and accepting, 503 otherwise
//             (starting, draining, stopped)
//   /metrics  Prometheus text: every counter from the shared-memory view,
//             mode/features/degraded as labels, process CPU and RSS
// It runs on the JS thread and only reads the counters: no FFI call.
import type { Server } from "bun";
import pkg from "../package.json" with { type: "json" };
import type { Config } from "./config.ts";
import { degradedReason, type Backend } from "./fallback.ts";
import { COUNTER_NAMES, FEATURES, RingsideError, STATES, type CounterName } from "./native.ts";

const GAUGES = new Set<CounterName>(["state", "active"]);

const HELP: Partial<Record<CounterName, string>> = {
  state: `server state: ${STATES.map((s, i) => `${i} ${s}`).join(", ")}`,
  accepted: "connections accepted",
  active: "connections open now",
  requests: "complete requests read",
  responses: "responses fully sent, errors included",
  bytes_sent: "bytes sent to clients",
  bad_requests: "requests answered 400 or 505",
  too_large: "requests answered 413 or 431",
  accept_errors: "failed accepts",
  accept_backoffs: "pauses in accepting on EMFILE, ENFILE or ENOMEM",
  recv_errors: "failed receives",
  send_errors: "failed sends",
  client_resets: "connections reset by the peer (ECONNRESET, EPIPE)",
  client_eof_early: "connections the peer closed before a complete request",
  header_timeouts: "connections closed by --header-timeout",
  idle_timeouts: "connections closed by --idle-timeout",
  lingering_closes: "connections closed after draining unread input",
  sq_full: "times the submission queue was full",
  cq_overflow: "completion queue overflows",
  parks: "blocking waits of the ring thread",
  loops: "ring loop iterations",
};

const START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

const label = (v: string): string => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function metric(lines: string[], name: string, type: "counter" | "gauge", help: string, samples: Array<[string, number]>): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
}

export function metricsText(server: Backend, mode: string): string {
  const lines: string[] = [];
  const degraded = degradedReason(server);
  const features = server.features.join(",");
  metric(lines, "ringside_info", "gauge", "ringside version, mode, ring features and degraded reason as labels; always 1", [
    [`{version="${label(pkg.version)}",mode="${label(mode)}",features="${label(features)}",degraded="${label(degraded)}"}`, 1],
  ]);
  metric(lines, "ringside_degraded", "gauge", "1 when serving through the Bun.serve fallback instead of io_uring", [
    [degraded ? `{reason="${label(degraded)}"}` : "", degraded ? 1 : 0],
  ]);
  metric(lines, "ringside_feature", "gauge", "ring features in use (1) or not (0)", FEATURES.map((f) => [`{feature="${f}"}`, server.features.includes(f) ? 1 : 0]));
  const c = server.counters();
  for (const name of COUNTER_NAMES) {
    const gauge = GAUGES.has(name);
    metric(lines, gauge ? `ringside_${name}` : `ringside_${name}_total`, gauge ? "gauge" : "counter", HELP[name] ?? `ring counter ${name}`, [["", c[name]]]);
  }
  const cpu = process.cpuUsage();
  metric(lines, "process_cpu_seconds_total", "counter", "user and system CPU time of all threads, the ring thread included", [["", (cpu.user + cpu.system) / 1e6]]);
  metric(lines, "process_resident_memory_bytes", "gauge", "resident set size", [["", process.memoryUsage.rss()]]);
  metric(lines, "process_start_time_seconds", "gauge", "start time since the Unix epoch", [["", START_SECONDS]]);
  return lines.join("\n") + "\n";
}

const text = (body: string, status = 200, type = "text/plain; charset=utf-8"): Response =>
  new Response(body, { status, headers: { "Content-Type": type, "Cache-Control": "no-store" } });

export interface Admin {
  url: string;
  stop(): void;
}

/** Starts the admin listener when --admin-port is set; throws RingsideError if it cannot bind. */
export function startAdmin(cfg: Config, server: Backend, mode: string): Admin | undefined {
  if (!cfg.admin) return undefined;
  const { host, port } = cfg.admin;
  let admin: Server<undefined>;
  try {
    admin = Bun.serve({
      hostname: host,
      port,
      fetch(req) {
        const path = new URL(req.url).pathname;
        if (path === "/healthz") return text("ok\n");
        if (path === "/readyz") {
          const state = server.state();
          return state === "running" ? text("ready\n") : text(`not ready: ${state}\n`, 503);
        }
        if (path === "/metrics") return text(metricsText(server, mode), 200, "text/plain; version=0.0.4; charset=utf-8");
        return text("not found: try /healthz, /readyz or /metrics\n", 404);
      },
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new RingsideError("addr_in_use", `admin port ${port} is in use on ${host}: pass another --admin-port (0 picks a free one)`, code);
    }
    throw new RingsideError("start", `admin listener cannot start on ${host}:${port}: ${e instanceof Error ? e.message : String(e)}`, code);
  }
  const shown = host.includes(":") ? `[${host}]` : host;
  return { url: `http://${shown}:${admin.port}`, stop: () => void admin.stop(true) };
}
