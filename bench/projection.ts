// The rings section's PROJECTION: what 16 rings on a 16-core machine should
// reach, computed from this run's server CPU per request and capped by what
// would limit it first. A projection from measured figures, not a measurement.
import { PIPELINE_DEPTH, type ConnMode } from "./config.ts";
import { connsOf, cpuPerReq, figure, ratio, runsOf } from "./phase-report.ts";
import { spread } from "./stats.ts";
import type { PhaseResult } from "./types.ts";

export const PROJECT_CORES = 16;
export const NIC_GBPS = 10;
/** Bytes a TCP segment costs on the wire besides its payload: preamble 8, Ethernet 14, FCS 4,
 * inter-frame gap 12, IPv4 20, TCP with timestamps 32. */
export const WIRE_OVERHEAD_B = 90;
/** Server-to-client segments per request: close: SYN-ACK, the response, FIN;
 * keep-alive: the response; pipelined: PIPELINE_DEPTH responses share one. */
export const SEGMENTS: Record<ConnMode, number> = { close: 3, "keep-alive": 1, pipelined: 1 / PIPELINE_DEPTH };

export interface Projection {
  conn: ConnMode;
  /** The row the CPU figure comes from: ring2 when measured, else ring1. */
  row: string;
  cpuPerReqS: number;
  /** 2 rings' CPU per request over 1 ring's (same rounds): what a ring more cost. */
  scaling?: number;
  /** PROJECT_CORES / CPU per request: the CPU's limit. */
  cpuBound: number;
  /** Response bytes as ringside counted them (bytes_sent / responses). */
  responseBytes?: number;
  /** The NIC's line rate over the wire bytes of one response. */
  nicBound?: number;
  projected: number;
  limit: "CPU" | "NIC";
  /** wrk's requests per client CPU-second here, and the client cores the projected rate needs. */
  perClientCore: number;
  clientCores: number;
}

/** Median bytes per response of a row's ringside starts in one connection mode. */
function responseBytes(p: PhaseResult, row: string, conn: ConnMode): number | undefined {
  const per = p.blocks.filter((b) => b.row === row && b.conn === conn && (b.counters.responses ?? 0) > 0).map((b) => b.counters.bytes_sent! / b.counters.responses!);
  return per.length ? spread(per).median : undefined;
}

function project(p: PhaseResult, row: string, conn: ConnMode): Projection {
  const cpuPerReqS = figure(p, row, conn, cpuPerReq).median;
  const cpuBound = PROJECT_CORES / cpuPerReqS;
  const bytes = responseBytes(p, row, conn);
  const nicBound = bytes === undefined ? undefined : (NIC_GBPS * 1e9) / 8 / (bytes + WIRE_OVERHEAD_B * SEGMENTS[conn]);
  const projected = Math.min(cpuBound, nicBound ?? Infinity);
  const perClientCore = spread(runsOf(p, row, conn).map((r) => r.requests / (r.clientCores * r.seconds))).median;
  const scaling = row === "ring2" ? ratio(p, "ring2", "ring1", conn, cpuPerReq) : undefined;
  return {
    conn,
    row,
    cpuPerReqS,
    ...(scaling?.n ? { scaling: scaling.median } : {}),
    cpuBound,
    ...(bytes !== undefined ? { responseBytes: bytes, nicBound } : {}),
    projected,
    limit: projected < cpuBound ? "NIC" : "CPU",
    perClientCore,
    clientCores: projected / perClientCore,
  };
}

/** One projection per connection mode the rings phase measured ringside batch in. */
export function projections(p: PhaseResult): Projection[] {
  const row = p.runs.some((r) => r.row === "ring2") ? "ring2" : "ring1";
  return connsOf(p)
    .filter((c) => runsOf(p, row, c).length > 0)
    .map((c) => project(p, row, c));
}
