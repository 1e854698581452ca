// Resident memory of each server of the startup and footprint phase, from
// /proc/PID/status: once it answers and has settled, and after a wrk run and
// another settle. VmRSS = RssAnon + RssFile + RssShmem: for a Bun process most
// of it is RssFile, pages of the bun binary itself (shared with every other
// Bun process, and reclaimable), so the parts say more than the total.
import { readText } from "../test/lib/proc.ts";
import { STARTUP_KEYS, type FootprintSizes, type StartupKey } from "./config.ts";
import { checkStop, checkWrk, log, type Ctx } from "./measure.ts";
import { CLI, launchBun, launchNginx, launchRingside, type Running } from "./servers.ts";
import { rotated, startupEnv, type Bundle } from "./startup.ts";
import type { Memory, RssRun } from "./types.ts";
import { runWrk } from "./wrk.ts";

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
export function memoryOf(pids: readonly number[]): Memory {
  return pids
    .map((pid) => {
      const status = readText(`/proc/${pid}/status`);
      if (status === undefined) throw new Error(`process ${pid} is gone: no memory to read`);
      return parseMemory(status);
    })
    .reduce(add);
}

/** A server as the RSS rows run it: ringside with --keep-alive (wrk keeps its connections), everything else as in the cold starts. */
function launch(ctx: Ctx, key: StartupKey, bundle: Bundle): Promise<Running> {
  const id = `footprint/${key}`;
  if (key === "bun") return launchBun(id, 1, (cmd) => cmd);
  if (key === "nginx") return launchNginx(id, ctx.tmp, 1, (cmd) => cmd);
  const entry = key === "bundle" ? bundle.path : CLI;
  return launchRingside(id, ["bun", entry, "--host", "127.0.0.1", "--port", "0", "--keep-alive"], startupEnv(key, bundle));
}

type RssSizes = FootprintSizes["rss"];

/** Settle, read; wrk (keep-alive), settle, read. */
async function measureRss(ctx: Ctx, s: Running, key: StartupKey, round: number, sizes: RssSizes, count: (n: number) => void): Promise<RssRun> {
  await Bun.sleep(sizes.settleS * 1000);
  const idle = memoryOf(s.pids);
  const w = await runWrk(s.port, sizes.connections, sizes.wrkS, "keep-alive", undefined);
  count(w.requests);
  checkWrk(ctx, { errors: w.errors, server: key, conn: "keep-alive", connections: sizes.connections }, "footprint");
  await Bun.sleep(sizes.settleS * 1000);
  return { round, key, processes: s.pids.length, idle, afterLoad: memoryOf(s.pids), rps: w.rps, requests: w.requests };
}

/** One server start: measure, stop, check ringside's counters against wrk's. */
async function rssBlock(ctx: Ctx, key: StartupKey, round: number, bundle: Bundle, sizes: RssSizes): Promise<RssRun> {
  const s = await launch(ctx, key, bundle);
  let requests = 0;
  let run: RssRun;
  try {
    run = await measureRss(ctx, s, key, round, sizes, (n) => (requests += n));
  } catch (e) {
    await s.stop();
    throw e;
  }
  const stop = await s.stop();
  checkStop(ctx, `footprint ${key} (round ${round + 1})`, key === "ringside" || key === "bundle", stop, requests);
  return run;
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;

/** Every server in turn, round after round (a different order each round). */
export async function rssRuns(ctx: Ctx, bundle: Bundle, sizes: RssSizes): Promise<RssRun[]> {
  const out: RssRun[] = [];
  for (let round = 0; round < sizes.rounds; round++) {
    await ctx.monitor.quiet(Math.max(0, ctx.sizes.quietBudgetS - ctx.monitor.waitedS));
    for (const key of rotated(STARTUP_KEYS, round)) {
      const r = await rssBlock(ctx, key, round, bundle, sizes);
      out.push(r);
      log(`footprint round ${round + 1}/${sizes.rounds} ${key.padEnd(8)} RSS idle ${mb(r.idle.vmRssKb)} (anon ${mb(r.idle.rssAnonKb)}), after wrk ${mb(r.afterLoad.vmRssKb)} (anon ${mb(r.afterLoad.rssAnonKb)})`);
    }
  }
  return out;
}
