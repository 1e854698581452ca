// The only module that touches the native library: builds it when stale,
// dlopens it, mirrors the ABI layouts of native/ringside.h, and turns -errno
// returns into RingsideError.
import { dlopen, FFIType, ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import { existsSync, readdirSync, statSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";

export const NATIVE_DIR = join(import.meta.dir, "..", "native");
const DEFAULT_LIB = join(NATIVE_DIR, "build", "libringside.so");
const ABI_VERSION = 1;

export type ErrorCode =
  | "usage"
  | "build"
  | "load"
  | "abi"
  | "addr_in_use"
  | "addr_denied"
  | "addr_unavailable"
  | "io_uring_blocked"
  | "ring_flag_rejected"
  | "start";

export class RingsideError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errno?: string,
  ) {
    super(message);
    this.name = "RingsideError";
  }
}

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, n]) => [n, name]),
);
export const errnoName = (neg: number): string => errnoNames.get(-neg) ?? `errno ${-neg}`;

// ---- ABI mirror -------------------------------------------------------------

export const Mode = { spin: 0, sqpoll: 1, batch: 2 } as const;
export type ModeName = keyof typeof Mode;

/** enum rs_response_kind, in order. */
export const RESPONSE_KINDS = [
  "close10", "keep10", "close11", "keep11",
  "headClose10", "headKeep10", "headClose11", "headKeep11",
] as const;
export type ResponseKind = (typeof RESPONSE_KINDS)[number];

type CType = "u32" | "i32" | "u64" | "char";
const SIZE: Record<CType, number> = { u32: 4, i32: 4, u64: 8, char: 1 };

/** struct rs_config, field by field in ABI order: [name, type, count]. */
const CONFIG_FIELDS: ReadonlyArray<readonly [string, CType, number]> = [
  ["host", "char", 64], ["port", "u32", 1], ["mode", "u32", 1], ["entries", "u32", 1],
  ["sq_cpu", "i32", 1], ["ring_cpu", "i32", 1], ["sq_idle_ms", "u32", 1],
  ["spin_budget_ms", "u32", 1], ["max_connections", "u32", 1], ["backlog", "u32", 1],
  ["max_header_bytes", "u32", 1], ["max_body_bytes", "u32", 1], ["keep_alive", "u32", 1],
  ["max_requests", "u32", 1], ["idle_timeout_ms", "u32", 1], ["header_timeout_ms", "u32", 1],
  ["reserved", "u32", 1], ["response_ptr", "u64", RESPONSE_KINDS.length],
  ["response_len", "u64", RESPONSE_KINDS.length],
];

