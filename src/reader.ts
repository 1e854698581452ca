// Reading one option: its flag, else its env var, else its default, parsed
// and checked as the options table says; every bad value becomes a one-line
// usage error naming the flag (or the variable) and what is allowed. Light on
// purpose: --help, --version and --check load this and nothing heavier.
import { parseFlags, type Raw } from "./args.ts";
import { usageError } from "./errors.ts";
import type { NativeList, NativeScalar } from "./native.ts";
import { OPTIONS, type OptionSpec } from "./options.ts";

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

/** "250ms", "5s", "1m", or a bare number in `unit`: milliseconds, NaN if none of these. */
export function durationMs(text: string, unit: "ms" | "s"): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  const scale = { ms: 1, s: 1000, m: 60_000 }[(m?.[2] ?? unit) as "ms" | "s" | "m"];
  return m ? Math.round(Number(m[1]) * scale) : NaN;
}

/** Milliseconds, or the option's "forever" word as its library constant. */
function parseDuration(o: OptionSpec, text: string, from: From): number | { constant: string } {
  const t = text.trim();
  if (o.forever && t === o.forever.word) return { constant: o.forever.constant };
  const ms = durationMs(t, o.unit!);
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

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A numeric IPv6 address, as the URL parser reads one (no zone id: the
 * library's inet_pton takes none either). */
function isIPv6(h: string): boolean {
  if (!h.includes(":") || !/^[0-9a-fA-F:.]+$/.test(h)) return false;
  try {
    return new URL(`http://[${h}]/`).hostname.startsWith("[");
  } catch {
    return false;
  }
}

function parseHost(o: OptionSpec, text: string): string {
  const h = text.trim().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost") return "127.0.0.1";
  if (!IPV4.test(h) && !isIPv6(h)) throw usageError(`--${o.flag} must be a numeric IPv4 or IPv6 address (or localhost), got '${text}'`);
  return h;
}

export const spec = (flag: string): OptionSpec => OPTIONS.find((o) => o.flag === flag)!;

/** An option's value: the flag, else its env var, else a preset's default
 * (--preset), else the table's default. */
export class Reader {
  constructor(
    private values: Record<string, Raw>,
    private env: Record<string, string | undefined>,
    private presetDefaults: Readonly<Record<string, string>> = {},
  ) {}

  /** The same flags and env over other defaults (a preset's). */
  withDefaults(defaults: Readonly<Record<string, string>>): Reader {
    return new Reader(this.values, this.env, defaults);
  }

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
    return { t: typeof v === "string" ? v : (this.presetDefaults[o.flag] ?? o.def), from };
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

/** The parsed flags and env. */
export function readArgs(argv: string[], env: Record<string, string | undefined>): Reader {
  return new Reader(parseFlags(argv, OPTIONS), env);
}
