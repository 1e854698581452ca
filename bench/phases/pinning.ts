// The pinning trials: which placement of threads on CPUs the wrk matrix, the
// cold start and the cost phase use. Every policy (lib/config.ts) is tried with
// a short wrk run per server and connection mode; in list order (simplest
// first), a policy replaces the one kept so far only if it scores 5% more.
// --pinning NAME skips the trials and records that policy.
import { LABELS, PINNINGS, isRing, keepsAlive, pinningByName, variant, type ConnMode, type Pinning, type ServerName } from "../lib/config.ts";
import { log, type Ctx } from "../lib/ctx.ts";
import { affinity, block, measure, type Affinity, type LoadRun } from "../lib/measure.ts";
import { ringsideArgs } from "../lib/servers.ts";
import { fmt, geomean } from "../lib/stats.ts";
import { table } from "../report/md.ts";
import type { Done, Phase, Results } from "./phase.ts";

export interface PinningPlan {
  policies: readonly string[];
  servers: readonly ServerName[];
  conns: readonly ConnMode[];
  connections: number;
  wrkS: number;
}

export interface PinningTrial extends LoadRun {
  policy: string;
  affinity: Affinity;
}

export interface PinningResult {
  chosen: string;
  summary: string;
  forced: boolean;
  trials: PinningTrial[];
  scores: Record<string, number>;
}

type PinningRecord = Done<PinningPlan, PinningResult>;

const FULL: PinningPlan = {
  policies: PINNINGS.map((p) => p.name),
  servers: ["nginx", "bun", "spin", "sqpoll", "batch"],
  // Pipelining changes the client's cost, not where the server's threads should run.
  conns: ["close", "keep-alive"],
  connections: 64,
  wrkS: 2,
};

const QUICK: PinningPlan = { policies: ["unpinned", "ring1-sq0"], servers: ["sqpoll"], conns: ["keep-alive"], connections: 64, wrkS: 1 };

// ---------------------------------------------------------------- measuring

/** A peer under one policy: one server start, a trial per connection mode. */
function peerTrials(ctx: Ctx, plan: PinningPlan, server: ServerName, pin: Pinning): Promise<PinningTrial[]> {
  return block(ctx, 0, server, "close", pin, async (s, count) => {
    const out: PinningTrial[] = [];
    for (const conn of plan.conns) {
      const r = await measure(ctx, { ...s, variant: variant(server, conn) }, 0, plan.connections, plan.wrkS, pin);
      count(r.requests);
      out.push({ ...r, policy: pin.name, affinity: affinity(s) });
    }
    return out;
  });
}

