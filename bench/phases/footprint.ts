// The startup and footprint phase (issue 12): what starting ringside costs,
// side by side with Bun.serve (and nginx for reference), as a user runs it
// (bun src/cli.ts) and as the image runs it (the app bundled into one file):
// cold start to the first 200 polled from the spawn, `--version` and `--check`
// against `bun -e 1` (hyperfine), RSS idle and after a wrk run, and the image's
// size (its build a step of its own in the noise record: its CPU is not the servers').
import { log, type Ctx } from "../lib/ctx.ts";
import { timeCommands, type TimedCommand, type Timing } from "../lib/hyperfine.ts";
import { imageSize, type ImageSize } from "../lib/image.ts";
import { checkStop } from "../lib/measure.ts";
import { rssAround, type Memory, type RssPlan, type RssReading } from "../lib/memory.ts";
import { CLI, ENTRY, launchBun, launchNginx, launchRingside, type Running } from "../lib/servers.ts";
import { STARTUP_KEYS, STARTUP_LABELS, buildBundle, coldStarts, rotated, startupCommands, startupEnv, type Bundle, type ColdStartRun, type StartupKey } from "../lib/startup.ts";
import { fmt, fmtSpread, ratioSpread, spread, type Spread } from "../lib/stats.ts";
import { plural, table, targetLines } from "../report/md.ts";
import type { Done, Phase, Target } from "./phase.ts";

export interface FootprintPlan {
  /** Timed cold starts per server, servers in turn, after one untimed start each. */
  starts: number;
  /** hyperfine for --version, --check and the `bun -e 1` floor: rounds of `runs` runs per command, warm-up runs per invocation. */
  cli: { rounds: number; runs: number; warmup: number };
  /** RSS: rounds (servers in turn), seconds of settling after the first 200 and after wrk, the wrk run (keep-alive). */
  rss: RssPlan;
  /** Build the image (full run), or only read the size of an existing localhost/ringside:test (quick). */
  buildImage: boolean;
}

/** RSS of one server start: once it answers and has settled, and after a wrk run and a settle. */
export interface RssRun extends RssReading {
  round: number;
  key: StartupKey;
}

export interface FootprintResult {
  /** Each server's command line as the phase ran it. */
  commands: Record<StartupKey, string>;
  cold: ColdStartRun[];
  /** hyperfine, pooled over rounds: names "floor", "version/src", "version/bundle", "check/src", "check/bundle". */
  cli: Timing[];
  rss: RssRun[];
  image: ImageSize;
}

type FootprintRecord = Done<FootprintPlan, FootprintResult>;

const FULL: FootprintPlan = { starts: 10, cli: { rounds: 4, runs: 5, warmup: 2 }, rss: { rounds: 3, settleS: 1, wrkS: 2, connections: 64 }, buildImage: true };
const QUICK: FootprintPlan = { starts: 3, cli: { rounds: 1, runs: 5, warmup: 1 }, rss: { rounds: 1, settleS: 0.5, wrkS: 1, connections: 64 }, buildImage: false };

// ---------------------------------------------------------------- measuring

/** The commands hyperfine times: the floor, and --version and --check from src and from the bundle. */
function cliCommands(bundle: Bundle, url: string): TimedCommand[] {
  const src = { entry: CLI, shown: "bun src/cli.ts" };
  const bundled = { entry: bundle.path, shown: "bun ringside.js" };
  const cmd = (name: string, at: typeof src, flags: string[], env?: Record<string, string>): TimedCommand => ({
    name,
    args: ["bun", at.entry, ...flags],
    env,
    display: `${at.shown} ${flags.join(" ").replace(/:\d+\//, ":PORT/")}`,
  });
  return [
    { name: "floor", args: ["bun", "-e", "1"], display: "bun -e 1" },
    cmd("version/src", src, ["--version"]),
    cmd("check/src", src, ["--check", url]),
    cmd("version/bundle", bundled, ["--version"], bundle.env),
    cmd("check/bundle", bundled, ["--check", url], bundle.env),
  ];
}

