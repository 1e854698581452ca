// Routes: requests whose path matches get a response of their own.
//
//   --route 'PATH[=STATUS] [body=TEXT] [body-file=FILE] [type=TYPE] [header="Name: value"]...
//            [status=LIST] [delay=LIST] [fault=LIST] [size=N[-M]]'
//   --routes FILE   a JSON array of {"path", "status", "body", "body-file", "type", "header", "delay", "fault", "size"}
//
// PATH is matched against the path of the request target as sent: the query
// is ignored, nothing is decoded or normalised. A trailing * makes a prefix
// route; an exact route beats any prefix, and the longest prefix wins. A
// value with spaces goes in double quotes, where \n, \t, \" and \\ are
// escapes. STATUS (or status=), delay=, fault= and size= take what --status,
// --delay, --fault and --size take (outcomes.ts). What a route leaves out:
// status 200, the reason phrase and a newline as the body, text/plain,
// --delay (its weights too), no fault. --header lines go on every response,
// routes' included. The C side matches (native/policy.c), the fallback as it
// does (serve/match.ts).
import { usageError } from "../lib/errors.ts";
import { readBodyFile } from "./body-file.ts";
import { NO_FAULTS, parseDelayList, parseFaultList, parseSize, parseStatusList, type Outcome, type SizeRange, type WeightedList } from "./outcomes.ts";
import { REASONS } from "./reasons.ts";
import { bodyless, checkDistinctHeaders, validateContentType, validateHeader, type ResponseSpec } from "./response.ts";

export interface Route {
  /** As given, without the trailing * of a prefix route. */
  path: string;
  prefix: boolean;
  response: ResponseSpec;
  /** Its delay and what is drawn per request. */
  outcome: Outcome;
  /** Where it was given, as messages name it ("--route '/x=404'"). */
  what: string;
}

/** What a route says before its files are read and its values checked. */
interface RouteInput {
  path: string;
  status?: string | number;
  body?: string;
  "body-file"?: string;
  type?: string;
  header: string[];
  delay?: string | number;
  fault?: string;
  size?: string | number;
}

const KEYS = ["body", "body-file", "type", "header", "status", "delay", "fault", "size"] as const;
/** Visible ASCII but '?', which starts the query the match ignores. */
const PATH = /^\/[\x21-\x3e\x40-\x7e]*$/;

/** Route names in /metrics: the default response, then each route as written. */
export const DEFAULT_ROUTE_LABEL = "default";
export const routeLabel = (r: Route): string => (r.prefix ? `${r.path}*` : r.path);

const unquote = (v: string): string =>
  v.slice(1, -1).replace(/\\(.)/g, (_, c: string) => ({ n: "\n", t: "\t", r: "\r" })[c as "n" | "t" | "r"] ?? c);

/** 'PATH[=STATUS] key=value ...' as a RouteInput. */
export function parseRouteText(text: string, what: string): RouteInput {
  const t = text.trim();
  const first = /^\S+/.exec(t)?.[0] ?? "";
  const eq = first.lastIndexOf("=");
  const input: RouteInput = eq < 0 ? { path: first, header: [] } : { path: first.slice(0, eq), status: first.slice(eq + 1), header: [] };
  const attr = /\s+([a-z-]+)=("(?:[^"\\]|\\.)*"|(?:[^\s"]\S*)?)(?=\s|$)/y;
  attr.lastIndex = first.length;
  while (attr.lastIndex < t.length) {
    const at = attr.lastIndex;
    const m = attr.exec(t);
    if (!m) throw usageError(`${what}: cannot read '${t.slice(at).trim()}': attributes are key=value or key="value with spaces"`);
    const key = m[1] as (typeof KEYS)[number];
    const value = m[2]!.startsWith('"') ? unquote(m[2]!) : m[2]!;
    if (!KEYS.includes(key)) throw usageError(`${what}: unknown attribute '${m[1]}': use ${KEYS.join(", ")}`);
    if (key === "header") input.header.push(value);
    else if (key === "status" && input.status !== undefined) throw usageError(`${what}: the status is given twice (PATH=STATUS and status=): give one`);
    else if (input[key] !== undefined) throw usageError(`${what}: ${key} is given twice`);
    else input[key] = value;
  }
  return input;
}

