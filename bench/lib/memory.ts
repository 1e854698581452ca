// Resident memory of a server from /proc/PID/status. VmRSS = RssAnon + RssFile
// + RssShmem: for a Bun process most of it is RssFile, pages of the bun binary
// itself (shared with every other Bun process, and reclaimable), so the parts
// say more than the total.
import { readText } from "../../test/lib/proc.ts";
import type { Ctx } from "./ctx.ts";
import { checkStop, checkWrk } from "./measure.ts";
import type { Running } from "./servers.ts";
import { runWrk } from "./wrk.ts";

/** /proc/PID/status memory fields, kB, summed over a server's processes. */
export interface Memory {
  vmRssKb: number;
  rssAnonKb: number;
  rssFileKb: number;
  rssShmemKb: number;
}

const FIELDS: Record<keyof Memory, string> = { vmRssKb: "VmRSS", rssAnonKb: "RssAnon", rssFileKb: "RssFile", rssShmemKb: "RssShmem" };

/** The memory fields of a /proc/PID/status text, kB (NaN when a field is missing: kernels before 4.5 lack the Rss* lines). */
export function parseMemory(status: string): Memory {
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s*(\\d+) kB$`, "m").exec(status)?.[1] ?? Number.NaN);
  return { vmRssKb: field(FIELDS.vmRssKb), rssAnonKb: field(FIELDS.rssAnonKb), rssFileKb: field(FIELDS.rssFileKb), rssShmemKb: field(FIELDS.rssShmemKb) };
}

function add(a: Memory, b: Memory): Memory {
  return { vmRssKb: a.vmRssKb + b.vmRssKb, rssAnonKb: a.rssAnonKb + b.rssAnonKb, rssFileKb: a.rssFileKb + b.rssFileKb, rssShmemKb: a.rssShmemKb + b.rssShmemKb };
}

/** Memory summed over processes (nginx: master + worker, so pages they share count twice). */
function memoryOf(pids: readonly number[]): Memory {
  return pids
    .map((pid) => {
      const status = readText(`/proc/${pid}/status`);
      if (status === undefined) throw new Error(`process ${pid} is gone: no memory to read`);
      return parseMemory(status);
    })
    .reduce(add);
}

/** How long to let a server settle before each reading, and the wrk run (keep-alive) in between. */
export interface RssPlan {
  rounds: number;
  settleS: number;
  wrkS: number;
  connections: number;
}

/** A started server's memory once settled, and after a wrk run (keep-alive) and another settle. */
export interface RssReading {
  processes: number;
  idle: Memory;
  afterLoad: Memory;
  rps: number;
  requests: number;
}

/** Reads a started server's memory around a wrk run, then stops it and checks ringside's
 * counters against wrk's (`key` names it in wrk's anomalies, `where` in the counters'). */
export async function rssAround(ctx: Ctx, s: Running, who: { key: string; where: string; ringside: boolean }, plan: RssPlan): Promise<RssReading> {
  let reading: RssReading;
  try {
    await Bun.sleep(plan.settleS * 1000);
    const idle = memoryOf(s.pids);
    const w = await runWrk(s.port, plan.connections, plan.wrkS, "keep-alive", undefined);
    checkWrk(ctx, { errors: w.errors, server: who.key, conn: "keep-alive", connections: plan.connections }, "footprint");
    await Bun.sleep(plan.settleS * 1000);
    reading = { processes: s.pids.length, idle, afterLoad: memoryOf(s.pids), rps: w.rps, requests: w.requests };
  } catch (e) {
    await s.stop();
    throw e;
  }
  checkStop(ctx, who.where, who.ringside, await s.stop(), reading.requests);
  return reading;
}
