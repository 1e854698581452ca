// Per-request control (--control) for the Bun.serve fallback, read as
// native/policy.c reads it: the query keys status, delay, size and fault and
// the headers X-Ringside-Status, -Delay, -Size and -Fault, the query's value
// over the header's, in fortio's syntax: 503 or 503:10,429:5 (percent; an
// item without one is 100%), 250ms or 10ms:50 (ms, s or m; bare: ms), 1024
// or 100-2000, reset or reset:1,hang:2. A value that cannot be read, or asks
// past --max-delay or --max-size, is a 400 that names the control.
import { FAULTS, MAX_WEIGHTS, PPM, type DrawFrom, type Weighted } from "../config/outcomes.ts";
import { STATUS_CODES } from "./responses.ts";

export const CONTROL_KEYS = ["status", "delay", "size", "fault"] as const;
export type ControlKey = (typeof CONTROL_KEYS)[number];

/** The 400's body for each control, as native/replies.c words it. */
export const CONTROL_ERRORS: Readonly<Record<ControlKey, string>> = {
  status: "Bad Request: control 'status' cannot be read (CODE or CODE:PERCENT,...)\n",
  delay: "Bad Request: control 'delay' cannot be read or is over the server's --max-delay\n",
  size: "Bad Request: control 'size' cannot be read or is over the server's --max-size\n",
  fault: "Bad Request: control 'fault' cannot be read (reset, close or hang[:PERCENT],...)\n",
};

export interface ControlLimits {
  mode: "off" | "query" | "header" | "both";
  maxDelayMs: number;
  maxSize: number;
}

/** The text of one value, read left to right as the C cursor reads it. */
class Cursor {
  constructor(
    private readonly s: string,
    public at = 0,
  ) {}

  get done(): boolean {
    return this.at === this.s.length;
  }

  private isDigit(): boolean {
    const c = this.s.charCodeAt(this.at);
    return c >= 48 && c <= 57;
  }

  /** A whole number of at most 10 digits, not followed by another digit. */
  number(): number | undefined {
    const start = this.at;
    while (this.at < this.s.length && this.isDigit() && this.at - start < 10) this.at++;
    if (this.at === start || (this.at < this.s.length && this.isDigit())) return undefined;
    return Number(this.s.slice(start, this.at));
  }

  char(ch: string): boolean {
    if (this.s[this.at] !== ch) return false;
    this.at++;
    return true;
  }

  word(w: string): boolean {
    if (!this.s.startsWith(w, this.at)) return false;
    this.at += w.length;
    return true;
  }

  /** ":PERCENT" (up to 4 decimals) in parts per million, or 100% if absent. */
  weight(): number | undefined {
    if (!this.char(":")) return PPM;
    const whole = this.number();
    if (whole === undefined || whole > 100) return undefined;
    let frac = 0;
    if (this.char(".")) {
      const start = this.at;
      while (this.at < this.s.length && this.isDigit() && this.at - start < 4) this.at++;
      if (this.at === start) return undefined;
      frac = Number(this.s.slice(start, this.at).padEnd(4, "0"));
    }
    const ppm = whole * 10_000 + frac;
    return ppm <= PPM ? ppm : undefined;
  }
}

/** ITEM[:PERCENT],...: at most MAX_WEIGHTS, summing to at most 100%. */
function weights(text: string, item: (c: Cursor) => number | undefined): Weighted[] | undefined {
  const c = new Cursor(text);
  const out: Weighted[] = [];
  do {
    if (out.length === MAX_WEIGHTS) return undefined;
    const value = item(c);
    const ppm = value === undefined ? undefined : c.weight();
    if (value === undefined || ppm === undefined) return undefined;
    out.push({ value, ppm });
  } while (c.char(","));
  return c.done && out.reduce((a, w) => a + w.ppm, 0) <= PPM ? out : undefined;
}

const statusItem = (c: Cursor): number | undefined => {
  const code = c.number();
  return code !== undefined && STATUS_CODES.includes(code) ? code : undefined;
};

/** N, Nms, Ns or Nm, at most max. */
const delayItem = (max: number) => (c: Cursor): number | undefined => {
  let ms = c.number();
  if (ms === undefined) return undefined;
  if (!c.word("ms")) {
    if (c.char("s")) ms *= 1000;
    else if (c.char("m")) ms *= 60_000;
  }
  return ms <= max ? ms : undefined;
};

const faultItem = (c: Cursor): number | undefined => {
  const i = FAULTS.findIndex((f) => c.word(f));
  return i < 0 ? undefined : i;
};

function size(text: string, max: number): { min: number; max: number } | undefined {
  const c = new Cursor(text);
  const lo = c.number();
  if (lo === undefined) return undefined;
  let hi: number | undefined = lo;
  if (c.char("-")) hi = c.number();
  return hi !== undefined && c.done && lo <= hi && hi <= max ? { min: lo, max: hi } : undefined;
}

/** The value of key in a raw query "a=1&status=503&b" (the last one wins). */
function queryValue(query: string, key: string): string | undefined {
  let found: string | undefined;
  for (const part of query.split("&")) if (part.length > key.length && part.startsWith(`${key}=`)) found = part.slice(key.length + 1);
  return found;
}

/** A control's value: the query's over the header's. Bun joins a header given
 * twice with ", "; the ring takes the last one, so this does too. */
function valueOf(req: Request, query: string, key: ControlKey, mode: ControlLimits["mode"]): string | undefined {
  if (mode === "query" || mode === "both") {
    const v = queryValue(query, key);
    if (v !== undefined) return v;
  }
  if (mode === "header" || mode === "both") {
    const h = req.headers.get(`x-ringside-${key}`);
    if (h) return h.slice(h.lastIndexOf(", ") + 1).trim();
  }
  return undefined;
}

/** What the request asks for over `from`, or the control that cannot be read. */
export function readControls(req: Request, from: DrawFrom, limits: ControlLimits): DrawFrom | { error: ControlKey } {
  const q = req.url.indexOf("?");
  const query = q < 0 ? "" : req.url.slice(q + 1);
  const out: DrawFrom = { ...from };
  const status = valueOf(req, query, "status", limits.mode);
  if (status !== undefined) {
    const w = weights(status, statusItem);
    if (!w) return { error: "status" };
    out.statuses = w;
  }
  const delay = valueOf(req, query, "delay", limits.mode);
  if (delay !== undefined) {
    const w = weights(delay, delayItem(limits.maxDelayMs));
    if (!w) return { error: "delay" };
    out.delays = w;
  }
  const sized = valueOf(req, query, "size", limits.mode);
  if (sized !== undefined) {
    const s = size(sized, limits.maxSize);
    if (!s) return { error: "size" };
    out.size = s;
  }
  const fault = valueOf(req, query, "fault", limits.mode);
  if (fault !== undefined) {
    const w = weights(fault, faultItem);
    if (!w) return { error: "fault" };
    out.faults = w;
  }
  return out;
}
