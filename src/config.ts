// argv + env -> a validated Config: every bad value becomes a one-line
// RingsideError("usage") naming the flag and what is allowed.
import { readFileSync } from "node:fs";
import { STATUS_CODES } from "node:http";
import { isIP } from "node:net";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { RS_SPIN_FOREVER, RingsideError, type ModeName, type NativeConfig } from "./native.ts";
import { buildResponses, type ResponseSpec } from "./response.ts";
import { OPTIONS, type OptionSpec } from "./options.ts";

export interface Config {
  native: NativeConfig;
  drainTimeoutMs: number;
  statsIntervalMs: number;
  logFormat: "text" | "json";
  quiet: boolean;
  help: boolean;
  version: boolean;
  /** --fallback: Bun.serve stands in when io_uring is blocked (src/fallback.ts). */
  fallback: boolean;
  /** --admin-port/--admin-host: /healthz, /readyz, /metrics (src/admin.ts); off when undefined. */
  admin?: { host: string; port: number };
  /** --check URL (src/check.ts). */
  check?: string;
  /** --doctor (src/doctor.ts). */
  doctor: boolean;
}

type Raw = string | boolean | string[] | undefined;

const usageError = (message: string): RingsideError => new RingsideError("usage", message);

function describe(o: OptionSpec, from: "flag" | "env"): string {
  return from === "flag" || !o.env ? `--${o.flag}` : `${o.env} (--${o.flag})`;
}

function parseInt10(o: OptionSpec, text: string, from: "flag" | "env"): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < o.min! || n > o.max!) {
    throw usageError(`${describe(o, from)} must be a whole number from ${o.min} to ${o.max}, got '${text}'`);
  }
  return n;
}

