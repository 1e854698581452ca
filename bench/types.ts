// The shape of bench/results/*.json: raw measurements, then what report.ts derives.
import type { ConnMode, ServerName, Sizes, StartupKey } from "./config.ts";
import type { IdleCpu, ProfileLine, SyscallCount } from "./cost.ts";
import type { Footprint } from "./footprint.ts";
import type { Timing } from "./hyperfine.ts";
import type { Machine } from "./machine.ts";
import type { RingShare } from "./metrics.ts";
import type { Foreign, PhaseNoise } from "./monitor.ts";
import type { Spread } from "./stats.ts";
import type { BatchValidation } from "./hyperfine.ts";
import type { WrkResult } from "./wrk.ts";

/** Where each thread was allowed to run, from /proc/.../status Cpus_allowed_list. */
export type Affinity = Record<string, string>;

/** One wrk measurement (wrk's own figures) with the server's CPU over it. */
export interface LoadRun extends Omit<WrkResult, "clientCpuS"> {
  round: number;
  server: ServerName;
  conn: ConnMode;
  connections: number;
  /** Server CPU over the run, seconds (utime+stime of every server process, all threads). */
  serverCpuS: number;
  /** ringside only: the ring thread, the SQPOLL thread, and the sum over live threads. */
  ringCpuS?: number;
  sqCpuS?: number;
  taskSumCpuS?: number;
  /** CPU used by processes this run did not start, during the measurement, in cores:
   * the machine's busy time (/proc/stat) minus server, wrk and harness. */
  foreignCores: number;
  /** Time the hypervisor ran something else instead of this VM, in cores. */
  stealCores: number;
  /** Measurements of this point thrown away because other work was using the machine. */
  retried: number;
}

export interface PinningTrial extends LoadRun {
  policy: string;
  affinity: Affinity;
}

export interface ServerBlock {
  round: number;
  server: ServerName;
  conn: ConnMode;
  /** ringside's summary counters at stop. */
  counters: Record<string, number>;
  exitCode: number | null;
  /** Requests wrk (or ab) saw completed against this process, warm-up included. */
  clientRequests: number;
  features?: string;
}

export interface CostResult {
  server: ServerName;
  conn: ConnMode;
  perf?: SyscallCount;
  strace?: SyscallCount;
  profile?: ProfileLine[];
  idle: IdleCpu;
  /** Peak RSS, kB: VmHWM summed over the server's processes (nginx: master + worker). */
  vmHwmKb: number;
  vmHwmByProcess: Record<string, number>;
  batch?: Timing & { client: string; validation: BatchValidation };
  /** VmRSS with idle keep-alive connections held (keep-alive variants). */
  footprint?: Footprint;
  /** SIGTERM while wrk loads the server: milliseconds to the exit, and the exit code. */
  stopUnderLoad?: { ms: number; code: number | null };
  affinity: Affinity;
  counters: Record<string, number>;
  /** Seconds each step took (for keeping the run short). */
  stepsS: Record<string, number>;
}

export interface ThroughputRow {
  server: ServerName;
  conn: ConnMode;
  connections: number;
  rps: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  clientCores: Spread;
  serverCores: Spread;
  cpuPer100kS: Spread;
  foreignCores: Spread;
  errors: number;
  /** Ratio to the peer's figure in the same round, over rounds. */
  vsNginx: Spread;
  vsBun: Spread;
  /** Requests per CPU-second of the server, and its same-round ratio to nginx's:
   * what the server could do with a CPU to itself when the client is the bottleneck. */
  perCpuS: Spread;
  perCpuVsNginx: Spread;
}

/** One wrk measurement of a row in the rings, quota or budget phase. */
export interface RowRun extends Omit<LoadRun, "server"> {
  /** The row's key ("ring2", "nginx2", "batch", "quota/default" ...). */
  row: string;
  /** ringside with --admin-port: what each ring accepted and served over the run (/metrics). */
  perRing?: RingShare[];
}

/** ringside's layout as its startup line announced it. */
export interface Layout {
  mode: string;
  rings: number;
  /** Why, when auto chose (the line's auto="..."). */
  auto?: string;
}

