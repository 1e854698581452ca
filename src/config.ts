// argv + env -> a validated Config: every bad value becomes a one-line
// usage error naming the flag and what is allowed. The native half of the
// config (struct rs_config, by field name) comes straight from the options
// table's `native` column.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { pickLayout, readBudget, type ModeName } from "./budget.ts";
import { usageError } from "./errors.ts";
import type { NativeFields, NativeList, NativeScalar, NativeValue } from "./native.ts";
import { OPTIONS, type OptionSpec } from "./options.ts";
import { REASONS } from "./reasons.ts";
import { bodyless, buildResponses, DEFAULT_BODY, validateContentType, validateHeader, type ResponseSpec } from "./response.ts";

export type { ModeName };

export interface Config {
  /** struct rs_config by field name, for src/native.ts to encode. */
  native: NativeFields;
  host: string;
  port: number;
  /** The mode and ring count in use (resolved when auto), and why. */
  mode: ModeName;
  rings: number;
  layoutWhy: string;
  keepAlive: boolean;
  maxBodyBytes: number;
  idleTimeoutMs: number;
  /** --sq-cpu / --cpu lists, undefined when not pinned. */
  sqCpus?: number[];
  ringCpus?: number[];
  response: ResponseSpec;
  drainTimeoutMs: number;
  statsIntervalMs: number;
  logFormat: "text" | "json";
  quiet: boolean;
  /** --fallback: Bun.serve stands in when io_uring is blocked (src/fallback.ts). */
  fallback: boolean;
  /** --admin-port/--admin-host: /healthz, /readyz, /metrics (src/admin.ts); off when undefined. */
  admin?: { host: string; port: number };
}

type Raw = string | boolean | string[] | undefined;
type From = "flag" | "env";

function describe(o: OptionSpec, from: From): string {
  return from === "flag" || !o.env ? `--${o.flag}` : `${o.env} (--${o.flag})`;
}

function parseInt10(o: OptionSpec, text: string, from: From): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < o.min! || n > o.max! || (o.pow2 && n & (n - 1))) {
    const pow2 = o.pow2 ? ", 0 or a power of two," : "";
    throw usageError(`${describe(o, from)} must be a whole number from ${o.min} to ${o.max}${pow2 || ","} got '${text}'`);
  }
  return n;
}

/** Milliseconds, or the option's "forever" word as its library constant. */
function parseDuration(o: OptionSpec, text: string, from: From): number | { constant: string } {
  const t = text.trim();
  if (o.forever && t === o.forever.word) return { constant: o.forever.constant };
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(t);
  const scale = { ms: 1, s: 1000, m: 60_000 }[(m?.[2] ?? o.unit!) as "ms" | "s" | "m"];
  const ms = m ? Math.round(Number(m[1]) * scale) : NaN;
  if (!Number.isFinite(ms) || ms < o.min! || ms > o.max!) {
    const forever = o.forever ? ` or '${o.forever.word}'` : "";
    throw usageError(`${describe(o, from)} must be a duration like 250ms, 5s or 1m (${o.min}ms to ${o.max}ms)${forever}, got '${text}'`);
  }
  return ms;
}

function parseBool(o: OptionSpec, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(t)) return true;
  if (["0", "false", "no", "off", ""].includes(t)) return false;
  throw usageError(`${o.env} must be 1/true/yes/on or 0/false/no/off, got '${text}'`);
}

/** "1,3,5" or "1-3" or both ("0,2-3"). */
function parseCpus(o: OptionSpec, text: string, from: From): number[] {
  const out: number[] = [];
  for (const part of text.split(",")) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    const lo = Number(m?.[1]), hi = Number(m?.[2] ?? m?.[1]);
    if (!m || lo > hi || hi > o.max!) throw usageError(`${describe(o, from)} must be CPU numbers like 1,2,3 or 1-3 (0 to ${o.max}), got '${text}'`);
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return out;
}

function parseHost(o: OptionSpec, text: string): string {
  const h = text.trim().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost") return "127.0.0.1";
  if (!isIP(h)) throw usageError(`--${o.flag} must be a numeric IPv4 or IPv6 address (or localhost), got '${text}'`);
  return h;
}

const spec = (flag: string): OptionSpec => OPTIONS.find((o) => o.flag === flag)!;

/** An option's value: the flag, else its env var, else its default. */
class Reader {
  constructor(
    private values: Record<string, Raw>,
    private env: Record<string, string | undefined>,
  ) {}

