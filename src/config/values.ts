// One option's text as its kind says: a whole number in range, a duration, a
// CPU list, a numeric address, one of the choices, a weighted list or a size
// (outcomes.ts). A bad value is a one-line
// usage error naming where it came from (`label`: "--port", or "PORT
// (--port)") and what is allowed.
import { usageError } from "../lib/errors.ts";
import { durationMs } from "./duration.ts";
import type { OptionSpec } from "./flags.ts";
import { parseDelayList, parseFaultList, parseSize, parseStatusList, type FaultWeights, type SizeRange, type WeightedList } from "./outcomes.ts";

function parseInt10(o: OptionSpec, text: string, label: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < o.min! || n > o.max! || (o.pow2 && n & (n - 1))) {
    const pow2 = o.pow2 ? ", 0 or a power of two," : "";
    throw usageError(`${label} must be a whole number from ${o.min} to ${o.max}${pow2 || ","} got '${text}'`);
  }
  return n;
}

/** A whole number from min to max, or "auto". */
function parseCount(o: OptionSpec, text: string, label: string): number | "auto" {
  const t = text.trim();
  if (t === "auto") return "auto";
  if (!/^\d+$/.test(t) || Number(t) < o.min! || Number(t) > o.max!) {
    throw usageError(`${label} must be a whole number from ${o.min} to ${o.max} or auto, got '${text}'`);
  }
  return Number(t);
}

/** Milliseconds, or the option's "forever" word. */
function parseDuration(o: OptionSpec, text: string, label: string): number | string {
  const t = text.trim();
  if (o.forever && t === o.forever.word) return t;
  const ms = durationMs(t, o.unit!);
  if (!Number.isFinite(ms) || ms < o.min! || ms > o.max!) {
    const forever = o.forever ? ` or '${o.forever.word}'` : "";
    throw usageError(`${label} must be a duration like 250ms, 5s, 1m or 1h (${o.min}ms to ${o.max}ms)${forever}, got '${text}'`);
  }
  return ms;
}

/** Booleans come as text from env vars only (a flag is bare). */
function parseBool(o: OptionSpec, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(t)) return true;
  if (["0", "false", "no", "off", ""].includes(t)) return false;
  throw usageError(`${o.env} must be 1/true/yes/on or 0/false/no/off, got '${text}'`);
}

/** "1,3,5" or "1-3" or both ("0,2-3"). */
function parseCpus(o: OptionSpec, text: string, label: string): number[] {
  const out: number[] = [];
  for (const part of text.split(",")) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    const lo = Number(m?.[1]), hi = Number(m?.[2] ?? m?.[1]);
    if (!m || lo > hi || hi > o.max!) throw usageError(`${label} must be CPU numbers like 1,2,3 or 1-3 (0 to ${o.max}), got '${text}'`);
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

function parseChoice(o: OptionSpec, text: string, label: string): string {
  if (!o.choices!.includes(text)) throw usageError(`${label} must be one of ${o.choices!.join(", ")}, got '${text}'`);
  return text;
}

/** A scalar option's text as its kind says (lists are read line by line in read.ts). */
export function parseValue(o: OptionSpec, text: string, label: string): number | string | boolean | number[] | WeightedList | FaultWeights | SizeRange {
  switch (o.kind) {
    case "statuses":
      return parseStatusList(text, label);
    case "delays":
      return parseDelayList(text, label);
    case "faults":
      return parseFaultList(text, label);
    case "size":
      return parseSize(text, label);
    case "int":
      return parseInt10(o, text, label);
    case "count":
      return parseCount(o, text, label);
    case "duration":
      return parseDuration(o, text, label);
    case "bool":
      return parseBool(o, text);
    case "cpus":
      return parseCpus(o, text, label);
    case "host":
      return parseHost(o, text);
    case "choice":
      return parseChoice(o, text, label);
    case "string":
    case "list":
      return text;
  }
}
