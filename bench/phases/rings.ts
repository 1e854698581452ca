// The rings phase (issue 10): does a second ring scale like a second nginx
// worker or a second Bun.serve process? ringside batch with 1 and 2 rings, its
// default (auto), nginx with 1 and 2 workers, Bun.serve with 1 and 2
// processes on one port; every server and wrk unpinned, since the 2-ring,
// 2-worker and 2-process servers need both CPUs. ringside runs with
// --admin-port 0, so that every run says how the connections spread over the
// rings. The section ends with a PROJECTION to 16 cores: arithmetic on this
// run's figures, not a measurement.
import { CONN_MODES, PIPELINE_DEPTH, type ConnMode } from "../lib/config.ts";
import { connsOf, cpuPerReq, figure, has, layouts, ratio, ringShares, runsOf } from "../lib/rows.ts";
import { fmt, fmtSpread, spread } from "../lib/stats.ts";
import { sweep, sweepPlan, type Row, type RowInfo, type RowRun, type SweepPlan, type SweepResult } from "../lib/sweep.ts";
import { table, targetLines } from "../report/md.ts";
import { cell, clientBound, otherWork, rowList, serverCores, sizesLine, usPerReq, wrkErrors } from "../report/rows.ts";
import type { Done, Phase, Target } from "./phase.ts";

const batch = (rings: number): string[] => ["--mode", "batch", "--rings", String(rings)];

const RINGS_ROWS: readonly Row[] = [
  { key: "ring1", label: "ringside batch, 1 ring", kind: "ringside", flags: batch(1), admin: true },
  { key: "ring2", label: "ringside batch, 2 rings", kind: "ringside", flags: batch(2), admin: true },
  { key: "default", label: "ringside default (no --mode/--rings: auto)", kind: "ringside", flags: [], admin: true },
  { key: "nginx1", label: "nginx, 1 worker", kind: "nginx", processes: 1 },
  { key: "nginx2", label: "nginx, 2 workers", kind: "nginx", processes: 2 },
  { key: "bun1", label: "Bun.serve, 1 process", kind: "bun", processes: 1 },
  { key: "bun2", label: "Bun.serve, 2 processes (reusePort)", kind: "bun", processes: 2 },
];

// ---------------------------------------------------------------- targets

const us = (s: number): string => `${fmt(s * 1e6)} µs`;

function ringsCpuTarget(p: SweepResult, conn: ConnMode): Target {
  const r = ratio(p, "ring2", "ring1", conn, cpuPerReq);
  const at = (key: string): string => us(figure(p, key, conn, cpuPerReq).median);
  return {
    name: `rings, ${conn}: ringside server CPU per request, 2 rings vs 1 ring (batch mode)`,
    want: "<= 1.10x (within 10%)",
    got: r.n ? `${fmtSpread(r, "x")} (${at("ring2")} vs ${at("ring1")})` : "n/a",
    met: r.n ? r.median <= 1.1 : null,
  };
}

function bothRingsTarget(p: SweepResult): Target {
  const multi = p.runs.filter((r) => (r.perRing?.length ?? 0) > 1);
  const idle = multi.filter((r) => r.perRing!.some((k) => k.requests === 0));
  const minShare = (r: RowRun): number => Math.min(...r.perRing!.map((k) => k.requests)) / r.perRing!.reduce((a, k) => a + k.requests, 0);
  const least = multi.length ? Math.min(...multi.map(minShare)) : Number.NaN;
  return {
    name: "rings: every ring serves (ringside with several rings, every run, /metrics per ring)",
    want: "every ring answers requests in every run",
    got: multi.length ? `${multi.length - idle.length} of ${multi.length} runs; the least busy ring took ${(least * 100).toFixed(1)}% of a run's requests` : "n/a",
    met: multi.length ? idle.length === 0 : null,
  };
}

export function ringsTargets(p: SweepResult): Target[] {
  if (!has(p, "ring1") || !has(p, "ring2")) return [bothRingsTarget(p)];
  return [...connsOf(p).map((c) => ringsCpuTarget(p, c)), bothRingsTarget(p)];
}

// ---------------------------------------------------------------- projection

const PROJECT_CORES = 16;
const NIC_GBPS = 10;
/** Bytes a TCP segment costs on the wire besides its payload: preamble 8, Ethernet 14, FCS 4,
 * inter-frame gap 12, IPv4 20, TCP with timestamps 32. */
const WIRE_OVERHEAD_B = 90;
/** Server-to-client segments per request: close: SYN-ACK, the response, FIN;
 * keep-alive: the response; pipelined: PIPELINE_DEPTH responses share one. */
const SEGMENTS: Record<ConnMode, number> = { close: 3, "keep-alive": 1, pipelined: 1 / PIPELINE_DEPTH };

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
function responseBytes(p: SweepResult, row: string, conn: ConnMode): number | undefined {
  const per = p.blocks.filter((b) => b.row === row && b.conn === conn && (b.counters.responses ?? 0) > 0).map((b) => b.counters.bytes_sent! / b.counters.responses!);
  return per.length ? spread(per).median : undefined;
}

