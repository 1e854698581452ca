// wrk: one thread, N connections, fixed duration, latency percentiles.
// Close mode sends `Connection: close` (with the space, or nginx keeps the
// connection open); keep-alive mode sends nothing extra (HTTP/1.1 default);
// pipelined mode writes PIPELINE_DEPTH requests at a time (pipeline.lua, beside this file).
import { join } from "node:path";
import { PIPELINE_DEPTH, type ConnMode } from "./config.ts";
import { run } from "./proc.ts";
import { withTaskset } from "./servers.ts";

const PIPELINE_SCRIPT = join(import.meta.dir, "pipeline.lua");

export interface WrkResult {
  rps: number;
  requests: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  errors: { connect: number; read: number; write: number; timeout: number; non2xx: number };
  /** wrk's own CPU use during the run, in cores (1 = one CPU busy the whole time). */
  clientCores: number;
  /** wrk's CPU time, seconds. */
  clientCpuS: number;
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function toMs(value: string, unit: string): number {
  const k = TIME_UNITS[unit];
  if (k === undefined) throw new Error(`wrk: unknown time unit ${unit}`);
  return Number(value) * k;
}

/** Parses wrk's text report (with --latency). */
export function parseWrk(text: string): Omit<WrkResult, "clientCores" | "clientCpuS"> {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(text);
  if (!rps || !total) throw new Error(`wrk: unexpected output:\n${text}`);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m").exec(text);
    return m ? toMs(m[1]!, m[2]!) : Number.NaN;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    rps: Number(rps[1]),
    requests: Number(total[1]),
    seconds: toMs(total[2]!, total[3]!) / 1000,
    p50Ms: pct("50"),
    p99Ms: pct("99"),
    errors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
      non2xx: Number(non2xx?.[1] ?? 0),
    },
  };
}

export function wrkArgs(port: number, connections: number, seconds: number, conn: ConnMode, clientCpus: string | undefined): string[] {
  const args = ["wrk", "-t1", `-c${connections}`, `-d${Math.max(1, Math.round(seconds))}s`, "--latency", "--timeout", "2s"];
  if (conn === "close") args.push("-H", "Connection: close");
  if (conn === "pipelined") args.push("-s", PIPELINE_SCRIPT);
  args.push(`http://127.0.0.1:${port}/`);
  if (conn === "pipelined") args.push("--", String(PIPELINE_DEPTH));
  return withTaskset(clientCpus, args);
}

export async function runWrk(port: number, connections: number, seconds: number, conn: ConnMode, clientCpus: string | undefined): Promise<WrkResult> {
  const r = await run(wrkArgs(port, connections, seconds, conn, clientCpus), seconds * 1000 + 15_000);
  if (r.code !== 0 || r.timedOut) throw new Error(`wrk failed (${r.timedOut ? "timeout" : `exit ${r.code}`}): ${r.stderr}${r.stdout}`);
  const parsed = parseWrk(r.stdout);
  return { ...parsed, clientCores: parsed.seconds > 0 ? r.cpuS / parsed.seconds : 0, clientCpuS: r.cpuS };
}

/** ab (ApacheBench): a fixed number of requests, -c concurrent; -k for keep-alive. */
export interface AbResult {
  complete: number;
  failed: number;
  non2xx: number;
  rps: number;
  seconds: number;
}

export function abArgs(port: number, requests: number, concurrency: number, conn: ConnMode): string[] {
  const args = ["ab", "-q", "-n", String(requests), "-c", String(concurrency), "-s", "5"];
  if (conn === "keep-alive") args.push("-k");
  args.push(`http://127.0.0.1:${port}/`);
  return args;
}

export function parseAb(text: string): AbResult {
  const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? Number.NaN);
  const complete = num(/Complete requests:\s+(\d+)/);
  if (Number.isNaN(complete)) throw new Error(`ab: unexpected output:\n${text}`);
  return {
    complete,
    failed: num(/Failed requests:\s+(\d+)/),
    non2xx: Number(/Non-2xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0),
    rps: num(/Requests per second:\s+([\d.]+)/),
    seconds: num(/Time taken for tests:\s+([\d.]+)/),
  };
}
