// One wrk run of a server with its CPU taken apart: perf's call graphs of every
// server thread over the run folded into buckets (./buckets.ts), and the
// context switches of every thread from /proc over the same run. Per request:
// a bucket's share of the samples times the server's CPU-seconds per request
// (/proc, the same run), so that the buckets add up to what the server paid.
import { readdirSync } from "node:fs";
import { readText } from "../../test/lib/proc.ts";
import { BUCKETS, fold, type Bucket, type Folded } from "./buckets.ts";
import type { ConnMode } from "./config.ts";
import { loadOnce } from "./measure.ts";
import { callGraphs } from "./perf.ts";
import type { Running } from "./servers.ts";
import type { RowLoad, RowRun } from "./sweep.ts";

export interface ContextSwitches {
  voluntary: number;
  involuntary: number;
}

/** Context switches so far, summed over every thread of every process (/proc/PID/task/TID/status). */
export function contextSwitches(pids: readonly number[]): ContextSwitches {
  const out: ContextSwitches = { voluntary: 0, involuntary: 0 };
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // gone
    }
    for (const tid of tids) {
      const status = readText(`/proc/${pid}/task/${tid}/status`) ?? "";
      out.voluntary += Number(/^voluntary_ctxt_switches:\s*(\d+)/m.exec(status)?.[1] ?? 0);
      out.involuntary += Number(/^nonvoluntary_ctxt_switches:\s*(\d+)/m.exec(status)?.[1] ?? 0);
    }
  }
  return out;
}

/** What a profiled run adds to a row's run. */
export interface Decomposition {
  /** The wrk run just before, with no perf attached: what sampling costs the server shows against it. */
  unprofiled: { rps: number; usPerReq: number };
  /** perf's sampling rate, per CPU-second of a thread. */
  hz: number;
  folded: Folded;
  /** Chunks of samples perf lost (its buffer overran): their share is unknown. */
  lostChunks: number;
  /** Over the wrk run, every thread of the server. */
  switches: ContextSwitches;
}

export type FloorRun = RowRun & { profile: Decomposition };

/** A row's wrk run (lib/measure.ts loadOnce) with perf recording every server thread and the context
 * switches around it, after one run of the same length with no perf attached. */
export function profiledLoad(tmp: string, hz: number): RowLoad<{ profile: Decomposition }> {
  return async (s: Running, conn: ConnMode, connections: number, seconds: number, clientCpus: string | undefined) => {
    const bare = await loadOnce(s, conn, connections, seconds, clientCpus);
    const unprofiled = { rps: bare.rps, usPerReq: (bare.serverCpuS / bare.requests) * 1e6 };
    const { value, script, lostChunks } = await callGraphs(s.pids, tmp, hz, clientCpus, async () => {
      const before = contextSwitches(s.pids);
      const load = await loadOnce(s, conn, connections, seconds, clientCpus);
      const after = contextSwitches(s.pids);
      return { load, switches: { voluntary: after.voluntary - before.voluntary, involuntary: after.involuntary - before.involuntary } };
    });
    return { ...value.load, profile: { unprofiled, hz, folded: fold(script), lostChunks, switches: value.switches } };
  };
}

// ---------------------------------------------------------------- per request

/** Server CPU per request, µs (/proc over the run). */
export const totalUs = (r: FloorRun): number => (r.serverCpuS / r.requests) * 1e6;

/** A bucket's µs per request: its share of the samples times the CPU per request. */
export function bucketUs(r: FloorRun, b: Bucket): number {
  const f = r.profile.folded;
  return f.samples ? (f.buckets[b] / f.samples) * totalUs(r) : Number.NaN;
}

/** Context switches per request, voluntary and involuntary, every thread. */
export const switchesPerReq = (r: FloorRun): number => (r.profile.switches.voluntary + r.profile.switches.involuntary) / r.requests;

/** Share of the samples in the kernel (every bucket but user space), 0..1. */
export const kernelShare = (r: FloorRun): number => (r.profile.folded.samples ? 1 - r.profile.folded.buckets.user / r.profile.folded.samples : Number.NaN);

/** The CPU the samples account for over the CPU /proc counted: about 1 when perf saw every thread. */
export const coverage = (r: FloorRun): number => r.profile.folded.samples / r.profile.hz / r.serverCpuS;
