// /metrics as Prometheus text: every counter the library describes (its help
// text and kind included), totals and ring by ring, requests by route,
// mode/features/degraded as labels, process CPU and RSS. Read from the
// counters in shared memory: no FFI call.
import pkg from "../../package.json" with { type: "json" };
import type { Backend } from "./backend.ts";
import { abiDescription, enumNames } from "./native.ts";

const START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

const label = (v: string): string => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function metric(lines: string[], name: string, type: "counter" | "gauge", help: string, samples: Array<[string, number]>): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
}

function infoMetrics(lines: string[], server: Backend, mode: string, features: string[]): void {
  const degraded = server.degraded;
  metric(lines, "ringside_info", "gauge", "ringside version, mode, ring features and degraded reason as labels; always 1", [
    [`{version="${label(pkg.version)}",mode="${label(mode)}",features="${label(server.features.join(","))}",degraded="${label(degraded)}"}`, 1],
  ]);
  metric(lines, "ringside_degraded", "gauge", "1 when serving through the Bun.serve fallback instead of io_uring", [
    [degraded ? `{reason="${label(degraded)}"}` : "", degraded ? 1 : 0],
  ]);
  metric(lines, "ringside_feature", "gauge", "ring features in use (1) or not (0)", features.map((f) => [`{feature="${f}"}`, server.features.includes(f) ? 1 : 0]));
}

/** What an admin listener shows: the server, its mode, and its route names
 * ("default" first, then each route as written, "/api/*" for a prefix). */
export interface AdminView {
  server: Backend;
  mode: string;
  routes: string[];
}

export function metricsText({ server, mode, routes }: AdminView): string {
  const lines: string[] = [];
  const d = abiDescription();
  infoMetrics(lines, server, mode, enumNames(d, "feature"));
  const c = server.counters();
  const rings = server.ringCounters();
  const states = enumNames(d, "state").map((s, i) => `${i} ${s}`).join(", ");
  for (const f of d.counters.fields) {
    const name = f.kind === "gauge" ? f.name : `${f.name}_total`;
    const help = f.name === "state" ? `server state (the least advanced ring's): ${states}` : f.help;
    metric(lines, `ringside_${name}`, f.kind, `${help}; all rings`, [["", c[f.name] ?? 0]]);
    // Ring by ring under a name of their own, so that sum() over a name never counts twice.
    metric(lines, `ringside_ring_${name}`, f.kind, `${help}; one ring`, rings.map((rc, k) => [`{ring="${k}"}`, rc[f.name] ?? 0]));
  }
  const byRoute = server.routeRequests();
  metric(lines, "ringside_route_requests_total", "counter", "requests framed, by the route that answered them (default: no route matched); all rings", routes.map((r, i) => [`{route="${label(r)}"}`, byRoute[i] ?? 0]));
  const cpu = process.cpuUsage();
  metric(lines, "process_cpu_seconds_total", "counter", "user and system CPU time of all threads, the ring thread included", [["", (cpu.user + cpu.system) / 1e6]]);
  metric(lines, "process_resident_memory_bytes", "gauge", "resident set size", [["", process.memoryUsage.rss()]]);
  metric(lines, "process_start_time_seconds", "gauge", "start time since the Unix epoch", [["", START_SECONDS]]);
  return lines.join("\n") + "\n";
}