  private lookup(o: OptionSpec): { v: Raw; from: From } {
    if (this.values[o.flag] !== undefined) return { v: this.values[o.flag], from: "flag" };
    const e = o.env ? this.env[o.env] : undefined;
    if (e === undefined || e === "") return { v: undefined, from: "env" };
    if (o.kind === "bool") return { v: parseBool(o, e), from: "env" };
    if (o.kind === "list") return { v: e.split("\n").filter((l) => l.trim()), from: "env" };
    return { v: e, from: "env" };
  }
  has(flag: string): boolean {
    return this.lookup(spec(flag)).v !== undefined;
  }
  /** The text given or the default, if any. */
  private text(o: OptionSpec): { t: string | undefined; from: From } {
    const { v, from } = this.lookup(o);
    return { t: typeof v === "string" ? v : o.def, from };
  }
  str(flag: string): string {
    return this.text(spec(flag)).t ?? "";
  }
  bool(flag: string): boolean {
    return this.lookup(spec(flag)).v === true;
  }
  list(flag: string): string[] {
    const { v } = this.lookup(spec(flag));
    return Array.isArray(v) ? v : [];
  }
  /** A whole number; undefined when neither given nor defaulted. */
  int(flag: string): number | undefined {
    const o = spec(flag);
    const { t, from } = this.text(o);
    return t === undefined ? undefined : parseInt10(o, t, from);
  }
  ms(flag: string): number {
    const o = spec(flag);
    const { t, from } = this.text(o);
    const v = parseDuration(o, t!, from);
    if (typeof v !== "number") throw usageError(`--${flag} cannot be '${t}' here`);
    return v;
  }
  choice<T extends string>(flag: string): T {
    const o = spec(flag);
    const { t, from } = this.text(o);
    if (!o.choices!.includes(t!)) throw usageError(`${describe(o, from)} must be one of ${o.choices!.join(", ")}, got '${t}'`);
    return t as T;
  }
  host(flag: string): string {
    const o = spec(flag);
    return parseHost(o, this.text(o).t!);
  }
  /** A whole number from 1 to max, or "auto". */
  countOrAuto(flag: string, max: number): number | "auto" {
    const o = spec(flag);
    const { t, from } = this.text(o);
    const text = (t ?? "auto").trim();
    if (text === "auto") return "auto";
    if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
      throw usageError(`${describe(o, from)} must be a whole number from 1 to ${max} or auto, got '${t}'`);
    }
    return Number(text);
  }
  /** A CPU list; undefined when not given. */
  cpus(flag: string): number[] | undefined {
    const o = spec(flag);
    const { t, from } = this.text(o);
    return t === undefined ? undefined : parseCpus(o, t, from);
  }
  /** The option's value as its struct rs_config field takes it. */
  native(o: OptionSpec): NativeScalar | NativeList {
    const { t, from } = this.text(o);
    if (o.kind === "bool") return this.bool(o.flag) ? 1 : 0;
    if (o.kind === "cpus") return { list: t === undefined ? [] : parseCpus(o, t, from), pad: { constant: o.nativeUnset! } };
    if (t === undefined) {
      if (!o.nativeUnset) throw usageError(`--${o.flag} has no value and no default`);
      return { constant: o.nativeUnset };
    }
    if (o.kind === "duration") return parseDuration(o, t, from);
    if (o.kind === "int") return parseInt10(o, t, from);
    if (o.kind === "host") return parseHost(o, t);
    if (o.kind === "choice") return this.choice(o.flag);
    return t;
  }
}

function readBody(r: Reader): { body: Uint8Array; explicit: boolean } {
  if (r.has("body") && r.has("body-file")) throw usageError("--body and --body-file conflict: give one of them");
  if (r.has("body-file")) {
    const path = r.str("body-file");
    try {
      return { body: new Uint8Array(readFileSync(path)), explicit: true };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
      throw usageError(`--body-file '${path}' cannot be read (${code}): give a readable file`);
    }
  }
  return { body: new TextEncoder().encode(r.has("body") ? r.str("body") : DEFAULT_BODY), explicit: r.has("body") };
}

function responseSpec(r: Reader): ResponseSpec {
  const status = r.int("status")!;
  const reason = REASONS[status];
  if (!reason) throw usageError(`--status ${status} has no standard reason phrase: use a registered code from 200 to 599`);
  const { body, explicit } = readBody(r);
  if (bodyless(status) && explicit && body.length) throw usageError(`--status ${status} responses carry no body: drop --body/--body-file`);
  const contentType = validateContentType(r.str("content-type"));
  const headers = r.list("header").map(validateHeader);
  return { status, reason, contentType, headers, body: bodyless(status) ? new Uint8Array(0) : body };
}

/** Every option with a `native` field, the layout, and the prebuilt response variants. */
function nativeFields(r: Reader, layout: { mode: ModeName; rings: number }, response: ResponseSpec): NativeFields {
  const out: Record<string, NativeValue> = { mode: layout.mode, rings: layout.rings };
  for (const o of OPTIONS) if (o.native) out[o.native] = r.native(o);
  const variants = buildResponses(response);
  out.response_ptr = variants;
  out.response_len = Object.fromEntries(Object.entries(variants).map(([k, v]) => [k, v.length]));
  return out;
}

