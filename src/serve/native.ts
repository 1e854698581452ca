// The only module that touches bun:ffi. It dlopens the library locate.ts
// finds (or builds), reads the ABI the library describes (rs_describe), encodes the
// config and decodes the counters by name against that description, and
// probes io_uring for --doctor. Nothing here knows a field's offset or an
// enum's value: a new config field is a line in native/ringside.h and one in
// src/config/flags.ts.
import type { Library as FfiLibrary, Pointer } from "bun:ffi";
import { errnoName, RingsideError } from "../lib/errors.ts";
import { buildInstead, findLibrary, loadError, type Found } from "./locate.ts";

const ABI_VERSION = 5;

// ---- loading ------------------------------------------------------------------

const symbols = {
  rs_start: { args: ["ptr", "ptr"], returns: "i32" },
  rs_stop: { args: ["ptr", "u32"], returns: "i32" },
  rs_destroy: { args: ["ptr"], returns: "i32" },
  rs_port: { args: ["ptr"], returns: "i32" },
  rs_rings: { args: ["ptr"], returns: "i32" },
  rs_features: { args: ["ptr"], returns: "u32" },
  rs_counters: { args: ["ptr", "u32"], returns: "ptr" },
  rs_route_requests: { args: ["ptr", "u32"], returns: "ptr" },
  rs_route_outcomes: { args: ["ptr", "u32"], returns: "ptr" },
  rs_outcomes: { args: ["ptr"], returns: "i32" },
  rs_last_step: { args: [], returns: "i32" },
  rs_last_error: { args: [], returns: "cstring" },
  rs_describe: { args: [], returns: "cstring" },
  rs_abi_version: { args: [], returns: "i32" },
  rs_probe: { args: ["u32", "ptr", "ptr", "u32"], returns: "i32" },
  rs_op_name: { args: ["u32"], returns: "cstring" },
} as const;

type Library = FfiLibrary<typeof symbols>["symbols"];
let lib: Library | undefined;

type Ffi = typeof import("bun:ffi");
let ffiModule: Ffi | undefined;
/** bun:ffi, loaded with the library: bundled, a module-level import would load it for --version and --check too. */
const ffi = (): Ffi => (ffiModule ??= require("bun:ffi") as Ffi);
let found: Found | undefined;

/** Loads the library now (it loads on first use otherwise). */
export function loadLibrary(): void {
  library();
}

/** Where the library loaded from, once it has (--doctor). */
export function libraryFound(): Found | undefined {
  return lib && found;
}

function open(from: Found): Library {
  try {
    return ffi().dlopen(from.path, symbols).symbols;
  } catch (e) {
    throw loadError(from, e instanceof Error ? e.message : String(e));
  }
}

function library(): Library {
  if (lib) return lib;
  found = findLibrary();
  let loaded: Library;
  try {
    loaded = open(found);
  } catch (e) {
    // A prebuilt library this system cannot load (no liburing2, an old glibc): from source if it can.
    if (found.source !== "prebuilt" || !(e instanceof RingsideError)) throw e;
    loaded = open((found = buildInstead(e)));
  }
  const abi = loaded.rs_abi_version();
  if (abi !== ABI_VERSION) {
    const fix = found.source === "prebuilt" ? "run scripts/build-prebuilt.sh, or reinstall ringside" : "rebuild it (make -C native)";
    throw new RingsideError("abi", `${found.path} speaks ABI ${abi}, expected ${ABI_VERSION}: ${fix}`);
  }
  return (lib = loaded);
}

// ---- the ABI, as the library describes it -------------------------------------

export type AbiType = "u32" | "i32" | "u64" | "char";
export interface FieldDesc { name: string; type: AbiType; offset: number; count: number; enum: string }
export interface CounterDesc { name: string; offset: number; kind: "counter" | "gauge"; help: string }
export interface StructDesc { size: number; fields: FieldDesc[] }
export interface Description {
  config: StructDesc;
  /** struct rs_route: the config's routes_ptr points at an array of them. */
  route: StructDesc;
  counters: { size: number; fields: CounterDesc[] };
  enums: Record<string, Record<string, number>>;
  constants: Record<string, number>;
  ops_used: string[];
}

let description: Description | undefined;

/** The library's own description of its ABI (rs_describe). */
export function abiDescription(): Description {
  return (description ??= JSON.parse(String(library().rs_describe())) as Description);
}

/** The names of an enum in value order ("state" -> starting, running, ...). */
export function enumNames(d: Description, name: string): string[] {
  const values = d.enums[name];
  if (!values) throw new RingsideError("abi", `the library describes no enum '${name}': rebuild it (make -C native)`);
  return Object.entries(values).sort((a, b) => a[1] - b[1]).map(([n]) => n);
}

// ---- encoding the config by field name -------------------------------------------

/** One element of a config value: a number, an enum value's or a constant's
 * name, bytes whose address a u64 field takes, or an array of structs the
 * library describes (encoded by name the same way) whose address it takes.
 * char fields take a string. */