/** A --routes file: a JSON array of route objects with the same keys. */
export async function readRoutesFile(file: string): Promise<Array<{ input: RouteInput; what: string }>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Bun.file(file).text());
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e));
    throw usageError(`--routes '${file}' cannot be read as JSON (${why}): give a file with an array of routes`);
  }
  if (!Array.isArray(parsed)) throw usageError(`--routes '${file}' is not a JSON array of routes like [{"path": "/healthz", "body": "ok"}]`);
  return parsed.map((item: unknown, i) => {
    const what = `--routes '${file}': route ${i + 1}`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) throw usageError(`${what} is not an object`);
    const o = item as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (key !== "path" && !KEYS.includes(key as (typeof KEYS)[number])) {
        throw usageError(`${what}: unknown key '${key}': use path, ${KEYS.join(", ")}`);
      }
    }
    const str = (key: string, numberToo = false): string | number | undefined => {
      const v = o[key];
      if (v === undefined || typeof v === "string" || (numberToo && typeof v === "number")) return v as string | number | undefined;
      throw usageError(`${what}: ${key} must be a ${numberToo ? "number or a " : ""}string`);
    };
    const header = o.header === undefined ? [] : Array.isArray(o.header) ? o.header : [o.header];
    if (header.some((h) => typeof h !== "string")) throw usageError(`${what}: header must be a string or a list of strings`);
    if (typeof o.path !== "string") throw usageError(`${what} has no "path"`);
    const text = (key: string): string | undefined => str(key) as string | undefined;
    const input: RouteInput = { path: o.path, status: str("status", true), body: text("body"), "body-file": text("body-file"), type: text("type"), header: header as string[], delay: str("delay", true), fault: text("fault"), size: str("size", true) };
    return { input, what };
  });
}

async function routeBody(input: RouteInput, what: string, reason: string): Promise<Uint8Array> {
  if (input.body !== undefined && input["body-file"] !== undefined) throw usageError(`${what}: body and body-file conflict: give one of them`);
  const file = input["body-file"];
  return file === undefined ? new TextEncoder().encode(input.body ?? `${reason}\n`) : readBodyFile(file, `${what}: body-file`);
}

/** What every route shares: the --header lines, and --delay for those without delay=. */
export interface RouteDefaults {
  headers: string[];
  delay: WeightedList;
}

/** A JSON number is the value as typed: a status code, milliseconds, bytes. */
const asText = (v: string | number): string => String(v);

function routeSize(input: RouteInput, what: string, status: number): SizeRange | undefined {
  if (input.size === undefined) return undefined;
  if (input.body !== undefined || input["body-file"] !== undefined) throw usageError(`${what}: size and body/body-file conflict: give one of them`);
  if (bodyless(status)) throw usageError(`${what}: status ${status} responses carry no body: drop size`);
  return parseSize(asText(input.size), `${what}: size`);
}

/** Everything a route says, checked, with its body read. */
export async function resolveRoute(input: RouteInput, what: string, shared: RouteDefaults): Promise<Route> {
  const prefix = input.path.endsWith("*");
  const path = prefix ? input.path.slice(0, -1) : input.path;
  if (!PATH.test(path) || path.includes("*")) {
    throw usageError(`${what}: path '${input.path}' must start with / and hold visible ASCII without '?' (a trailing * makes a prefix route)`);
  }
  const statuses = parseStatusList(asText(input.status ?? "200"), `${what}: status`);
  const status = statuses.own ?? 200;
  const reason = REASONS[status]!;
  const explicitBody = input.body !== undefined || input["body-file"] !== undefined;
  if (bodyless(status) && explicitBody) throw usageError(`${what}: status ${status} responses carry no body: drop body/body-file`);
  const size = routeSize(input, what, status);
  const body = bodyless(status) || size ? new Uint8Array(0) : await routeBody(input, what, reason);
  const contentType = validateContentType(input.type ?? "text/plain", `${what}: type`);
  const headers = [...shared.headers, ...input.header.map((h) => validateHeader(h, `${what}: header`, "type="))];
  checkDistinctHeaders(headers, what);
  const delay = input.delay === undefined ? shared.delay : parseDelayList(asText(input.delay), `${what}: delay`);
  const outcome: Outcome = {
    delayMs: delay.own ?? 0,
    statuses: statuses.weighted,
    delays: delay.weighted,
    faults: input.fault === undefined ? NO_FAULTS : parseFaultList(input.fault, `${what}: fault`),
    ...(size ? { size } : {}),
    bodyReason: !explicitBody || bodyless(status),
  };
  return { path, prefix, response: { status, reason, contentType, headers, body }, outcome, what };
}

/** Two routes for the same path (both exact, or both prefix) would leave
 * one dead; the message says where each was given. */
export function checkDistinctRoutes(routes: Route[]): void {
  const seen = new Map<string, Route>();
  for (const r of routes) {
    const first = seen.get(routeLabel(r));
    if (first) throw usageError(`route ${routeLabel(r)} is given twice (${first.what}, and ${r.what}): keep one of them`);
    seen.set(routeLabel(r), r);
  }
}
