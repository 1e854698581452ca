// The test target's syntax (issue 19): weighted statuses, delays and faults,
// and generated bodies, as --status, --delay, --fault and --size take them
// and a route's status=, delay=, fault= and size= (or its JSON keys):
//
//   200,503@10%,429@5%         the item without @ is the response's own status
//   0,100ms@5%,1s@1%           ... its own delay
//   reset@1%,close@1%,hang@1%  an item without @ takes what the others leave
//   1024, or 100-2000          bytes of a generated body, drawn per request
//
// Percentages take up to 4 decimals (the library counts parts per million);
// a list's weights sum to at most 100%. What a response is drawn from is its
// Outcome: the C policy draws from it (native/policy.c), the fallback the
// same way (serve/draw.ts).
import { usageError } from "../lib/errors.ts";
import { durationMs } from "./duration.ts";
import { REASONS } from "./reasons.ts";

/** The library's RS_PPM, RS_MAX_WEIGHTS, RS_MAX_SIZE, RS_MAX_DELAY_MS and enum fault (test/native/abi.test.ts). */
export const PPM = 1_000_000;
export const MAX_WEIGHTS = 8;
export const MAX_SIZE = 64 << 20;
export const MAX_DELAY_MS = 3_600_000;
export const FAULTS = ["reset", "close", "hang"] as const;
export type Fault = (typeof FAULTS)[number];

export interface Weighted {
  readonly value: number;
  /** Parts per million. */
  readonly ppm: number;
}

/** A status or delay list: its item without @ (if any), and the weighted ones. */
export interface WeightedList {
  readonly own?: number;
  readonly weighted: readonly Weighted[];
}

export type FaultWeights = Readonly<Record<Fault, number>>;
export const NO_FAULTS: FaultWeights = { reset: 0, close: 0, hang: 0 };

/** A generated body: min..max bytes, drawn uniformly per request. */
export interface SizeRange {
  readonly min: number;
  readonly max: number;
}

/** What a response (the default one or a route's) is drawn from, besides its own status and body. */
export interface Outcome {
  /** Its own delay: the rest of the time. */
  readonly delayMs: number;
  readonly statuses: readonly Weighted[];
  readonly delays: readonly Weighted[];
  readonly faults: FaultWeights;
  /** A generated body instead of its own. */
  readonly size?: SizeRange;
  /** It has no body of its own (a route without body=, or a 204/205/304): a
   * drawn status's body is then that status's reason phrase and a newline. */
  readonly bodyReason: boolean;
}

/** What one request's outcome is drawn from: a response's weights, or what
 * the request asked for instead (serve/control.ts). Lists hold only what is drawn:
 * a config's weights of 0 are left out (as the library leaves them), a
 * request's are not (it parses them as given). */
export interface DrawFrom {
  statuses: readonly Weighted[];
  delays: readonly Weighted[];
  /** value: the fault's index in FAULTS. */
  faults: readonly Weighted[];
  size?: SizeRange;
}

/** A response's own weights, as the library keeps them. */
export function drawFrom(o: Outcome): DrawFrom {
  return {
    statuses: o.statuses.filter((w) => w.ppm > 0),
    delays: o.delays.filter((w) => w.ppm > 0),
    faults: FAULTS.flatMap((f, i) => (o.faults[f] > 0 ? [{ value: i, ppm: o.faults[f] }] : [])),
    ...(o.size ? { size: o.size } : {}),
  };
}

/** Whether anything is drawn per request (else every reply is the prebuilt one). */
export function drawsAnything(o: Outcome): boolean {
  const f = drawFrom(o);
  return f.size !== undefined || f.statuses.length + f.delays.length + f.faults.length > 0;
}

/** "10%" as parts per million; "0.0001%" is 1. */
const percentText = (ppm: number): string => `${ppm / 10_000}%`;

interface Item {
  /** As written, for messages. */
  text: string;
  value: string;
  ppm?: number;
}

/** One list's items: "VALUE" or "VALUE@PERCENT%", comma-separated. */
function items(text: string, where: string): Item[] {
  return text.split(",").map((part) => {
    const t = part.trim();
    const at = t.lastIndexOf("@");
    if (at < 0) return { text: t, value: t };
    const m = /^(\d{1,3})(?:\.(\d{1,4}))?%$/.exec(t.slice(at + 1));
    const ppm = m ? Number(m[1]) * 10_000 + Number((m[2] ?? "").padEnd(4, "0")) : NaN;
    if (!(ppm <= PPM)) throw usageError(`${where}: '${t.slice(at + 1)}' is not a percentage like 10% or 0.5% (0 to 100, up to 4 decimals)`);
    return { text: t, value: t.slice(0, at), ppm };
  });
}

