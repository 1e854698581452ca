// The files of a report: DATE-HOST.md, .json and, when a phase drew the run's
// chart, .svg (copied to latest.svg for a full run); and reading a .json back,
// whatever schema it was written in.
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PHASES } from "../phases/index.ts";
import type { Results } from "../phases/phase.ts";
import { renderMarkdown, targetsOf } from "./markdown.ts";
import { renderChart, type Chart } from "./svg.ts";
import { upgrade, type ResultsV1 } from "./upgrade.ts";

/** The run's chart: from the first phase in the registry that draws one and ran. */
export function chartOf(r: Results): Chart | undefined {
  for (const p of PHASES) {
    const done = r.phases[p.name];
    if (done && p.chart) return p.chart(done, r);
  }
  return undefined;
}

/** A results .json, as schema 2 (older files are upgraded). */
export function readResults(path: string): Results {
  const json = JSON.parse(readFileSync(path, "utf8")) as Results | ResultsV1;
  return json.schema === 1 ? upgrade(json) : json;
}

/** Writes the report of `r` into dir as stem.md, .json and .svg (and latest.svg when asked); returns the files written. */
export function writeReport(r: Results, dir: string, stem: string, latest: boolean): string[] {
  r.targets = targetsOf(r);
  const md = join(dir, `${stem}.md`);
  const json = join(dir, `${stem}.json`);
  writeFileSync(json, JSON.stringify(r, null, 2) + "\n");
  const chart = chartOf(r);
  const svg = chart ? join(dir, `${stem}.svg`) : undefined;
  if (chart && svg) {
    writeFileSync(svg, renderChart(chart));
    if (latest) copyFileSync(svg, join(dir, "latest.svg"));
  }
  writeFileSync(md, renderMarkdown(r, svg ? `${stem}.svg` : undefined));
  return [md, json, ...(svg ? [svg] : [])];
}