export type NativeScalar = number | string | { constant: string } | Uint8Array | NativeStructs;
export interface NativeStructs { struct: "route"; items: readonly NativeFields[] }
/** The first elements of an array field, the rest padded. */
export interface NativeList { list: readonly NativeScalar[]; pad: NativeScalar }
/** Array fields indexed by an enum take a record keyed by that enum's names;
 * other array fields take a list. */
export type NativeValue = NativeScalar | NativeList | Readonly<Record<string, NativeScalar>>;
export type NativeFields = Readonly<Record<string, NativeValue>>;

const abiError = (message: string): RingsideError => new RingsideError("abi", message);
const isScalar = (v: NativeValue): v is NativeScalar =>
  typeof v === "number" || typeof v === "string" || v instanceof Uint8Array || "constant" in v || "struct" in v;
const isList = (v: NativeValue): v is NativeList => !isScalar(v) && "list" in v && "pad" in v;

/** Buffers a config points into: alive until rs_start has copied them. */
type Keep = Uint8Array[];

function scalarNumber(d: Description, f: FieldDesc, v: NativeScalar, keep: Keep): number | bigint {
  if (typeof v === "number") return v;
  if (v instanceof Uint8Array || (typeof v === "object" && "struct" in v)) {
    if (f.type !== "u64") throw abiError(`config field ${f.name} is ${f.type}, not a pointer`);
    const bytes = v instanceof Uint8Array ? v : encodeArray(d, v, keep);
    keep.push(bytes);
    return bytes.length ? BigInt(ffi().ptr(bytes)) : 0n;
  }
  if (typeof v === "string") {
    const value = d.enums[f.enum]?.[v];
    if (value === undefined) throw abiError(`config field ${f.name}: '${v}' is not a value of enum ${f.enum}`);
    return value;
  }
  const value = d.constants[v.constant];
  if (value === undefined) throw abiError(`config field ${f.name}: the library has no constant ${v.constant}`);
  return value;
}

function writeScalar(view: DataView, at: number, f: FieldDesc, n: number | bigint): void {
  if (f.type === "u64") view.setBigUint64(at, BigInt(n), true);
  else if (f.type === "i32") view.setInt32(at, Number(n), true);
  else view.setUint32(at, Number(n), true);
}

function writeField(d: Description, buf: Uint8Array, view: DataView, f: FieldDesc, v: NativeValue, keep: Keep): void {
  if (f.type === "char") {
    const bytes = typeof v === "string" ? new TextEncoder().encode(v) : undefined;
    if (!bytes || bytes.length >= f.count) throw abiError(`config field ${f.name} takes a string under ${f.count} bytes`);
    buf.set(bytes, f.offset);
  } else if (f.count === 1) {
    if (!isScalar(v)) throw abiError(`config field ${f.name} takes one value, not a record`);
    writeScalar(view, f.offset, f, scalarNumber(d, f, v, keep));
  } else if (f.enum === "-") {
    if (!isList(v) || v.list.length > f.count) throw abiError(`config field ${f.name} takes a list of at most ${f.count} values`);
    for (let i = 0; i < f.count; i++) writeScalar(view, f.offset + i * (f.type === "u64" ? 8 : 4), f, scalarNumber(d, f, v.list[i] ?? v.pad, keep));
  } else {
    const names = enumNames(d, f.enum);
    if (isScalar(v) || isList(v) || names.length !== f.count || Object.keys(v).length !== f.count) {
      throw abiError(`config field ${f.name} takes one value for each of ${names.join(", ")}`);
    }
    names.forEach((name, i) => {
      const e = v[name];
      if (e === undefined) throw abiError(`config field ${f.name} has no value for ${name}`);
      writeScalar(view, f.offset + i * (f.type === "u64" ? 8 : 4), f, scalarNumber(d, f, e, keep));
    });
  }
}

/** One struct as bytes. Every field the library describes must be set, and
 * nothing the library does not describe may be: either is a mismatch between
 * src/ and native/ that must not start a half-configured server. */
function encodeStruct(d: Description, kind: "config" | "route", fields: NativeFields, keep: Keep): Uint8Array {
  const desc = d[kind];
  const known = new Set(desc.fields.map((f) => f.name));
  const unknown = Object.keys(fields).filter((n) => !known.has(n));
  if (unknown.length) throw abiError(`src/ sets ${kind} field(s) ${unknown.join(", ")} that the library does not describe: rebuild it (make -C native)`);
  const unset = desc.fields.filter((f) => fields[f.name] === undefined).map((f) => f.name);
  if (unset.length) throw abiError(`${kind} field(s) ${unset.join(", ")} of native/ringside.h are not set by src/: ${kind === "config" ? "give each a 'native' option in src/config/flags.ts" : "set each in src/serve/native-config.ts"}`);
  const buf = new Uint8Array(desc.size);
  const view = new DataView(buf.buffer);
  for (const f of desc.fields) writeField(d, buf, view, f, fields[f.name]!, keep);
  return buf;
}

function encodeArray(d: Description, v: NativeStructs, keep: Keep): Uint8Array {
  const size = d[v.struct].size;
  const out = new Uint8Array(size * v.items.length);
  v.items.forEach((item, i) => out.set(encodeStruct(d, v.struct, item, keep), i * size));
  return out;
}