/** struct rs_counters: u64 each, in ABI order. */
export const COUNTER_NAMES = [
  "state", "accepted", "active", "requests", "responses", "bytes_sent", "bad_requests",
  "too_large", "accept_errors", "accept_backoffs", "recv_errors", "send_errors",
  "client_resets", "client_eof_early", "header_timeouts", "idle_timeouts",
  "lingering_closes", "sq_full", "cq_overflow", "parks", "loops",
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counters = Record<CounterName, number>;

export const STATES = ["starting", "running", "draining", "stopped"] as const;

export const FEATURES = [
  "sqpoll", "sq_aff", "single_issuer", "defer_taskrun", "coop_taskrun",
  "fixed_files", "ring_aff", "nodrop",
] as const;
export type Feature = (typeof FEATURES)[number];

export const RS_SPIN_FOREVER = 0xffffffff;

interface FieldLayout { offset: number; size: number; type: CType }

/** Offsets by C's natural alignment rules: the TS side's idea of the ABI. */
function layoutConfig(): { size: number; fields: Map<string, FieldLayout> } {
  const fields = new Map<string, FieldLayout>();
  let offset = 0;
  let maxAlign = 1;
  for (const [name, type, count] of CONFIG_FIELDS) {
    const align = SIZE[type];
    maxAlign = Math.max(maxAlign, align);
    offset = Math.ceil(offset / align) * align;
    fields.set(name, { offset, size: SIZE[type] * count, type });
    offset += SIZE[type] * count;
  }
  return { size: Math.ceil(offset / maxAlign) * maxAlign, fields };
}
const CONFIG = layoutConfig();

/** The TS mirror as the same text rs_layout() returns. */
export function mirrorLayout(): string {
  const cfg = [...CONFIG.fields].map(([n, f]) => ` ${n}=${f.offset}:${f.size}`).join("");
  const ctr = COUNTER_NAMES.map((n, i) => ` ${n}=${i * 8}:8`).join("");
  const feats = FEATURES.map((n, bit) => ` ${n}=${bit}`).join("");
  return `config size=${CONFIG.size}${cfg};counters size=${COUNTER_NAMES.length * 8}${ctr};features${feats}`;
}

// ---- building and loading ---------------------------------------------------

function newestSource(): number {
  let newest = 0;
  for (const name of readdirSync(NATIVE_DIR)) {
    if (/\.(c|h)$/.test(name) || name === "Makefile") {
      newest = Math.max(newest, statSync(join(NATIVE_DIR, name)).mtimeMs);
    }
  }
  return newest;
}

function buildHint(output: string): string {
  if (/liburing\.h/.test(output)) return "liburing headers missing: apt-get install liburing-dev";
  if (/-luring/.test(output)) return "liburing missing: apt-get install liburing-dev";
  return output.trim().split("\n").slice(-3).join(" | ");
}

/** Builds native/build/libringside.so when missing or older than its sources. */
export function ensureLibrary(): string {
  const override = process.env.RINGSIDE_LIB;
  if (override) {
    if (!existsSync(override)) {
      throw new RingsideError("load", `RINGSIDE_LIB=${override} does not exist; unset it to build native/ automatically`);
    }
    return override;
  }
  if (existsSync(DEFAULT_LIB) && statSync(DEFAULT_LIB).mtimeMs >= newestSource()) return DEFAULT_LIB;
  if (!Bun.which("make") || !Bun.which(process.env.CC ?? "cc")) {
    throw new RingsideError("build", "cannot build native/: no C compiler or make; apt-get install gcc make liburing-dev");
  }
  const result = Bun.spawnSync(["make", "-s", "-C", NATIVE_DIR, "lib"], { stderr: "pipe", stdout: "pipe" });
  if (!result.success) {
    const out = result.stderr.toString() + result.stdout.toString();
    throw new RingsideError("build", `building native/ failed: ${buildHint(out)}`);
  }
  return DEFAULT_LIB;
}

const symbols = {
  rs_start: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  rs_stop: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  rs_destroy: { args: [FFIType.ptr], returns: FFIType.i32 },
  rs_port: { args: [FFIType.ptr], returns: FFIType.i32 },
  rs_features: { args: [FFIType.ptr], returns: FFIType.u32 },
  rs_counters: { args: [FFIType.ptr], returns: FFIType.ptr },
  rs_last_error: { args: [], returns: FFIType.cstring },
  rs_layout: { args: [], returns: FFIType.cstring },
  rs_abi_version: { args: [], returns: FFIType.i32 },
  rs_probe: { args: [FFIType.u32, FFIType.ptr, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
} as const;

type Library = ReturnType<typeof dlopen<typeof symbols>>["symbols"];
let lib: Library | undefined;

export function library(): Library {
  if (lib) return lib;
  const path = ensureLibrary();
  try {
    lib = dlopen(path, symbols).symbols;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new RingsideError("load", `cannot load ${path}: ${why} (liburing.so.2 missing? apt-get install liburing2)`);
  }
  if (lib.rs_abi_version() !== ABI_VERSION) {
    throw new RingsideError("abi", `${path} speaks ABI ${lib.rs_abi_version()}, expected ${ABI_VERSION}: rebuild it (make -C native)`);
  }
  return lib;
}

export const nativeLayout = (): string => String(library().rs_layout());

// ---- the server handle --------------------------------------------------------

export interface NativeConfig {
  host: string;
  port: number;
  mode: ModeName;
  entries: number;
  sqCpu: number; // -1: not pinned
  ringCpu: number;
  sqIdleMs: number;
  spinBudgetMs: number; // RS_SPIN_FOREVER: never park
  maxConnections: number;
  backlog: number;
  maxHeaderBytes: number;
  maxBodyBytes: number;
  keepAlive: boolean;
  maxRequests: number;
  idleTimeoutMs: number;
  headerTimeoutMs: number;
  responses: Record<ResponseKind, Uint8Array>;
}

function encodeConfig(c: NativeConfig): Uint8Array {
  const buf = new Uint8Array(CONFIG.size);
  const view = new DataView(buf.buffer);
  const at = (name: string): number => CONFIG.fields.get(name)!.offset;
  const host = new TextEncoder().encode(c.host);
  buf.set(host.subarray(0, 63), at("host"));
  const u32: Array<[string, number]> = [
    ["port", c.port], ["mode", Mode[c.mode]], ["entries", c.entries],
    ["sq_idle_ms", c.sqIdleMs], ["spin_budget_ms", c.spinBudgetMs],
    ["max_connections", c.maxConnections], ["backlog", c.backlog],
    ["max_header_bytes", c.maxHeaderBytes], ["max_body_bytes", c.maxBodyBytes],
    ["keep_alive", c.keepAlive ? 1 : 0], ["max_requests", c.maxRequests],
    ["idle_timeout_ms", c.idleTimeoutMs], ["header_timeout_ms", c.headerTimeoutMs],
  ];
  for (const [name, v] of u32) view.setUint32(at(name), v, true);
  view.setInt32(at("sq_cpu"), c.sqCpu, true);
  view.setInt32(at("ring_cpu"), c.ringCpu, true);
  RESPONSE_KINDS.forEach((kind, i) => {
    const bytes = c.responses[kind];
    view.setBigUint64(at("response_ptr") + i * 8, bytes.length ? BigInt(ptr(bytes)) : 0n, true);
    view.setBigUint64(at("response_len") + i * 8, BigInt(bytes.length), true);
  });
  return buf;
}

function startError(ret: number, detail: string, c: NativeConfig): RingsideError {
  const name = errnoName(ret);
  const where = `${c.host.includes(":") ? `[${c.host}]` : c.host}:${c.port}`;
  if (detail.startsWith("bind")) {
    if (name === "EADDRINUSE") return new RingsideError("addr_in_use", `port ${c.port} is in use on ${c.host}: stop the other server or pass --port (0 picks a free one)`, name);
    if (name === "EACCES") return new RingsideError("addr_denied", `binding ${where} is not permitted: use a port >= 1024 or grant CAP_NET_BIND_SERVICE`, name);
    if (name === "EADDRNOTAVAIL") return new RingsideError("addr_unavailable", `${c.host} is not an address of this machine: pass --host 0.0.0.0, 127.0.0.1 or one of its addresses`, name);
  }
  if (detail.startsWith("io_uring_setup") && (name === "EPERM" || name === "ENOSYS" || name === "EACCES")) {
    return new RingsideError("io_uring_blocked", `io_uring is unavailable (${detail}): a seccomp profile (Docker/containerd default) or sysctl kernel.io_uring_disabled blocks it; allow io_uring_setup/io_uring_enter/io_uring_register or set kernel.io_uring_disabled=0`, name);
  }
  if (name === "EOPNOTSUPP" && detail.startsWith("IORING_SETUP")) {
    return new RingsideError("ring_flag_rejected", `the kernel rejected ${detail}: use --mode batch, which needs no SQPOLL`, name);
  }
  return new RingsideError("start", `cannot start: ${detail || name}`, name);
}

export class NativeServer {
  private constructor(
    private handle: Pointer | null,
    readonly port: number,
    readonly features: Feature[],
    private readonly view: BigUint64Array,
  ) {}

  static start(c: NativeConfig): NativeServer {
    const l = library();
    const cfg = encodeConfig(c);
    const out = new BigUint64Array(1);
    const ret = l.rs_start(cfg, out);
    if (ret < 0) throw startError(ret, String(l.rs_last_error()), c);
    const handle = Number(out[0]) as Pointer;
    const bits = l.rs_features(handle);
    const features = FEATURES.filter((_, i) => bits & (1 << i));
    const counters = l.rs_counters(handle)!;
    const view = new BigUint64Array(toArrayBuffer(counters, 0, COUNTER_NAMES.length * 8));
    return new NativeServer(handle, l.rs_port(handle), features, view);
  }

  /** Read straight from the ring thread's memory: no FFI call. */
  counters(): Counters {
    const out = {} as Counters;
    COUNTER_NAMES.forEach((name, i) => (out[name] = Number(this.view[i])));
    return out;
  }

  state(): (typeof STATES)[number] {
    return STATES[Number(this.view[0])] ?? "stopped";
  }

  stop(drainMs: number): void {
    if (this.handle) library().rs_stop(this.handle, drainMs);
  }

  /** Joins the ring thread; the counters view is dead afterwards. */
  destroy(): void {
    if (!this.handle) return;
    library().rs_destroy(this.handle);
    this.handle = null;
  }
}