/** node:util's parseArgs messages, reworded as one line with the fix. */
function explainParseError(message: string): string {
  const flag = /'(--?[\w-]+)/.exec(message)?.[1] ?? "";
  if (/argument is ambiguous/.test(message)) return `${flag} value starts with '-': write ${flag}=VALUE`;
  if (/argument missing/.test(message)) return `${flag} needs a value; see --help`;
  if (/does not take an argument/.test(message)) return `${flag} takes no value; see --help`;
  return `${message.split("\n")[0]!.replace(/\. To specify.*$/, "")}; see --help`;
}

function adminAddress(r: Reader, host: string, port: number): Config["admin"] {
  if (!r.has("admin-port")) {
    if (r.has("admin-host")) throw usageError("--admin-host needs --admin-port: give the port too");
    return undefined;
  }
  const adminPort = r.int("admin-port")!;
  if (adminPort !== 0 && adminPort === port) throw usageError(`--admin-port ${adminPort} is the serving --port: pick another (or 0 for any free port)`);
  return { host: r.has("admin-host") ? r.host("admin-host") : host, port: adminPort };
}

/** --rings: a count, or auto (which a --cpu list turns into its length). */
function ringsWanted(r: Reader, ringCpus?: number[]): number | "auto" {
  const rings = r.countOrAuto("rings", 256);
  return rings === "auto" ? (ringCpus?.length ?? "auto") : rings;
}

/** Mode and rings, with --mode/--rings auto resolved against the CPU budget. */
function layoutOf(r: Reader, env: Record<string, string | undefined>, ringCpus?: number[]) {
  const mode = r.choice<ModeName | "auto">("mode");
  const rings = ringsWanted(r, ringCpus);
  return mode === "auto" || rings === "auto" ? pickLayout(readBudget(env), mode, rings) : { mode, rings, why: "" };
}

function checkCpus(layout: { rings: number }, sqCpus?: number[], ringCpus?: number[]): void {
  for (const [flag, list] of [["sq-cpu", sqCpus], ["cpu", ringCpus]] as const) {
    const bad = list?.find((c) => c >= cpus().length);
    if (bad !== undefined) throw usageError(`--${flag} ${bad}: this machine has CPUs 0-${cpus().length - 1}`);
    if (list && list.length !== layout.rings) throw usageError(`--${flag} lists ${list.length} CPU${list.length === 1 ? "" : "s"} for ${layout.rings} ring${layout.rings === 1 ? "" : "s"}: give one per ring`);
  }
}

function checkCombinations(r: Reader, layout: { mode: ModeName; rings: number; why: string }, keepAlive: boolean): void {
  const picked = layout.why ? ` (auto: ${layout.why})` : "";
  if (layout.mode === "batch" && r.has("sq-cpu")) throw usageError(`--sq-cpu pins SQPOLL threads, which --mode batch does not have${picked}: drop --sq-cpu or give --mode spin or sqpoll`);
  if (layout.mode !== "spin" && r.has("spin-budget")) throw usageError(`--spin-budget applies to --mode spin only, not ${layout.mode}${picked}: drop one of them`);
  if (!keepAlive && r.has("max-requests")) throw usageError("--max-requests needs --keep-alive: without it every connection serves one request");
  if (r.int("max-connections")! < layout.rings) throw usageError(`--max-connections ${r.int("max-connections")} is fewer than the ${layout.rings} rings: give at least one connection per ring`);
}

/** The parsed flags and env: only what `serve` (and --check, --doctor) need. */
export function readArgs(argv: string[], env: Record<string, string | undefined>): Reader {
  let values: Record<string, Raw>;
  try {
    const options = Object.fromEntries(
      OPTIONS.map((o) => [o.flag, { type: o.kind === "bool" ? ("boolean" as const) : ("string" as const), multiple: o.kind === "list" }]),
    );
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, Raw>;
  } catch (e) {
    throw usageError(explainParseError(e instanceof Error ? e.message : String(e)));
  }
  return new Reader(values, env);
}
export type { Reader };

export function parseConfig(argv: string[], env: Record<string, string | undefined>): Config {
  const r = readArgs(argv, env);
  const host = r.host("host");
  const port = r.int("port")!;
  const keepAlive = r.bool("keep-alive");
  const sqCpus = r.cpus("sq-cpu");
  const ringCpus = r.cpus("cpu");
  const layout = layoutOf(r, env, ringCpus);
  const response = responseSpec(r);
  // Every value parses before any combination is judged.
  const native = nativeFields(r, layout, response);
  checkCombinations(r, layout, keepAlive);
  checkCpus(layout, sqCpus, ringCpus);
  return {
    native,
    host,
    port,
    mode: layout.mode,
    rings: layout.rings,
    layoutWhy: layout.why,
    keepAlive,
    maxBodyBytes: r.int("max-body-size")!,
    idleTimeoutMs: r.ms("idle-timeout"),
    sqCpus,
    ringCpus,
    response,
    drainTimeoutMs: r.ms("drain-timeout"),
    statsIntervalMs: r.ms("stats-interval"),
    logFormat: r.choice<"text" | "json">("log-format"),
    quiet: r.bool("quiet"),
    fallback: r.bool("fallback"),
    admin: adminAddress(r, host, port),
  };
}
