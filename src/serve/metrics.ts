// /metrics as Prometheus text: every counter the library describes (its help
// text and kind included), totals and ring by ring, requests by route and by
// route and outcome (status, fault), mode/features/degraded as labels,
// process CPU and RSS. Read from the counters in shared memory: no FFI call.
import pkg from "../../package.json" with { type: "json" };
import type { Config } from "../config/config.ts";
import { drawFrom, FAULTS, type Fault, type Outcome } from "../config/outcomes.ts";
import { DEFAULT_ROUTE_LABEL, routeLabel } from "../config/routes.ts";
import type { Backend } from "./backend.ts";
import { abiDescription, enumNames } from "./native.ts";
import { STATUS_CODES } from "./responses.ts";

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

/** A route as /metrics names it ("default" first, then each route as
 * written, "/api/*" for a prefix), and the statuses and faults it is
 * configured to draw: their series are shown from the start, at 0; others
 * (asked for by --control) once they count something. */
export interface RouteView {
  label: string;
  statuses: readonly number[];
  faults: readonly Fault[];
}

/** What an admin listener shows: the server, its mode, and its routes. */
export interface AdminView {
  server: Backend;
  mode: string;
  routes: RouteView[];
}

/** The default response's view, then each route's. */
export function routeViews(cfg: Config): RouteView[] {
  const view = (label: string, status: number, o: Outcome): RouteView => {
    const from = drawFrom(o);
    return { label, statuses: [status, ...from.statuses.map((w) => w.value)], faults: from.faults.map((w) => FAULTS[w.value]!) };
  };
  return [view(DEFAULT_ROUTE_LABEL, cfg.response.status, cfg.outcome), ...cfg.routes.map((r) => view(routeLabel(r), r.response.status, r.outcome))];
}

/** Requests by route and status, and by route and fault: the series shown. */
function outcomeMetrics(lines: string[], server: Backend, routes: RouteView[]): void {
  const counts = server.routeOutcomes();
  const byStatus: Array<[string, number]> = [];
  const byFault: Array<[string, number]> = [];
  routes.forEach((r, i) => {
    const c = counts[i] ?? [];
    const route = `route="${label(r.label)}"`;
    STATUS_CODES.forEach((code, k) => {
      if (c[k] || r.statuses.includes(code)) byStatus.push([`{${route},status="${code}"}`, c[k] ?? 0]);
    });
    FAULTS.forEach((f, k) => {
      const n = c[STATUS_CODES.length + k] ?? 0;
      if (n || r.faults.includes(f)) byFault.push([`{${route},fault="${f}"}`, n]);
    });
  });
  metric(lines, "ringside_route_responses_total", "counter", "requests answered with this status (the route's own, drawn or asked for; error responses not included), by route; all rings", byStatus);
  metric(lines, "ringside_route_faults_total", "counter", "requests answered with this fault instead of a response (reset, close, hang), by route; all rings", byFault);
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
  metric(lines, "ringside_route_requests_total", "counter", "requests framed, by the route that answered them (default: no route matched); all rings", routes.map((r, i) => [`{route="${label(r.label)}"}`, byRoute[i] ?? 0]));
  outcomeMetrics(lines, server, routes);
  const cpu = process.cpuUsage();
  metric(lines, "process_cpu_seconds_total", "counter", "user and system CPU time of all threads, the ring thread included", [["", (cpu.user + cpu.system) / 1e6]]);
  metric(lines, "process_resident_memory_bytes", "gauge", "resident set size", [["", process.memoryUsage.rss()]]);
  metric(lines, "process_start_time_seconds", "gauge", "start time since the Unix epoch", [["", START_SECONDS]]);
  return lines.join("\n") + "\n";
}
