// The startup and footprint phase (issue 12): what starting ringside costs,
// side by side with Bun.serve (and nginx for reference), as a user runs it
// (bun src/cli.ts) and as the image runs it (the app bundled into one file):
// cold start to the first 200 (bench/startup.ts), `--version` and `--check`
// against `bun -e 1` (hyperfine), RSS idle and after a wrk run
// (bench/memory.ts). The image's size is bench/image.ts, run after it.
import { join } from "node:path";
import { STARTUP_KEYS, type FootprintSizes, type StartupKey } from "./config.ts";
import { timeCommands, type TimedCommand, type Timing } from "./hyperfine.ts";
import { checkStop, log, type Ctx } from "./measure.ts";
import { rssRuns } from "./memory.ts";
import { runOk } from "./proc.ts";
import { CLI, ROOT, launchRingside } from "./servers.ts";
import { bundleEnv, coldStarts, startupCommands, type Bundle } from "./startup.ts";
import { spread } from "./stats.ts";
import type { ColdStartRun, FootprintResult } from "./types.ts";

/** Bundles the app as the Dockerfile does. */
async function buildBundle(tmp: string): Promise<Bundle> {
  const path = join(tmp, "ringside.js");
  await runOk(["bun", "build", CLI, "--target", "bun", "--minify", "--outfile", path], 60_000, { cwd: ROOT });
  return { path, env: bundleEnv() };
}

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
async function cliTimings(ctx: Ctx, bundle: Bundle, sizes: FootprintSizes["cli"]): Promise<Timing[]> {
  const s = await launchRingside("footprint/check", ["bun", CLI, "--host", "127.0.0.1", "--port", "0"]);
  let timings: Timing[];
  try {
    const cmds = cliCommands(bundle, `http://127.0.0.1:${s.port}/`);
    timings = await timeCommands(cmds, sizes.rounds, sizes.runs, sizes.warmup, ctx.tmp, ctx.sizes.timeoutMs);
  } catch (e) {
    await s.stop();
    throw e;
  }
  checkStop(ctx, "footprint --check target", true, await s.stop(), 0);
  return timings;
}

function coldLog(cold: readonly ColdStartRun[]): string {
  const median = (key: StartupKey): string => spread(cold.filter((c) => c.key === key).map((c) => c.ms)).median.toFixed(1);
  return STARTUP_KEYS.map((k) => `${k}=${median(k)}`).join(" ");
}

export async function footprintPhase(ctx: Ctx, sizes: FootprintSizes): Promise<Omit<FootprintResult, "image">> {
  const bundle = await buildBundle(ctx.tmp);
  await ctx.monitor.quiet(Math.max(0, ctx.sizes.quietBudgetS - ctx.monitor.waitedS));
  const cold = await coldStarts(ctx.tmp, bundle, sizes.starts, ctx.sizes.timeoutMs);
  log(`footprint: cold start to the first 200, polled every 1 ms (median ms): ${coldLog(cold)}`);
  const cli = await cliTimings(ctx, bundle, sizes.cli);
  log(`footprint: commands (median ms): ${cli.map((t) => `${t.name}=${(t.seconds.median * 1000).toFixed(1)}`).join(" ")}`);
  const rss = await rssRuns(ctx, bundle, sizes.rss);
  return { commands: startupCommands(bundle), cold, cli, rss };
}