/** One server start of a row. */
export interface RowBlock {
  round: number;
  row: string;
  conn: ConnMode;
  /** ringside's summary counters at stop. */
  counters: Record<string, number>;
  exitCode: number | null;
  clientRequests: number;
  layout?: Layout;
}

/** A row as the report names it. */
export interface RowInfo {
  key: string;
  label: string;
  kind: "ringside" | "nginx" | "bun";
  /** The server's command line (keep-alive runs add --keep-alive to ringside's). */
  command: string;
  /** Where the server and wrk ran, and any quota. */
  placement: string;
}

/** One timed cold start: spawn to the first 200, polled every millisecond. */
export interface ColdStartRun {
  /** The start's index; every server is started once per index, in turn. */
  run: number;
  key: StartupKey;
  ms: number;
  /** Connection attempts until the 200 (refused ones included). */
  attempts: number;
}

/** /proc/PID/status memory fields, kB, summed over a server's processes. */
export interface Memory {
  vmRssKb: number;
  rssAnonKb: number;
  rssFileKb: number;
  rssShmemKb: number;
}

/** RSS of one server start: once it answers and has settled, and after a wrk run and a settle. */
export interface RssRun {
  round: number;
  key: StartupKey;
  /** Processes summed (nginx: master + worker). */
  processes: number;
  idle: Memory;
  afterLoad: Memory;
  rps: number;
  requests: number;
}

/** The sidecar image's size, or why there is none. */
export interface ImageSize {
  tag: string;
  /** podman image inspect .Size, bytes; absent when not measured. */
  bytes?: number;
  /** Built in this run (full), or an existing image read (quick). */
  built: boolean;
  /** The image's creation time (an existing image may come from another tree). */
  created?: string;
  /** Seconds the base images and the build took. */
  buildS?: number;
  /** How it was made, or why it was not measured. */
  note: string;
}

/** The startup and footprint phase: cold starts, CLI commands, RSS, image size. */
export interface FootprintResult {
  /** Each server's command line as the phase ran it. */
  commands: Record<StartupKey, string>;
  cold: ColdStartRun[];
  /** hyperfine, pooled over rounds: names "floor", "version/src", "version/bundle", "check/src", "check/bundle". */
  cli: Timing[];
  rss: RssRun[];
  image: ImageSize;
}

/** The raw figures of the rings, quota or budget phase. */
export interface PhaseResult {
  rows: RowInfo[];
  runs: RowRun[];
  blocks: RowBlock[];
  /** Why the phase, or part of it, did not run. */
  skipped?: string;
}

export interface Target {
  name: string;
  want: string;
  got: string;
  met: boolean | null;
  note?: string;
}

export interface Results {
  schema: 1;
  quick: boolean;
  startedAt: string;
  durationS: number;
  machine: Machine;
  sizes: Sizes;
  /** ringside's defaults at run time (src/options.ts), which the idle figures depend on. */
  serverDefaults: { spinBudgetMs: number; sqIdleMs: number; drainTimeoutMs?: number };
  /** git HEAD, local changes to src/ and native/, and the library's mtime, at start and end. */
  tree: { start: string; end: string };
  pinning: {
    chosen: string;
    summary: string;
    forced: boolean;
    trials: PinningTrial[];
    scores: Record<string, number>;
  };
  load: LoadRun[];
  blocks: ServerBlock[];
  throughput: ThroughputRow[];
  cold: Timing[];
  cost: CostResult[];
  sqpollAccounting: { processCpuS: number; taskSumCpuS: number; sqCpuS: number; included: boolean; note: string } | null;
  targets: Target[];
  anomalies: string[];
  /** The rings, quota, budget, routes and delay phases (absent in older results, or when not run). */
  rings?: PhaseResult;
  quota?: PhaseResult;
  budget?: PhaseResult;
  routes?: PhaseResult;
  delay?: PhaseResult;
  /** The startup and footprint phase (absent in older results, or when not run). */
  footprint?: FootprintResult;
  /** Set when `--only` ran these phases alone (no pinning trials, matrix, hyperfine cold start or cost). */
  only?: string[];
  noise: { phases: PhaseNoise[]; processes: Foreign[]; waitedS: number; noisyStarts: number; retries: number };
}