/** struct rs_config as bytes; `keep` collects the buffers it points into
 * (route arrays), which must stay referenced until rs_start returns. */
export function encodeConfig(fields: NativeFields, d: Description = abiDescription(), keep: Keep = []): Uint8Array {
  return encodeStruct(d, "config", fields, keep);
}

// ---- the server handle --------------------------------------------------------

export type Counters = Record<string, number>;

export class NativeServer {
  private constructor(
    private handle: Pointer | null,
    readonly port: number,
    readonly features: string[],
    /** One view per ring of its counters block. */
    private readonly views: BigUint64Array[],
    private readonly layout: CounterDesc[],
    private readonly states: string[],
    /** One view per ring of its requests by route (default first). */
    private readonly routeViews: BigUint64Array[],
    /** One view per ring of its requests by route and outcome (rs_route_outcomes). */
    private readonly outcomeViews: BigUint64Array[],
    /** Outcomes per route: a line of the statuses table each, then each fault. */
    readonly outcomesPerRoute: number,
  ) {}

  /** Starts the ring. A failed rs_start throws RingsideError "start" with the
   * library's message, the errno and the step that failed (enum step). */
  static start(fields: NativeFields): NativeServer {
    const l = library();
    const d = abiDescription();
    const keep: Keep = [];
    const cfg = encodeConfig(fields, d, keep);
    const out = new BigUint64Array(1);
    const ret = l.rs_start(cfg, out);
    keep.length = 0; // copied by rs_start: referenced until here
    if (ret < 0) {
      const step = enumNames(d, "step")[l.rs_last_step()] ?? "unknown";
      throw new RingsideError("start", String(l.rs_last_error()), errnoName(ret), step);
    }
    const handle = Number(out[0]) as Pointer;
    const bits = l.rs_features(handle);
    const features = enumNames(d, "feature").filter((_, i) => bits & (1 << i));
    const rings = Array.from({ length: l.rs_rings(handle) }, (_, k) => k);
    const { toArrayBuffer } = ffi();
    const views = rings.map((k) => new BigUint64Array(toArrayBuffer(l.rs_counters(handle, k)!, 0, d.counters.size)));
    const routes = Number(fields.routes ?? 0) + 1;
    const routeViews = rings.map((k) => new BigUint64Array(toArrayBuffer(l.rs_route_requests(handle, k)!, 0, routes * 8)));
    const perRoute = l.rs_outcomes(handle);
    const outcomeViews = rings.map((k) => new BigUint64Array(toArrayBuffer(l.rs_route_outcomes(handle, k)!, 0, routes * perRoute * 8)));
    return new NativeServer(handle, l.rs_port(handle), features, views, d.counters.fields, enumNames(d, "state"), routeViews, outcomeViews, perRoute);
  }

  get rings(): number {
    return this.views.length;
  }

  /** Each ring's counters, read straight from its thread's memory: no FFI call. */
  ringCounters(): Counters[] {
    return this.views.map((view) => {
      const out: Counters = {};
      for (const f of this.layout) out[f.name] = Number(view[f.offset / 8]);
      return out;
    });
  }

  /** Totals over the rings; the state is the least advanced ring's. */
  counters(): Counters {
    const rings = this.ringCounters();
    const out: Counters = {};
    for (const f of this.layout) out[f.name] = rings.reduce((sum, c) => sum + c[f.name]!, 0);
    out.state = Math.min(...rings.map((c) => c.state!));
    return out;
  }

  /** Requests by route over the rings: the default response's, then each route's in config order. */
  routeRequests(): number[] {
    return Array.from(this.routeViews[0]!, (_, i) => this.routeViews.reduce((sum, v) => sum + Number(v[i]), 0));
  }

  /** By route (the default response's first), over the rings: requests by
   * outcome, one count per line of the statuses table (responses.ts
   * STATUS_CODES), then one per fault (enum fault). A route's sum to its requests. */
  routeOutcomes(): number[][] {
    const n = this.outcomesPerRoute;
    return Array.from(this.routeViews[0]!, (_, r) => Array.from({ length: n }, (_, i) => this.outcomeViews.reduce((sum, v) => sum + Number(v[r * n + i]), 0)));
  }

  state(): string {
    return this.states[this.counters().state ?? -1] ?? "stopped";
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

// ---- probing io_uring (--doctor) ------------------------------------------------

export type Probe =
  | { ok: true; kernelFeatures: number; known: number; supported: string[] }
  | { ok: false; errno: string };

/** Sets up and tears down a throwaway ring with these IORING_SETUP_* flags. */
export function probe(setupFlags: number): Probe {
  const l = library();
  const ops = new Uint8Array(256);
  const features = new Uint32Array(1);
  const ret = l.rs_probe(setupFlags, features, ops, ops.length);
  if (ret < 0) return { ok: false, errno: errnoName(ret) };
  const supported = [...ops.keys()].filter((i) => ops[i]).map((i) => String(l.rs_op_name(i) ?? `op_${i}`));
  return { ok: true, kernelFeatures: features[0]!, known: ret, supported };
}