/** Milliseconds; "forever" only where RS_SPIN_FOREVER makes sense. */
function parseDuration(o: OptionSpec, text: string, from: "flag" | "env"): number {
  const t = text.trim();
  if (o.flag === "spin-budget" && t === "forever") return RS_SPIN_FOREVER;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(t);
  const scale = { ms: 1, s: 1000, m: 60_000 }[(m?.[2] ?? o.unit!) as "ms" | "s" | "m"];
  const ms = m ? Math.round(Number(m[1]) * scale) : NaN;
  if (!Number.isFinite(ms) || ms < o.min! || ms > o.max!) {
    const forever = o.flag === "spin-budget" ? " or 'forever'" : "";
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

/** The flag's value, else its env var, else undefined. */
function lookup(o: OptionSpec, values: Record<string, Raw>, env: Record<string, string | undefined>): { v: Raw; from: "flag" | "env" } {
  if (values[o.flag] !== undefined) return { v: values[o.flag], from: "flag" };
  const e = o.env ? env[o.env] : undefined;
  if (e === undefined || e === "") return { v: undefined, from: "env" };
  if (o.kind === "bool") return { v: parseBool(o, e), from: "env" };
  if (o.kind === "list") return { v: e.split("\n").filter((l) => l.trim()), from: "env" };
  return { v: e, from: "env" };
}

function spec(flag: string): OptionSpec {
  return OPTIONS.find((o) => o.flag === flag)!;
}

class Reader {
  constructor(
    private values: Record<string, Raw>,
    private env: Record<string, string | undefined>,
  ) {}
  has(flag: string): boolean {
    return lookup(spec(flag), this.values, this.env).v !== undefined;
  }
  str(flag: string): string {
    const o = spec(flag);
    const { v } = lookup(o, this.values, this.env);
    return typeof v === "string" ? v : (o.def ?? "");
  }
  bool(flag: string): boolean {
    return lookup(spec(flag), this.values, this.env).v === true;
  }
  list(flag: string): string[] {
    const { v } = lookup(spec(flag), this.values, this.env);
    return Array.isArray(v) ? v : [];
  }
  int(flag: string, fallback = -1): number {
    const o = spec(flag);
    const { v, from } = lookup(o, this.values, this.env);
    if (typeof v === "string") return parseInt10(o, v, from);
    return o.def !== undefined ? Number(o.def) : fallback;
  }
  ms(flag: string): number {
    const o = spec(flag);
    const { v, from } = lookup(o, this.values, this.env);
    return parseDuration(o, typeof v === "string" ? v : o.def!, from);
  }
  choice<T extends string>(flag: string): T {
    const o = spec(flag);
    const { v, from } = lookup(o, this.values, this.env);
    const t = typeof v === "string" ? v : o.def!;
    if (!o.choices!.includes(t)) {
      throw usageError(`${describe(o, from)} must be one of ${o.choices!.join(", ")}, got '${t}'`);
    }
    return t as T;
  }
}

function parseHost(text: string): string {
  const h = text.trim().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost") return "127.0.0.1";
  if (!isIP(h)) throw usageError(`--host must be a numeric IPv4 or IPv6 address (or localhost), got '${text}'`);
  return h;
}

function readBody(r: Reader): { body: Uint8Array; explicit: boolean } {
  if (r.has("body") && r.has("body-file")) {
    throw usageError("--body and --body-file conflict: give one of them");
  }
  if (r.has("body-file")) {
    const path = r.str("body-file");
    try {
      return { body: new Uint8Array(readFileSync(path)), explicit: true };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
      throw usageError(`--body-file '${path}' cannot be read (${code}): give a readable file`);
    }
  }
  const text = r.has("body") ? r.str("body") : "Have a nice day!\n";
  return { body: new TextEncoder().encode(text), explicit: r.has("body") };
}

function responseSpec(r: Reader): ResponseSpec {
  const status = r.int("status");
  const reason = STATUS_CODES[status];
  if (!reason) {
    throw usageError(`--status ${status} has no standard reason phrase: use a registered code from 200 to 599`);
  }
  const { body, explicit } = readBody(r);
  return { status, reason, contentType: r.str("content-type"), headers: r.list("header"), body, bodyExplicit: explicit };
}

/** node:util's parseArgs messages, reworded as one line with the fix. */
function explainParseError(message: string): string {
  const flag = /'(--?[\w-]+)/.exec(message)?.[1] ?? "";
  if (/argument is ambiguous/.test(message)) return `${flag} value starts with '-': write ${flag}=VALUE`;
  if (/argument missing/.test(message)) return `${flag} needs a value; see --help`;
  if (/does not take an argument/.test(message)) return `${flag} takes no value; see --help`;
  return `${message.split("\n")[0]!.replace(/\. To specify.*$/, "")}; see --help`;
}

function adminAddress(r: Reader, native: NativeConfig): Config["admin"] {
  if (!r.has("admin-port")) {
    if (r.has("admin-host")) throw usageError("--admin-host needs --admin-port: give the port too");
    return undefined;
  }
  const port = r.int("admin-port");
  if (port !== 0 && port === native.port) {
    throw usageError(`--admin-port ${port} is the serving --port: pick another (or 0 for any free port)`);
  }
  return { host: r.has("admin-host") ? parseHost(r.str("admin-host")) : native.host, port };
}

export function parseConfig(argv: string[], env: Record<string, string | undefined>): Config {
  let values: Record<string, Raw>;
  try {
    const options = Object.fromEntries(
      OPTIONS.map((o) => [o.flag, { type: o.kind === "bool" ? ("boolean" as const) : ("string" as const), multiple: o.kind === "list" }]),
    );
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, Raw>;
  } catch (e) {
    throw usageError(explainParseError(e instanceof Error ? e.message : String(e)));
  }
  const r = new Reader(values, env);
  const help = r.bool("help");
  const version = r.bool("version");
  const spinBudgetMs = r.ms("spin-budget");
  const native: NativeConfig = {
    host: parseHost(r.str("host")),
    port: r.int("port"),
    mode: r.choice<ModeName>("mode"),
    entries: r.int("entries"),
    sqCpu: r.int("sq-cpu"),
    ringCpu: r.int("cpu"),
    sqIdleMs: r.ms("sq-idle"),
    spinBudgetMs,
    maxConnections: r.int("max-connections"),
    backlog: r.int("backlog"),
    maxHeaderBytes: r.int("max-header-size"),
    maxBodyBytes: r.int("max-body-size"),
    keepAlive: r.bool("keep-alive"),
    maxRequests: r.int("max-requests"),
    idleTimeoutMs: r.ms("idle-timeout"),
    headerTimeoutMs: r.ms("header-timeout"),
    responses: buildResponses(responseSpec(r)),
  };
  for (const [flag, cpu] of [["sq-cpu", native.sqCpu], ["cpu", native.ringCpu]] as const) {
    if (cpu >= cpus().length) {
      throw usageError(`--${flag} ${cpu}: this machine has CPUs 0-${cpus().length - 1}`);
    }
  }
  if (native.mode === "batch" && r.has("sq-cpu")) {
    throw usageError("--sq-cpu pins the SQPOLL thread, which --mode batch does not have: drop one of them");
  }
  if (native.mode !== "spin" && r.has("spin-budget")) {
    throw usageError(`--spin-budget applies to --mode spin only, not ${native.mode}: drop one of them`);
  }
  if (!native.keepAlive && r.has("max-requests")) {
    throw usageError("--max-requests needs --keep-alive: without it every connection serves one request");
  }
  return {
    native,
    drainTimeoutMs: r.ms("drain-timeout"),
    statsIntervalMs: r.ms("stats-interval"),
    logFormat: r.choice<"text" | "json">("log-format"),
    quiet: r.bool("quiet"),
    help,
    version,
    fallback: r.bool("fallback"),
    admin: adminAddress(r, native),
    check: r.has("check") ? r.str("check") : undefined,
    doctor: r.bool("doctor"),
  };
}
