// The pinning trials (which placement of threads on CPUs the run uses) and
// the wrk matrix (rounds x connection modes x servers x connection counts).
import { CONN_MODES, SERVERS, isRing, keepsAlive, pinningByName, variant, type ConnMode, type Pinning, type ServerName } from "./config.ts";
import { affinity, block, checkWrk, log, measure, type Ctx } from "./measure.ts";
import { ringsideArgs } from "./servers.ts";
import { geomean } from "./stats.ts";
import type { LoadRun, PinningTrial } from "./types.ts";
import { runWrk } from "./wrk.ts";

/** A peer under one policy: one server start, a trial per connection mode. */
function peerTrials(ctx: Ctx, server: ServerName, pin: Pinning): Promise<PinningTrial[]> {
  const p = ctx.sizes.pinning;
  return block(ctx, 0, server, "close", pin, async (s, count) => {
    const out: PinningTrial[] = [];
    for (const conn of p.conns) {
      const r = await measure(ctx, { ...s, variant: variant(server, conn) }, 0, p.connections, p.wrkS, pin);
      count(r.requests);
      out.push({ ...r, policy: pin.name, affinity: affinity(s) });
    }
    return out;
  });
}

/** A ringside mode and connection mode under one policy. */
async function ringTrial(ctx: Ctx, server: ServerName, conn: ConnMode, pin: Pinning): Promise<PinningTrial> {
  const p = ctx.sizes.pinning;
  const t = await block(ctx, 0, server, conn, pin, async (s, count) => {
    const r = await measure(ctx, s, 0, p.connections, p.wrkS, pin);
    count(r.requests);
    return { ...r, policy: pin.name, affinity: affinity(s) };
  });
  log(`pinning ${pin.name.padEnd(13)} ${server}/${conn}: ${Math.round(t.rps)} req/s (client ${t.clientCores.toFixed(2)} cores, server ${(t.serverCpuS / t.seconds).toFixed(2)})`);
  return t;
}

/** Runs `measure` once per key: a placement measured under another policy's name is reused. */
async function once<T>(done: Map<string, T>, key: string, measure: () => Promise<T>): Promise<{ value: T; reused: boolean }> {
  const seen = done.get(key);
  if (seen !== undefined) return { value: seen, reused: true };
  const value = await measure();
  done.set(key, value);
  return { value, reused: false };
}

async function allTrials(ctx: Ctx): Promise<PinningTrial[]> {
  const p = ctx.sizes.pinning;
  const trials: PinningTrial[] = [];
  const peerDone = new Map<string, PinningTrial[]>();
  const ringDone = new Map<string, PinningTrial>();
  for (const name of p.policies) {
    const pin = pinningByName(name);
    for (const server of p.servers) {
      if (!isRing(server)) {
        // Peers only see peerCpus/clientCpus: measure each placement once.
        const { value } = await once(peerDone, `${server}|${pin.peerCpus}|${pin.clientCpus}`, () => peerTrials(ctx, server, pin));
        trials.push(...value.map((t) => ({ ...t, policy: name })));
        continue;
      }
      for (const conn of p.conns) {
        // Batch mode has no SQPOLL thread: policies that differ only there are one trial.
        const key = `${ringsideArgs(server, keepsAlive(conn), pin, 0).join(" ")}|${pin.clientCpus}|${conn}`;
        const { value, reused } = await once(ringDone, key, () => ringTrial(ctx, server, conn, pin));
        trials.push(reused ? { ...value, policy: name } : value);
      }
    }
  }
  return trials;
}

export async function pinningPhase(ctx: Ctx): Promise<{ trials: PinningTrial[]; scores: Record<string, number>; chosen: Pinning }> {
  const policies = ctx.sizes.pinning.policies;
  const trials = await allTrials(ctx);
  const scores: Record<string, number> = {};
  for (const name of policies) scores[name] = geomean(trials.filter((t) => t.policy === name && isRing(t.server)).map((t) => t.rps));
  // In list order (simplest first), a policy must beat the one kept so far by 5%:
  // closer than that is run-to-run noise, and the simpler placement wins.
  let best = policies[0] ?? "unpinned";
  for (const name of policies) if ((scores[name] ?? 0) > (scores[best] ?? 0) * 1.05) best = name;
  return { trials, scores, chosen: pinningByName(best) };
}

/** One server start in the wrk matrix: warm-up, then a measurement per connection count. */
function loadBlock(ctx: Ctx, round: number, server: ServerName, conn: ConnMode, pin: Pinning): Promise<LoadRun[]> {
  const { sizes } = ctx;
  return block(ctx, round, server, conn, pin, async (s, count) => {
    if (sizes.warmupS > 0) count((await runWrk(s.port, 64, sizes.warmupS, conn, pin.clientCpus)).requests);
    const out: LoadRun[] = [];
    for (const c of sizes.connections) {
      const r = await measure(ctx, s, round, c, sizes.wrkS, pin);
      count(r.requests);
      checkWrk(ctx, r, `round ${round + 1}`);
      out.push(r);
    }
    return out;
  });
}

export async function loadPhase(ctx: Ctx, pin: Pinning): Promise<LoadRun[]> {
  const { sizes } = ctx;
  const runs: LoadRun[] = [];
  for (let round = 0; round < sizes.rounds; round++) {
    for (const conn of CONN_MODES) {
      for (const server of SERVERS) {
        const got = await loadBlock(ctx, round, server, conn, pin);
        runs.push(...got);
        log(`round ${round + 1}/${sizes.rounds} ${`${server}/${conn}`.padEnd(18)} ${got.map((r) => `c${r.connections}=${Math.round(r.rps)}`).join(" ")}`);
      }
    }
  }
  return runs;
}