/** A list's items, each value read by `read` (undefined: not one), the
 * weights checked: at most one without @, MAX_WEIGHTS with, 100% in all,
 * no value twice. */
function weightedItems(text: string, label: string, what: { item: string; list: string }, read: (v: string) => number | undefined): Array<{ value: number; ppm?: number }> {
  const where = `${label} '${text}'`;
  const all = items(text, where);
  const out = all.map((item) => {
    const value = read(item.value);
    if (value === undefined && all.length === 1 && item.ppm === undefined) throw usageError(`${where} must be ${what.item} or a list like ${what.list}`);
    if (value === undefined) throw usageError(`${where}: '${item.value}' is not ${what.item}`);
    return { text: item.text, value, ppm: item.ppm };
  });
  if (out.filter((i) => i.ppm === undefined).length > 1) throw usageError(`${where}: more than one item without @ (the rest of the time): give one`);
  const weighted = out.filter((i) => i.ppm !== undefined);
  if (weighted.length > MAX_WEIGHTS) throw usageError(`${where}: ${weighted.length} weighted items, ${MAX_WEIGHTS} at most`);
  const sum = weighted.reduce((a, i) => a + i.ppm!, 0);
  if (sum > PPM) throw usageError(`${where}: the weights sum to ${percentText(sum)}, over 100%`);
  const twice = out.find((i, k) => out.findIndex((j) => j.value === i.value) !== k);
  if (twice) throw usageError(`${where}: '${twice.text}' repeats a value given before it: give each once`);
  return out;
}

function toList(parsed: Array<{ value: number; ppm?: number }>): WeightedList {
  const own = parsed.find((i) => i.ppm === undefined)?.value;
  const weighted = parsed.filter((i) => i.ppm !== undefined).map((i) => ({ value: i.value, ppm: i.ppm! }));
  return own === undefined ? { weighted } : { own, weighted };
}

const statusCode = (v: string): number | undefined => {
  const code = /^\d{3}$/.test(v.trim()) ? Number(v.trim()) : NaN;
  return code >= 200 && REASONS[code] ? code : undefined;
};

/** "503", or "200,503@10%,429@5%". `label` names the source in messages ("--status"). */
export function parseStatusList(text: string, label: string): WeightedList {
  return toList(weightedItems(text, label, { item: "a registered status code from 200 to 599", list: "200,503@10%,429@5%" }, statusCode));
}

const delay = (v: string): number | undefined => {
  const ms = durationMs(v, "ms");
  return Number.isFinite(ms) && ms <= MAX_DELAY_MS ? ms : undefined;
};

/** "250ms", or "0,100ms@5%,1s@1%" (bare numbers are ms; each 1h at most). */
export function parseDelayList(text: string, label: string): WeightedList {
  return toList(weightedItems(text, label, { item: "a duration like 250ms, 5s, 1m or 1h (1h at most)", list: "0,100ms@5%,1s@1%" }, delay));
}

/** "reset@1%,close@1%,hang@1%"; an item without @ takes what the others leave. */
export function parseFaultList(text: string, label: string): FaultWeights {
  const parsed = weightedItems(text, label, { item: "a fault (reset, close or hang)", list: "reset@1%,close@1%,hang@1%" }, (v) => {
    const i = FAULTS.indexOf(v.trim() as Fault);
    return i < 0 ? undefined : i;
  });
  const given = parsed.reduce((a, i) => a + (i.ppm ?? 0), 0);
  const out: Record<Fault, number> = { ...NO_FAULTS };
  for (const i of parsed) out[FAULTS[i.value]!] = i.ppm ?? PPM - given;
  return out;
}

/** "1024" or "100-2000": bytes, 1 to MAX_SIZE at the top. */
export function parseSize(text: string, label: string): SizeRange {
  const m = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(text.trim());
  const min = Number(m?.[1]);
  const max = Number(m?.[2] ?? m?.[1]);
  if (!m || min > max || max < 1 || max > MAX_SIZE) {
    throw usageError(`${label} '${text}' must be N or N-M bytes (N <= M, M from 1 to ${MAX_SIZE}): a generated body of that size, drawn per request`);
  }
  return { min, max };
}
