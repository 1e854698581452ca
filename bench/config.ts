// What the benchmark runs: the servers, the pinning policies it tries, and the
// sizes of everything for a full run and for --quick (CI, under 80 s).
import { parseConfig } from "../src/config/config.ts";
import { DEFAULT_BODY } from "../src/config/flags.ts";
import { nativeFields } from "../src/serve/native-config.ts";

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

/** The servers of the startup and footprint phase: ringside as a user runs it and as its image does. */
export type StartupKey = "bun" | "nginx" | "ringside" | "bundle";
export const STARTUP_KEYS: readonly StartupKey[] = ["bun", "nginx", "ringside", "bundle"];

export const STARTUP_LABELS: Record<StartupKey, string> = {
  bun: "Bun.serve",
  nginx: "nginx, 1 worker (reference)",
  ringside: "ringside as a user runs it (src/cli.ts, default mode)",
  bundle: "ringside as the image runs it (one bundled file)",
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

/** What the cost phase measures: pipelining changes the client, not the server's per-request work. */
export const COST_VARIANTS: readonly Variant[] = (["close", "keep-alive"] as const).flatMap((c) => SERVERS.map((s) => variant(s, c)));

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

/** A phase that starts rows of servers side by side (rings, quota, budget): rounds x
 * connection modes x rows, one server start (warm-up, then one wrk run) each. */
export interface PhaseSizes {
  rounds: number;
  wrkS: number;
  warmupS: number;
  connections: number;
  conns: readonly ConnMode[];
  /** The rows (keys) to run; every row when absent. */
  rows?: readonly string[];
}

/** The startup and footprint phase (issue 12). */
export interface FootprintSizes {
  /** Timed cold starts per server, servers in turn, after one untimed start each. */
  starts: number;
  /** hyperfine for --version, --check and the `bun -e 1` floor: rounds of `runs` runs per command, warm-up runs per invocation. */
  cli: { rounds: number; runs: number; warmup: number };
  /** RSS: rounds (servers in turn), seconds of settling after the first 200 and after wrk, the wrk run (keep-alive). */
  rss: { rounds: number; settleS: number; wrkS: number; connections: number };
  /** Build the image (full run), or only read the size of an existing localhost/ringside:test (quick). */
  buildImage: boolean;
}

export interface Sizes {
  quick: boolean;
  rounds: number;
  /** wrk seconds per measurement (wrk takes whole seconds). */
  wrkS: number;
  /** wrk seconds of warm-up each time a server starts (0: none). */
  warmupS: number;
  connections: readonly number[];
  pinning: {
    policies: readonly string[];
    servers: readonly ServerName[];
    conns: readonly ConnMode[];
    connections: number;
    wrkS: number;
  };
  /** Cold start: hyperfine invocations (servers interleaved in each), runs per server in each, warm-up runs. */
  cold: { rounds: number; runs: number; warmup: number };
  batch: { requests: number; runs: number };
  /** Variants (ids) the cost phase measures; all when absent. */
  costVariants?: readonly string[];
  cost: {
    /** wrk seconds while perf counts syscalls (the thread runs at full speed), and how many such runs. */
    perfS: number;
    perfRuns: number;
    /** wrk seconds while strace -c is attached (it stops the thread at every call). */
    straceS: number;
    connections: number;
    profileS: number;
    idleS: number;
    /** Idle keep-alive connections held (one request each) for the RSS footprint, under
     * ringside's --max-connections and nginx's worker_connections (4096). Absent in
     * results from before it was measured. */
    footprintConnections?: number;
    /** wrk runs this long before SIGTERM in the stop-under-load measurement. */
    stopAfterMs?: number;
  };
  /** The rings, quota, budget, routes and delay phases; absent in results from before they existed. */
  rings?: PhaseSizes;
  quota?: PhaseSizes;
  budget?: PhaseSizes;
  routes?: PhaseSizes;
  delay?: PhaseSizes;
  /** The startup and footprint phase; absent in results from before it existed. */
  footprint?: FootprintSizes;
  /** Hard limits so nothing hangs: per wrk/ab/hyperfine invocation. */
  timeoutMs: number;
  /** Longest wait, over the whole run, for other work on the machine to calm down. */
  quietBudgetS: number;
  /** wrk measurements repeated (at most, over the run) because other work used > 0.15 cores meanwhile. */
  retryBudget: number;
}

export const FULL: Sizes = {
  quick: false,
  rounds: 3,
  wrkS: 3,
  warmupS: 1,
  connections: [16, 64, 256],
  pinning: {
    policies: PINNINGS.map((p) => p.name),
    servers: SERVERS,
    // Pipelining changes the client's cost, not where the server's threads should run.
    conns: ["close", "keep-alive"],
    connections: 64,
    wrkS: 2,
  },
  cold: { rounds: 5, runs: 4, warmup: 1 },
  batch: { requests: 10_000, runs: 3 },
  cost: { perfS: 1, perfRuns: 3, straceS: 2, connections: 64, profileS: 2, idleS: 10, footprintConnections: 4000, stopAfterMs: 500 },
  // 2 s runs: these three phases restart a server for every point (~11 minutes together).
  rings: { rounds: 3, wrkS: 2, warmupS: 1, connections: 64, conns: CONN_MODES },
  quota: { rounds: 3, wrkS: 2, warmupS: 1, connections: 64, conns: CONN_MODES },
  budget: { rounds: 3, wrkS: 2, warmupS: 1, connections: 64, conns: ["keep-alive", "close"] },
  routes: { rounds: 3, wrkS: 2, warmupS: 1, connections: 64, conns: ["keep-alive", "pipelined"] },
  delay: { rounds: 3, wrkS: 2, warmupS: 1, connections: 64, conns: ["keep-alive"] },
  footprint: { starts: 10, cli: { rounds: 4, runs: 5, warmup: 2 }, rss: { rounds: 3, settleS: 1, wrkS: 2, connections: 64 }, buildImage: true },
  timeoutMs: 120_000,
  quietBudgetS: 90,
  retryBudget: 20,
};

export const QUICK: Sizes = {
  quick: true,
  rounds: 1,
  wrkS: 1,
  warmupS: 0,
  connections: [64],
  pinning: {
    policies: ["unpinned", "ring1-sq0"],
    servers: ["sqpoll"],
    conns: ["keep-alive"],
    connections: 64,
    wrkS: 1,
  },
  cold: { rounds: 1, runs: 3, warmup: 1 },
  batch: { requests: 1_000, runs: 2 },
  // Every server and both connection modes appear at least once.
  costVariants: ["nginx/keep-alive", "bun/close", "spin/keep-alive", "batch/close"],
  cost: { perfS: 1, perfRuns: 1, straceS: 1, connections: 64, profileS: 1, idleS: 0.5, footprintConnections: 1000, stopAfterMs: 300 },
  // One connection mode, and only rows whose start or figures take another path (several
  // rings, workers or processes; a quota; taskset; the default's startup line).
  rings: { rounds: 1, wrkS: 1, warmupS: 0, connections: 64, conns: ["keep-alive"], rows: ["ring1", "ring2", "nginx2", "bun2"] },
  quota: { rounds: 1, wrkS: 1, warmupS: 0, connections: 64, conns: ["keep-alive"], rows: ["nginx", "batch", "default"] },
  budget: { rounds: 1, wrkS: 1, warmupS: 0, connections: 64, conns: ["keep-alive"], rows: ["unrestricted/default", "unrestricted/batch", "taskset/default"] },
  routes: { rounds: 1, wrkS: 1, warmupS: 0, connections: 64, conns: ["keep-alive"], rows: ["route1", "route16"] },
  delay: { rounds: 1, wrkS: 1, warmupS: 0, connections: 64, conns: ["keep-alive"], rows: ["delay10"] },
  footprint: { starts: 3, cli: { rounds: 1, runs: 5, warmup: 1 }, rss: { rounds: 1, settleS: 0.5, wrkS: 1, connections: 64 }, buildImage: false },
  timeoutMs: 30_000,
  quietBudgetS: 3,
  retryBudget: 0,
};

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
