// Figures and targets of the startup and footprint phase (issue 12), from its
// raw runs (pure: used by derive() and by the Markdown report). Medians over
// starts or rounds; ratios to Bun.serve paired by start, as they were measured.
import type { StartupKey } from "./config.ts";
import { fmtSpread, ratioSpread, spread, type Spread } from "./stats.ts";
import type { FootprintResult, Memory, Target } from "./types.ts";
import type { Timing } from "./hyperfine.ts";

/** Issue 12's wants. */
export const CLI_WANT_MS = 15;
export const IDLE_SLACK_KB = 5 * 1024;
export const IMAGE_WANT_MB = 125;

export const RINGSIDE_KEYS = ["ringside", "bundle"] as const;
const SHORT: Record<StartupKey, string> = { bun: "Bun.serve", nginx: "nginx", ringside: "ringside (src)", bundle: "ringside (bundle)" };

/** A server's cold starts, ms, by start index. */
function coldByRun(fp: FootprintResult, key: StartupKey): Map<number, number> {
  return new Map(fp.cold.filter((c) => c.key === key).map((c) => [c.run, c.ms]));
}

export function coldSpread(fp: FootprintResult, key: StartupKey): Spread {
  return spread([...coldByRun(fp, key).values()]);
}

/** Cold start over Bun.serve's, start by start (the two were started one after the other). */
export function coldVsBun(fp: FootprintResult, key: StartupKey): Spread {
  const a = coldByRun(fp, key);
  const b = coldByRun(fp, "bun");
  const runs = [...a.keys()].filter((run) => b.has(run));
  return ratioSpread(runs.map((run) => a.get(run)!), runs.map((run) => b.get(run)!));
}

export function attemptsSpread(fp: FootprintResult, key: StartupKey): Spread {
  return spread(fp.cold.filter((c) => c.key === key).map((c) => c.attempts));
}

export function cliTiming(fp: FootprintResult, name: string): Timing | undefined {
  return fp.cli.find((t) => t.name === name);
}

export type RssWhen = "idle" | "afterLoad";

/** A memory field over a server's rounds, kB. */
export function rssSpread(fp: FootprintResult, key: StartupKey, when: RssWhen, field: keyof Memory = "vmRssKb"): Spread {
  return spread(fp.rss.filter((r) => r.key === key).map((r) => r[when][field]));
}

const ms = (s: Spread): string => `${s.median.toFixed(1)} ms`;
export const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
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
  const t = CLI_NAMES.map((name) => ({ name, t: cliTiming(fp, name) }));
  const at = (name: string): string => {
    const x = cliTiming(fp, name);
    return x ? (x.seconds.median * 1000).toFixed(1) : "n/a";
  };
  return {
    name: "startup: `--version` and `--check URL` (hyperfine median), from src and from the bundle",
    want: `<= ${CLI_WANT_MS} ms each`,
    got: `--version: src ${at("version/src")}, bundle ${at("version/bundle")} ms; --check: src ${at("check/src")}, bundle ${at("check/bundle")} ms (floor \`bun -e 1\`: ${at("floor")} ms)`,
    met: t.every((x) => x.t) ? t.every((x) => x.t!.seconds.median * 1000 <= CLI_WANT_MS) : null,
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