/** --version and --check timed with hyperfine, --check against a ringside (src, default mode) started for it. */
async function cliTimings(ctx: Ctx, bundle: Bundle, plan: FootprintPlan["cli"]): Promise<Timing[]> {
  const s = await launchRingside("footprint/check", ["bun", CLI, "--host", "127.0.0.1", "--port", "0"]);
  let timings: Timing[];
  try {
    timings = await timeCommands(cliCommands(bundle, `http://127.0.0.1:${s.port}/`), plan.rounds, plan.runs, plan.warmup, ctx.tmp, ctx.limits.timeoutMs);
  } catch (e) {
    await s.stop();
    throw e;
  }
  checkStop(ctx, "footprint --check target", true, await s.stop(), 0);
  return timings;
}

/** A server as the RSS rows run it: ringside with --keep-alive (wrk keeps its connections), everything else as in the cold starts. */
function launch(ctx: Ctx, key: StartupKey, bundle: Bundle): Promise<Running> {
  const id = `footprint/${key}`;
  if (key === "bun") return launchBun(id, 1, (cmd) => cmd);
  if (key === "nginx") return launchNginx(id, ctx.tmp, 1, (cmd) => cmd);
  const entry = key === "bundle" ? bundle.path : ENTRY;
  return launchRingside(id, ["bun", entry, "--host", "127.0.0.1", "--port", "0", "--keep-alive"], startupEnv(key, bundle));
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;

/** Every server in turn, round after round (a different order each round). */
async function rssRuns(ctx: Ctx, bundle: Bundle, plan: RssPlan): Promise<RssRun[]> {
  const out: RssRun[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    await ctx.monitor.quiet(Math.max(0, ctx.limits.quietBudgetS - ctx.monitor.waitedS));
    for (const key of rotated(STARTUP_KEYS, round)) {
      const who = { key, where: `footprint ${key} (round ${round + 1})`, ringside: key === "ringside" || key === "bundle" };
      const r: RssRun = { round, key, ...(await rssAround(ctx, await launch(ctx, key, bundle), who, plan)) };
      out.push(r);
      log(`footprint round ${round + 1}/${plan.rounds} ${key.padEnd(8)} RSS idle ${mb(r.idle.vmRssKb)} (anon ${mb(r.idle.rssAnonKb)}), after wrk ${mb(r.afterLoad.vmRssKb)} (anon ${mb(r.afterLoad.rssAnonKb)})`);
    }
  }
  return out;
}

const medians = (label: string, xs: ReadonlyArray<{ name: string; ms: number[] }>): string => `${label} (median ms): ${xs.map((x) => `${x.name}=${spread(x.ms).median.toFixed(1)}`).join(" ")}`;

async function run(ctx: Ctx, plan: FootprintPlan): Promise<FootprintResult> {
  const bundle = await buildBundle(ctx.tmp);
  await ctx.monitor.quiet(Math.max(0, ctx.limits.quietBudgetS - ctx.monitor.waitedS));
  const cold = await coldStarts(ctx.tmp, bundle, plan.starts, ctx.limits.timeoutMs);
  log(medians("footprint: cold start to the first 200, polled every 1 ms", STARTUP_KEYS.map((k) => ({ name: k, ms: cold.filter((c) => c.key === k).map((c) => c.ms) }))));
  const cli = await cliTimings(ctx, bundle, plan.cli);
  log(medians("footprint: commands", cli.map((t) => ({ name: t.name, ms: [t.seconds.median * 1000] }))));
  const rss = await rssRuns(ctx, bundle, plan.rss);
  ctx.enter("image");
  const image = await imageSize(plan.buildImage);
  log(`image ${image.tag}: ${image.bytes === undefined ? image.note : `${(image.bytes / 1e6).toFixed(1)} MB`}`);
  return { commands: startupCommands(bundle), cold, cli, rss, image };
}

// ---------------------------------------------------------------- figures and targets

/** Issue 12's wants. */
const CLI_WANT_MS = 15;
const IDLE_SLACK_KB = 5 * 1024;
const IMAGE_WANT_MB = 125;

const RINGSIDE_KEYS = ["ringside", "bundle"] as const;
const SHORT: Record<StartupKey, string> = { bun: "Bun.serve", nginx: "nginx", ringside: "ringside (src)", bundle: "ringside (bundle)" };

/** A server's cold starts, ms, by start index. */
function coldByRun(fp: FootprintResult, key: StartupKey): Map<number, number> {
  return new Map(fp.cold.filter((c) => c.key === key).map((c) => [c.run, c.ms]));
}

const coldSpread = (fp: FootprintResult, key: StartupKey): Spread => spread([...coldByRun(fp, key).values()]);

/** Cold start over Bun.serve's, start by start (the two were started one after the other). */
function coldVsBun(fp: FootprintResult, key: StartupKey): Spread {
  const a = coldByRun(fp, key);
  const b = coldByRun(fp, "bun");
  const runs = [...a.keys()].filter((run) => b.has(run));
  return ratioSpread(runs.map((run) => a.get(run)!), runs.map((run) => b.get(run)!));
}

const cliTiming = (fp: FootprintResult, name: string): Timing | undefined => fp.cli.find((t) => t.name === name);

type RssWhen = "idle" | "afterLoad";

/** A memory field over a server's rounds, kB. */
function rssSpread(fp: FootprintResult, key: StartupKey, when: RssWhen, field: keyof Memory = "vmRssKb"): Spread {
  return spread(fp.rss.filter((r) => r.key === key).map((r) => r[when][field]));
}

const ms = (s: Spread): string => `${s.median.toFixed(1)} ms`;
const signedMb = (kb: number): string => `${kb >= 0 ? "+" : ""}${(kb / 1024).toFixed(1)}`;

function coldTarget(fp: FootprintResult): Target {
  const bun = coldSpread(fp, "bun");
  const rings = RINGSIDE_KEYS.map((k) => ({ k, s: coldSpread(fp, k), x: coldVsBun(fp, k) })).filter((r) => r.s.n > 0);
  const parts = rings.map((r) => `${SHORT[r.k]} ${ms(r.s)} (${fmtSpread(r.x, "x")} per start)`);
  const nginx = coldSpread(fp, "nginx");
  return {
    name: "startup: cold start to the first 200 (polled every 1 ms from the spawn), ringside vs Bun.serve",
    want: "median <= Bun.serve's, as a user runs it and as the image runs it",
    got: bun.n ? `Bun.serve ${ms(bun)}; ${parts.join("; ")}${nginx.n ? `; nginx ${ms(nginx)}` : ""}` : "n/a",
    met: bun.n && rings.length === RINGSIDE_KEYS.length ? rings.every((r) => r.s.median <= bun.median) : null,
  };
}

const CLI_NAMES = ["version/src", "version/bundle", "check/src", "check/bundle"] as const;

function cliTarget(fp: FootprintResult): Target {
  const t = CLI_NAMES.map((name) => cliTiming(fp, name));
  const at = (name: string): string => {
    const x = cliTiming(fp, name);
    return x ? (x.seconds.median * 1000).toFixed(1) : "n/a";
  };
  return {
    name: "startup: `--version` and `--check URL` (hyperfine median), from src and from the bundle",
    want: `<= ${CLI_WANT_MS} ms each`,
    got: `--version: src ${at("version/src")}, bundle ${at("version/bundle")} ms; --check: src ${at("check/src")}, bundle ${at("check/bundle")} ms (floor \`bun -e 1\`: ${at("floor")} ms)`,
    met: t.every((x) => x) ? t.every((x) => x!.seconds.median * 1000 <= CLI_WANT_MS) : null,
  };
}

function rssTarget(fp: FootprintResult, when: RssWhen, slackKb: number): Target {
  const bun = rssSpread(fp, "bun", when).median;
  const rings = RINGSIDE_KEYS.map((k) => ({ k, kb: rssSpread(fp, k, when).median })).filter((r) => Number.isFinite(r.kb));
  const ok = Number.isFinite(bun) && rings.length === RINGSIDE_KEYS.length;
  const idle = when === "idle";
  return {
    name: idle ? "footprint: RSS once serving and settled, ringside vs Bun.serve" : "footprint: RSS after a wrk run (keep-alive, c64) and a settle, ringside vs Bun.serve",
    want: slackKb > 0 ? `<= Bun.serve + ${mb(slackKb)} (VmRSS, median)` : "<= Bun.serve (VmRSS, median)",
    got: ok ? `Bun.serve ${mb(bun)}; ${rings.map((r) => `${SHORT[r.k]} ${mb(r.kb)} (${signedMb(r.kb - bun)})`).join("; ")}` : "n/a",
    met: ok ? rings.every((r) => r.kb <= bun + slackKb) : null,
    note: "VmRSS is mostly file-backed pages of the bun binary; RssAnon and RssFile are in the startup and footprint section",
  };
}

function imageTarget(fp: FootprintResult): Target {
  const i = fp.image;
  return {
    name: "footprint: the sidecar image's size (podman image inspect .Size)",
    want: `<= ${IMAGE_WANT_MB} MB`,
    got: i.bytes === undefined ? i.note : `${(i.bytes / 1e6).toFixed(1)} MB (${i.tag}${i.built ? ", built in this run" : ", an existing image"})`,
    met: i.bytes === undefined ? null : i.bytes <= IMAGE_WANT_MB * 1e6,
  };
}

export function footprintTargets(fp: FootprintResult): Target[] {
  return [coldTarget(fp), cliTarget(fp), rssTarget(fp, "idle", IDLE_SLACK_KB), rssTarget(fp, "afterLoad", 0), imageTarget(fp)];
}

// ---------------------------------------------------------------- report

const msSpread = (s: Spread): string => fmtSpread(s, " ms", 3);

function coldRow(fp: FootprintResult, key: StartupKey): string[] {
  const attempts = spread(fp.cold.filter((c) => c.key === key).map((c) => c.attempts));
  return [STARTUP_LABELS[key], `\`${fp.commands[key]}\``, msSpread(coldSpread(fp, key)), key === "bun" ? "1" : fmtSpread(coldVsBun(fp, key), "x"), fmt(attempts.median)];
}

function coldLines({ plan, result: fp }: FootprintRecord): string[] {
  return [
    `**Cold start to the first 200.** The harness spawns the server and, from that moment, tries a TCP connect and \`GET / HTTP/1.0\` every 1 ms until a 200 arrives; ` +
      `the time is from the spawn to that response. ${plural(plan.starts, "timed start")} per server, after one untimed start each; the servers take turns, in a different order every start; nothing pinned; medians (min–max); ` +
      `"x Bun.serve" pairs each start with Bun.serve's of the same turn. ringside runs with no mode flag (its default picks the mode and rings from the CPUs it gets).`,
    "",
    table(["server", "command", "ms to the first 200", "x Bun.serve", "connection attempts (median)"], STARTUP_KEYS.map((k) => coldRow(fp, k))),
    "",
    "This differs from the hyperfine cold start (when that ran, above): there hyperfine starts `bench/lib/coldstart.sh`, so bash's own start and its `/dev/tcp` polling are in every figure, " +
      "and the servers are pinned as the run's policy says; here nothing starts between the harness and the server. Compare rows within one table, not figures across them.",
    "",
  ];
}

function cliRow(fp: FootprintResult, name: string): string[] {
  const t = cliTiming(fp, name);
  const floor = cliTiming(fp, "floor");
  if (!t) return [name, "-", "-", "-"];
  const over = floor && name !== "floor" ? `+${((t.seconds.median - floor.seconds.median) * 1000).toFixed(1)} ms` : "-";
  const inMs = { ...t.seconds, min: t.seconds.min * 1000, median: t.seconds.median * 1000, max: t.seconds.max * 1000 };
  return [`\`${t.command}\``, msSpread(inMs), `${(t.meanS * 1000).toFixed(1)} ± ${(t.stddevS * 1000).toFixed(1)}`, over];
}

function cliLines({ plan, result: fp }: FootprintRecord): string[] {
  const c = plan.cli;
  return [
    `**Commands.** ${plural(c.rounds, "hyperfine -N invocation")} per environment, ${c.runs} runs of each command in each after ${c.warmup} warm-up, pooled. \`--check\` asks a ringside (src, default mode) started for it. The bundle's commands run in the image's environment (RINGSIDE_LIB, BUN_RUNTIME_TRANSPILER_CACHE_PATH=0), ` +
      "in hyperfine invocations of their own; `bun -e 1` is the floor: Bun starting and exiting.",
    "",
    table(["command", "ms median (min–max)", "mean ± sd", "over the floor"], ["floor", "version/src", "version/bundle", "check/src", "check/bundle"].map((n) => cliRow(fp, n))),
    "",
  ];
}

const FIELDS: ReadonlyArray<keyof Memory> = ["vmRssKb", "rssAnonKb", "rssFileKb"];

function rssCells(fp: FootprintResult, key: StartupKey, when: RssWhen): string[] {
  return FIELDS.map((f) => {
    const s = rssSpread(fp, key, when, f);
    return s.n ? (s.n > 1 && s.min !== s.max ? `${mb(s.median)} (${mb(s.min)}–${mb(s.max)})` : mb(s.median)) : "n/a";
  });
}

function rssRow(fp: FootprintResult, key: StartupKey): string[] {
  const runs = fp.rss.filter((r) => r.key === key);
  return [STARTUP_LABELS[key], String(runs[0]?.processes ?? "-"), ...rssCells(fp, key, "idle"), ...rssCells(fp, key, "afterLoad"), fmt(spread(runs.map((r) => r.rps)).median)];
}

function rssLines({ plan, result: fp }: FootprintRecord): string[] {
  const r = plan.rss;
  return [
    `**Memory** (/proc/PID/status, medians (min–max)). ${plural(r.rounds, "round")}, the servers in turn; each started, read ${r.settleS} s after it first answered, then \`wrk -t1 -c${r.connections}\` keep-alive for ${r.wrkS} s, read again ${r.settleS} s after. ` +
      "ringside runs with --keep-alive here (its default otherwise), so that wrk keeps its connections. nginx's figures are master + worker summed, so pages they share count twice.",
    "",
    table(["server", "processes", "idle VmRSS", "idle RssAnon", "idle RssFile", "after wrk VmRSS", "after wrk RssAnon", "after wrk RssFile", "wrk req/s"], STARTUP_KEYS.map((k) => rssRow(fp, k))),
    "",
    "Reading these: VmRSS = RssAnon + RssFile + RssShmem. Most of a Bun process's RSS is RssFile, pages of the bun binary itself: shared with every other Bun process on the machine, and given back under memory pressure. " +
      "RssAnon is what the process allocated (heap, stacks, ringside's rings and buffers).",
    "",
  ];
}

function imageLines(i: ImageSize): string[] {
  if (i.bytes === undefined) return [`**Image.** ${i.tag}: ${i.note}.`, ""];
  const when = i.created ? `, created ${i.created.slice(0, 19).replace("T", " ")}` : "";
  const took = i.buildS !== undefined ? ` (bases and build took ${i.buildS} s)` : "";
  return [`**Image.** ${i.tag}: ${(i.bytes / 1e6).toFixed(1)} MB (podman image inspect .Size, 10^6 bytes per MB${when}): ${i.note}${took}.`, ""];
}

function section(fp: FootprintRecord): string[] {
  return [
    "## Startup and footprint (issue 12)",
    "",
    "ringside as a user runs it (`bun run serve`: `bun src/entry.ts`, which runs the CLI bundled in dist/ringside.js) and as its image runs it, side by side with Bun.serve (`bench/lib/peer-bun.ts`: `Bun.serve` with a static route and `fetch`, nothing else), and nginx (`bench/lib/nginx.conf`, 1 worker) for reference. " +
      "The image's way: `ringside.js` is the app bundled into one file as the Dockerfile does it (`bun build src/cli.ts --target bun --minify`), run with the library this tree built (RINGSIDE_LIB) and, as in the image, no transpiler cache.",
    "",
    ...coldLines(fp),
    ...cliLines(fp),
    ...rssLines(fp),
    ...imageLines(fp.result.image),
    ...targetLines(footprintTargets(fp.result)),
    "",
  ];
}

export const footprint: Phase<FootprintPlan, FootprintResult> = {
  name: "footprint",
  plan: (quick) => (quick ? QUICK : FULL),
  run,
  targets: ({ result }) => footprintTargets(result),
  section,
};
