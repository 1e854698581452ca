// For the test-target suites (weighted statuses, delays, faults, generated
// bodies, control), native and fallback: what one request came to as the
// client saw it, many of them at once, /metrics' outcome series by route, the
// binomial bound a weight's count must fall within, and the control values a
// server must refuse with the 400 that names them.
import { rawExchange } from "./helpers.ts";

/** What a client saw for one request on a connection of its own. */
export type Seen = { status: number; bytes: number; text: string } | { fault: "reset" | "eof" | "timeout"; bytes: 0 };

/** One request on a new connection, read to the server's close. */
export async function seen(port: number, request: string, timeoutMs = 15_000): Promise<Seen> {
  const r = await rawExchange(port, [request], { timeoutMs });
  if (!r.data.length) return { fault: r.end, bytes: 0 };
  const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(r.text)?.[1] ?? NaN);
  return { status, bytes: r.data.length, text: r.text };
}

/** `n` requests, `concurrency` at a time, each on its own connection. */
export async function seenMany(port: number, request: string, n: number, concurrency: number): Promise<Seen[]> {
  const out: Seen[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      next++;
      out.push(await seen(port, request));
    }
  }));
  return out;
}

/** How many of each: "200", "503", "reset", "eof" ... */
export function tallySeen(all: Seen[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of all) {
    const k = "fault" in s ? s.fault : String(s.status);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** /metrics' requests by route, and by route and status or fault. */
export interface RouteOutcomes {
  requests: number;
  statuses: Record<string, number>;
  faults: Record<string, number>;
}

export function outcomesOf(metrics: string): Record<string, RouteOutcomes> {
  const out: Record<string, RouteOutcomes> = {};
  const route = (r: string): RouteOutcomes => (out[r] ??= { requests: 0, statuses: {}, faults: {} });
  for (const m of metrics.matchAll(/^ringside_route_requests_total\{route="([^"]+)"\} (\d+)$/gm)) route(m[1]!).requests = Number(m[2]);
  for (const m of metrics.matchAll(/^ringside_route_responses_total\{route="([^"]+)",status="(\d+)"\} (\d+)$/gm)) route(m[1]!).statuses[m[2]!] = Number(m[3]);
  for (const m of metrics.matchAll(/^ringside_route_faults_total\{route="([^"]+)",fault="(\w+)"\} (\d+)$/gm)) route(m[1]!).faults[m[2]!] = Number(m[3]);
  return out;
}

export async function scrapeOutcomes(admin: string): Promise<Record<string, RouteOutcomes>> {
  return outcomesOf(await (await fetch(`${admin}/metrics`)).text());
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

/** Each route's statuses and faults add up to its requests. */
export const sumsToRequests = (o: Record<string, RouteOutcomes>): boolean => Object.values(o).every((r) => sum(r.statuses) + sum(r.faults) === r.requests);

/**
 * Whether `count` draws out of `n`, each with probability `p`, is within `sigmas`
 * standard deviations of n·p (the binomial's sqrt(n·p·(1-p))). With a fixed
 * seed the count is the same on every run, so this is not a flaky bound: it
 * says the weights were applied, 5 sigma making a wrong verdict one in ~3.5 million.
 */
export function withinSigmas(count: number, n: number, p: number, sigmas = 5): boolean {
  return Math.abs(count - n * p) <= sigmas * Math.sqrt(n * p * (1 - p));
}

/** The 400 a control that cannot be read gets, exactly. */
export function controlError(key: "status" | "delay" | "size" | "fault"): string {
  const body = {
    status: "Bad Request: control 'status' cannot be read (CODE or CODE:PERCENT,...)\n",
    delay: "Bad Request: control 'delay' cannot be read or is over the server's --max-delay\n",
    size: "Bad Request: control 'size' cannot be read or is over the server's --max-size\n",
    fault: "Bad Request: control 'fault' cannot be read (reset, close or hang[:PERCENT],...)\n",
  }[key];
  return `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
}

/** Hostile values: each a 400 that names its control. */
export const HOSTILE: Array<[string, "status" | "delay" | "size" | "fault"]> = [
  ["status=abc", "status"],
  ["status=", "status"],
  ["status=299", "status"],
  ["status=600", "status"],
  ["status=503:60,429:50", "status"],
  ["status=503:10,", "status"],
  ["status=503:101", "status"],
  ["status=503:10.12345", "status"],
  ["status=99999999999", "status"],
  [`status=${Array.from({ length: 9 }, (_, i) => `${500 + i}:1`).join(",")}`, "status"],
  ["delay=2h", "delay"],
  ["delay=11s", "delay"],
  ["delay=-5", "delay"],
  ["delay=99999999999ms", "delay"],
  ["delay=10ms:50,20ms:51", "delay"],
  ["size=99999999999", "size"],
  ["size=1048577", "size"],
  ["size=20-10", "size"],
  ["size=1k", "size"],
  ["fault=boom", "fault"],
  ["fault=reset:60,hang:50", "fault"],
  ["fault=RESET", "fault"],
];