function project(p: SweepResult, row: string, conn: ConnMode): Projection {
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
export function projections(p: SweepResult): Projection[] {
  const row = has(p, "ring2") ? "ring2" : "ring1";
  return connsOf(p)
    .filter((c) => runsOf(p, row, c).length > 0)
    .map((c) => project(p, row, c));
}

function projectionText(x: Projection): string {
  const nic = x.nicBound === undefined ? "" : `; a ${NIC_GBPS} GbE NIC at ${fmt(x.responseBytes!)} B per response plus headers caps it at ${fmt(x.nicBound)}`;
  const scaled = x.scaling === undefined ? "" : ` (2 rings cost ${x.scaling.toFixed(2)}x 1 ring's per request)`;
  return (
    `${x.conn}: ${fmt(x.cpuPerReqS * 1e6)} µs per request${scaled} gives ${PROJECT_CORES} / ${fmt(x.cpuPerReqS * 1e6)} µs = ${fmt(x.cpuBound)} req/s${nic}: ` +
    `**~${fmt(x.projected)} req/s** (${x.limit === "NIC" ? "the NIC" : "CPU"} bound), which takes ~${fmt(x.clientCores)} cores of wrk at the ${fmt(x.perClientCore)} req/s per client core it managed here`
  );
}

function projectionLines(p: SweepResult): string[] {
  const ps = projections(p);
  if (!ps.length) return [];
  return [
    `**PROJECTION, not a measurement.** What ${PROJECT_CORES} rings in batch mode on ${PROJECT_CORES} cores should reach, computed from this run's server CPU per request (${ps[0]!.row === "ring2" ? "2 rings" : "1 ring"}, median) ` +
      `as ${PROJECT_CORES} / CPU-seconds per request, assuming the cost per request stays what it was from 1 to 2 rings, then capped by what would limit it first:`,
    "",
    ...ps.map((x) => `- ${projectionText(x)}.`),
    "",
    `The NIC figures count ${WIRE_OVERHEAD_B} B of Ethernet, IP and TCP per segment and, per request, 3 server segments in close mode (SYN-ACK, response, FIN), 1 with keep-alive and 1/16 pipelined. ` +
      "The load generator is the first limit in practice: the client needs those cores on other machines. " +
      "The kernel's TCP work is the other: on loopback the kernel receives each side's packets in the sender's context, so the server's CPU here includes part of wrk's receive path and leaves out its own; " +
      "behind a NIC the server's cores also take their receive interrupts, so expect more CPU per request than measured here, most in close mode, where connection setup and teardown (SYN, accept, FIN, TIME_WAIT) are all kernel work.",
    "",
  ];
}

// ---------------------------------------------------------------- report

function sharesCell(p: SweepResult, key: string, conn: ConnMode): string {
  const s = ringShares(p, key, conn);
  if (!s) return "-";
  return s.requests.map((share, k) => `${share.toFixed(0)}% (${fmt(s.accepted[k]!)} acc.)`).join(" / ");
}

function ringsRow(p: SweepResult, row: RowInfo, conn: ConnMode): string[] {
  const f = (g: (r: RowRun) => number, unit = ""): string => cell(p, row.key, conn, g, unit);
  const errs = runsOf(p, row.key, conn).reduce((a, r) => a + wrkErrors(r), 0);
  return [conn, row.label, f((r) => r.rps), f(usPerReq, " µs"), f(serverCores), f((r) => r.clientCores), sharesCell(p, row.key, conn), otherWork(p, row.key, conn), String(errs)];
}

function defaultLayout(p: SweepResult): string[] {
  const l = layouts(p, "default");
  return l.length ? [`ringside's default started as ${l.join("; ")} (mode/rings from its startup line).`, ""] : [];
}

function section({ plan, result: p }: Done<SweepPlan, SweepResult>): string[] {
  const head = ["connection mode", "server", "req/s", "server CPU per request", "server cores", "wrk cores", "rings: share of requests (accepted per run)", "other work cores", "wrk socket errors"];
  return [
    "## Rings: 1 and 2 rings against 1 and 2 nginx workers and Bun.serve processes (issue 10)",
    "",
    `Everything unpinned (wrk and the servers float over both CPUs: a 2-ring, 2-worker or 2-process server needs both). ${sizesLine(plan)} ` +
      `Server CPU per request: CPU-seconds of every server process (all threads, SQPOLL threads included) over the run, per request. ringside runs with --admin-port 0; its rings' shares come from /metrics (ringside_ring_requests_total, ringside_ring_accepted_total) scraped around each run.`,
    "",
    ...rowList(p),
    "",
    table(head, connsOf(p).flatMap((conn) => p.rows.map((row) => ringsRow(p, row, conn)))),
    "",
    ...defaultLayout(p),
    ...targetLines(ringsTargets(p)),
    "",
    ...clientBound(p),
    ...projectionLines(p),
  ];
}

export const rings: Phase<SweepPlan, SweepResult> = {
  name: "rings",
  plan: (quick) => sweepPlan(quick, CONN_MODES, ["ring1", "ring2", "nginx2", "bun2"]),
  run: (ctx, plan) => sweep(ctx, "rings", RINGS_ROWS, plan),
  targets: ({ result }) => ringsTargets(result),
  section,
};
