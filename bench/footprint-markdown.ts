// The Markdown section of the startup and footprint phase (absent from results
// made before it existed, and from runs that did not run it).
import { STARTUP_KEYS, STARTUP_LABELS, type FootprintSizes, type StartupKey } from "./config.ts";
import { attemptsSpread, cliTiming, coldSpread, coldVsBun, footprintTargets, mb, rssSpread, type RssWhen } from "./footprint-report.ts";
import { plural, table, targetLines } from "./md.ts";
import { fmt, fmtSpread, spread, type Spread } from "./stats.ts";
import type { FootprintResult, Memory, Results } from "./types.ts";

const msSpread = (s: Spread): string => fmtSpread(s, " ms", 3);

function coldRow(fp: FootprintResult, key: StartupKey): string[] {
  return [
    STARTUP_LABELS[key],
    `\`${fp.commands[key]}\``,
    msSpread(coldSpread(fp, key)),
    key === "bun" ? "1" : fmtSpread(coldVsBun(fp, key), "x"),
    fmt(attemptsSpread(fp, key).median),
  ];
}

function coldLines(fp: FootprintResult, sizes: FootprintSizes | undefined): string[] {
  const starts = sizes ? `${plural(sizes.starts, "timed start")} per server, after one untimed start each` : "timed starts";
  return [
    `**Cold start to the first 200.** The harness spawns the server and, from that moment, tries a TCP connect and \`GET / HTTP/1.0\` every 1 ms until a 200 arrives; ` +
      `the time is from the spawn to that response. ${starts}; the servers take turns, in a different order every start; nothing pinned; medians (min–max); ` +
      `"x Bun.serve" pairs each start with Bun.serve's of the same turn. ringside runs with no mode flag (its default picks the mode and rings from the CPUs it gets).`,
    "",
    table(["server", "command", "ms to the first 200", "x Bun.serve", "connection attempts (median)"], STARTUP_KEYS.map((k) => coldRow(fp, k))),
    "",
    "This differs from the hyperfine cold start (when that ran, above): there hyperfine starts `bench/coldstart.sh`, so bash's own start and its `/dev/tcp` polling are in every figure, " +
      "and the servers are pinned as the run's policy says; here nothing starts between the harness and the server. Compare rows within one table, not figures across them.",
    "",
  ];
}

function cliRow(fp: FootprintResult, name: string): string[] {
  const t = cliTiming(fp, name);
  const floor = cliTiming(fp, "floor");
  if (!t) return [name, "-", "-", "-"];
  const over = floor && name !== "floor" ? `+${((t.seconds.median - floor.seconds.median) * 1000).toFixed(1)} ms` : "-";
  const ms = { ...t.seconds, min: t.seconds.min * 1000, median: t.seconds.median * 1000, max: t.seconds.max * 1000 };
  return [`\`${t.command}\``, msSpread(ms), `${(t.meanS * 1000).toFixed(1)} ± ${(t.stddevS * 1000).toFixed(1)}`, over];
}

function cliLines(fp: FootprintResult, sizes: FootprintSizes | undefined): string[] {
  const c = sizes?.cli;
  const how = c ? `${plural(c.rounds, "hyperfine -N invocation")} per environment, ${c.runs} runs of each command in each after ${c.warmup} warm-up, pooled` : "hyperfine -N";
  return [
    `**Commands.** ${how}. \`--check\` asks a ringside (src, default mode) started for it. The bundle's commands run in the image's environment (RINGSIDE_LIB, BUN_RUNTIME_TRANSPILER_CACHE_PATH=0), ` +
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

function rssLines(fp: FootprintResult, sizes: FootprintSizes | undefined): string[] {
  const r = sizes?.rss;
  const how = r
    ? `${plural(r.rounds, "round")}, the servers in turn; each started, read ${r.settleS} s after it first answered, then \`wrk -t1 -c${r.connections}\` keep-alive for ${r.wrkS} s, read again ${r.settleS} s after`
    : "each server read once serving, and after a wrk run";
  return [
    `**Memory** (/proc/PID/status, medians (min–max)). ${how}. ringside runs with --keep-alive here (its default otherwise), so that wrk keeps its connections. nginx's figures are master + worker summed, so pages they share count twice.`,
    "",
    table(["server", "processes", "idle VmRSS", "idle RssAnon", "idle RssFile", "after wrk VmRSS", "after wrk RssAnon", "after wrk RssFile", "wrk req/s"], STARTUP_KEYS.map((k) => rssRow(fp, k))),
    "",
    "Reading these: VmRSS = RssAnon + RssFile + RssShmem. Most of a Bun process's RSS is RssFile, pages of the bun binary itself: shared with every other Bun process on the machine, and given back under memory pressure. " +
      "RssAnon is what the process allocated (heap, stacks, ringside's rings and buffers).",
    "",
  ];
}

function imageLines(fp: FootprintResult): string[] {
  const i = fp.image;
  if (i.bytes === undefined) return [`**Image.** ${i.tag}: ${i.note}.`, ""];
  const when = i.created ? `, created ${i.created.slice(0, 19).replace("T", " ")}` : "";
  const took = i.buildS !== undefined ? ` (bases and build took ${i.buildS} s)` : "";
  return [`**Image.** ${i.tag}: ${(i.bytes / 1e6).toFixed(1)} MB (podman image inspect .Size, 10^6 bytes per MB${when}): ${i.note}${took}.`, ""];
}

export function footprintSection(r: Results): string[] {
  const fp = r.footprint;
  if (!fp) return [];
  const sizes = r.sizes.footprint;
  return [
    "## Startup and footprint (issue 12)",
    "",
    "ringside as a user runs it (`bun src/cli.ts`) and as its image runs it, side by side with Bun.serve (`bench/peer-bun.ts`), and nginx (`bench/nginx.conf`, 1 worker) for reference. " +
      "The image's way: `ringside.js` is the app bundled into one file as the Dockerfile does it (`bun build src/cli.ts --target bun --minify`), run with the library this tree built (RINGSIDE_LIB) and, as in the image, no transpiler cache.",
    "",
    ...coldLines(fp, sizes),
    ...cliLines(fp, sizes),
    ...rssLines(fp, sizes),
    ...imageLines(fp),
    ...targetLines(footprintTargets(fp)),
    "",
  ];
}