/** A ringside mode and connection mode under one policy. */
async function ringTrial(ctx: Ctx, plan: PinningPlan, server: ServerName, conn: ConnMode, pin: Pinning): Promise<PinningTrial> {
  const t = await block(ctx, 0, server, conn, pin, async (s, count) => {
    const r = await measure(ctx, s, 0, plan.connections, plan.wrkS, pin);
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

async function allTrials(ctx: Ctx, plan: PinningPlan): Promise<PinningTrial[]> {
  const trials: PinningTrial[] = [];
  const peerDone = new Map<string, PinningTrial[]>();
  const ringDone = new Map<string, PinningTrial>();
  for (const name of plan.policies) {
    const pin = pinningByName(name);
    for (const server of plan.servers) {
      if (!isRing(server)) {
        // Peers only see peerCpus/clientCpus: measure each placement once.
        const { value } = await once(peerDone, `${server}|${pin.peerCpus}|${pin.clientCpus}`, () => peerTrials(ctx, plan, server, pin));
        trials.push(...value.map((t) => ({ ...t, policy: name })));
        continue;
      }
      for (const conn of plan.conns) {
        // Batch mode has no SQPOLL thread: policies that differ only there are one trial.
        const key = `${ringsideArgs(server, keepsAlive(conn), pin, 0).join(" ")}|${pin.clientCpus}|${conn}`;
        const { value, reused } = await once(ringDone, key, () => ringTrial(ctx, plan, server, conn, pin));
        trials.push(reused ? { ...value, policy: name } : value);
      }
    }
  }
  return trials;
}

/** The policy with the best score, in list order (simplest first): a policy must beat the one
 * kept so far by 5%; closer than that is run-to-run noise, and the simpler placement wins. */
function choose(plan: PinningPlan, trials: readonly PinningTrial[]): { best: Pinning; scores: Record<string, number> } {
  const scores: Record<string, number> = {};
  for (const name of plan.policies) scores[name] = geomean(trials.filter((t) => t.policy === name && isRing(t.server)).map((t) => t.rps));
  let best = plan.policies[0] ?? "unpinned";
  for (const name of plan.policies) if ((scores[name] ?? 0) > (scores[best] ?? 0) * 1.05) best = name;
  return { best: pinningByName(best), scores };
}

/** Chooses the run's placement (ctx.pin), unless --pinning forced one. */
async function run(ctx: Ctx, plan: PinningPlan): Promise<PinningResult> {
  let trials: PinningTrial[] = [];
  let scores: Record<string, number> = {};
  if (!ctx.pinForced) {
    trials = await allTrials(ctx, plan);
    const chosen = choose(plan, trials);
    ctx.pin = chosen.best;
    scores = chosen.scores;
  }
  log(`pinning policy: ${ctx.pin.name}: ${ctx.pin.summary}`);
  return { chosen: ctx.pin.name, summary: ctx.pin.summary, forced: ctx.pinForced, trials, scores };
}

// ---------------------------------------------------------------- report

function trial(p: PinningRecord, policy: string, server: ServerName, conn: ConnMode): LoadRun | undefined {
  return p.result.trials.find((t) => t.policy === policy && t.server === server && t.conn === conn);
}

/** One cell of the trials table: a server/mode under a policy. */
function trialCell(p: PinningRecord, policy: string, server: ServerName, conn: ConnMode): string {
  const tr = trial(p, policy, server, conn);
  if (!tr) return "-";
  const noise = tr.foreignCores + tr.stealCores >= 0.05 ? `, other work ${(tr.foreignCores + tr.stealCores).toFixed(2)}` : "";
  return `${fmt(tr.rps)} req/s, p99 ${fmt(tr.p99Ms)} ms, wrk ${tr.clientCores.toFixed(2)} / server ${(tr.serverCpuS / tr.seconds).toFixed(2)} cores${noise}`;
}

function trialsTable(p: PinningRecord): string {
  const pols = p.plan.policies;
  const head = ["server / mode", ...pols.map((x) => `${x}${p.result.chosen === x ? " (chosen)" : ""}`)];
  const rows: string[][] = [];
  for (const server of p.plan.servers) {
    for (const conn of p.plan.conns) rows.push([`${LABELS[server]} / ${conn}`, ...pols.map((x) => trialCell(p, x, server, conn))]);
  }
  rows.push(["score", ...pols.map((x) => fmt(p.result.scores[x] ?? Number.NaN))]);
  return table(head, rows);
}

function affinityLine(p: PinningRecord): string {
  const aff = new Map<string, string>();
  for (const tr of p.result.trials) {
    if (!isRing(tr.server)) continue;
    const key = `${tr.policy}/${tr.server}`;
    if (!aff.has(key)) aff.set(key, Object.entries(tr.affinity).map(([k, v]) => `${k}: ${v}`).join(", "));
  }
  return "Thread affinity as applied (Cpus_allowed_list from /proc): " + [...aff].map(([k, v]) => `${k} [${v}]`).join("; ") + ".";
}

function spinNotes(p: PinningRecord): string[] {
  const notes: string[] = [];
  for (const conn of p.plan.conns) {
    const split = trial(p, "split", "spin", conn);
    const batch = trial(p, "split", "batch", conn);
    const free = p.plan.policies.map((x) => ({ p: x, t: trial(p, x, "spin", conn) })).filter((x) => x.t && x.p !== "split");
    if (split && batch) {
      notes.push(
        `Spin mode without a core of its own (${conn}): with the ring thread and the SQPOLL thread both on CPU 1 (split) it made ${fmt(split.rps)} req/s against batch mode's ${fmt(batch.rps)} on the same CPU: ` +
          `the two always-runnable spinners take turns a scheduler time slice (milliseconds) at a time, so a request that needs both waits for slices.` +
          (free.length ? ` Given room (${free.map((x) => `${x.p}: ${fmt(x.t!.rps)}`).join(", ")}) it still competes with wrk for the second CPU.` : ""),
      );
    } else if (free.length) {
      notes.push(`Spin mode (${conn}): ${free.map((x) => `${x.p}: ${fmt(x.t!.rps)} req/s`).join(", ")}.`);
    }
  }
  return notes;
}

function trialLines(p: PinningRecord): string[] {
  if (!p.result.trials.length) return [];
  return [
    `Trials (wrk -c${p.plan.connections}, ${p.plan.wrkS} s each, one run). Score: geometric mean of ringside req/s; ` +
      `taken in the order below, a policy replaces the one chosen so far only if it scores 5% higher (closer is noise, and the simpler placement wins):`,
    "",
    trialsTable(p),
    "",
    affinityLine(p),
    "",
    ...spinNotes(p),
    "",
  ];
}

function section(p: PinningRecord, _run: Results): string[] {
  return [
    "## Pinning",
    "",
    `Policy used for every figure below: **${p.result.chosen}**: ${p.result.summary}.` + (p.result.forced ? " (forced with --pinning)" : ""),
    `wrk always runs one thread (\`wrk -t1\`), pinned with \`taskset\` when the policy pins the client; peers are started under \`taskset\`, ringside with \`--cpu\`/\`--sq-cpu\`.`,
    "",
    ...trialLines(p),
    `Policies: ${PINNINGS.map((x) => `**${x.name}**: ${x.summary}`).join("; ")}.`,
    "",
  ];
}

export const pinning: Phase<PinningPlan, PinningResult> = {
  name: "pinning",
  plan: (quick) => (quick ? QUICK : FULL),
  run,
  targets: () => [],
  section,
};
