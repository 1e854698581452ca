// What the benchmark runs: the servers of the wrk matrix, the connection modes,
// the thread placements (pinning policies) it tries, and ringside's defaults.
// Each phase's own sizes are its plan (bench/phases/).
import { parseConfig } from "../../src/config/config.ts";
import { DEFAULT_BODY } from "../../src/config/flags.ts";
import { nativeFields } from "../../src/serve/native-config.ts";

export type ServerName = "nginx" | "bun" | "spin" | "sqpoll" | "batch";
export type ConnMode = "close" | "keep-alive" | "pipelined";

export const RING_MODES = ["spin", "sqpoll", "batch"] as const;
export type RingMode = (typeof RING_MODES)[number];

export const SERVERS: readonly ServerName[] = ["nginx", "bun", "spin", "sqpoll", "batch"];
export const CONN_MODES: readonly ConnMode[] = ["close", "keep-alive", "pipelined"];
/** Requests per write in pipelined mode: TechEmpower's plaintext test uses 16. */
export const PIPELINE_DEPTH = 16;

export const CONN_TITLES: Record<ConnMode, string> = {
  close: "close: a new connection per request",
  "keep-alive": "keep-alive: persistent connections, one request at a time",
  pipelined: `pipelined: persistent connections, ${PIPELINE_DEPTH} requests per write`,
};

/** Whether the server must keep connections open (ringside --keep-alive). */
export function keepsAlive(conn: ConnMode): boolean {
  return conn !== "close";
}

export function isRing(s: ServerName): s is RingMode {
  return s === "spin" || s === "sqpoll" || s === "batch";
}

export const LABELS: Record<ServerName, string> = {
  nginx: "nginx (1 worker)",
  bun: "Bun.serve",
  spin: "ringside spin",
  sqpoll: "ringside sqpoll",
  batch: "ringside batch",
};

/** One server process as the harness starts it. nginx and Bun.serve serve
 * every connection mode from one process (the client decides); ringside is
 * started with --keep-alive for the keep-alive and pipelined runs. */
export interface Variant {
  id: string;
  server: ServerName;
  conn: ConnMode;
}

export function variant(server: ServerName, conn: ConnMode): Variant {
  return { id: `${server}/${conn}`, server, conn };
}

/**
 * Where threads run. CPU lists are for taskset; undefined means unpinned.
 * Peers (nginx, Bun.serve) have one serving thread and take `peerCpus`; the
 * ringside process takes `ringsideCpus`, its ring thread `ringCpu` (--cpu)
 * and its SQPOLL thread `sqCpu` (--sq-cpu; batch mode has none).
 */
export interface Pinning {
  name: string;
  summary: string;
  clientCpus?: string;
  peerCpus?: string;
  ringsideCpus?: string;
  ringCpu?: number;
  sqCpu?: number;
}

export const PINNINGS: readonly Pinning[] = [
  {
    name: "unpinned",
    summary: "nothing pinned: wrk, servers, ring and SQPOLL threads float over both CPUs",
  },
  {
    name: "split",
    summary: "wrk on CPU 0; every server thread on CPU 1 (ringside: --cpu 1 --sq-cpu 1)",
    clientCpus: "0",
    peerCpus: "1",
    ringsideCpus: "1",
    ringCpu: 1,
    sqCpu: 1,
  },
  {
    name: "ring1-sq0",
    summary: "wrk on CPU 0; peers and the ring thread on CPU 1; SQPOLL thread on CPU 0 beside wrk (--cpu 1 --sq-cpu 0)",
    clientCpus: "0",
    peerCpus: "1",
    ringsideCpus: "1",
    ringCpu: 1,
    sqCpu: 0,
  },
  {
    name: "ring1-sq-free",
    summary:
      "wrk on CPU 0; peers and the ring thread on CPU 1; SQPOLL thread free on both CPUs (--cpu 1 alone; the ringside process is not under taskset, so the kernel thread keeps the full CPU mask)",
    clientCpus: "0",
    peerCpus: "1",
    ringCpu: 1,
  },
];

export function pinningByName(name: string): Pinning {
  const p = PINNINGS.find((x) => x.name === name);
  if (!p) throw new Error(`unknown pinning policy ${name}; one of ${PINNINGS.map((x) => x.name).join(", ")}`);
  return p;
}

/** ringside's defaults, as its own CLI parses them (no flags, no env). */
const CONFIG_DEFAULTS = await parseConfig([], {});
const NATIVE_DEFAULTS = nativeFields(CONFIG_DEFAULTS);
const ms = (field: string): number => {
  const v = NATIVE_DEFAULTS[field];
  if (typeof v !== "number") throw new Error(`ringside's default ${field} is not a number of ms`);
  return v;
};
/** --spin-budget: idle time before the ring thread parks. */
export const SPIN_BUDGET_MS = ms("spin_budget_ms");
/** --sq-idle: the SQPOLL thread spins this long after the last submission. */
export const SQ_IDLE_MS = ms("sq_idle_ms");
/** --drain-timeout: how long a SIGTERM waits for in-flight requests at most. */
export const DRAIN_TIMEOUT_MS = CONFIG_DEFAULTS.values["drain-timeout"];

export const BODY = DEFAULT_BODY;

/** ringside batch with one ring: the layout the quota phases compare (and the default picks under half a CPU). */
export const BATCH_1: readonly string[] = ["--mode", "batch", "--rings", "1"];
/** The canned response as a --route answers it (every server must serve it). */
export const CANNED_ROUTE = `type=text/html body="${BODY.replace(/\n/g, "\\n")}"`;
/** A route for `/` answering the canned bytes, with more KEY=VALUEs in extra (" delay=1ms"). */
export const rootRoute = (status = "200", extra = ""): string[] => ["--route", `/=${status} ${CANNED_ROUTE}${extra}`];
/** 15 prefix routes that never match, then `/`: every request is compared with all 16. */
export const sixteenRoutes = (status = "200", extra = ""): string[] => [
  ...Array.from({ length: 15 }, (_, i) => ["--route", `/miss-${i}/*=${status} ${CANNED_ROUTE}${extra}`]).flat(),
  ...rootRoute(status, extra),
];
