// The Markdown report: a header (the machine, the chart), the Targets table of
// every phase, each phase's section in registry order, then the machine's
// noise, the anomalies and how to reproduce the run.
import { PHASES } from "../phases/index.ts";
import type { Results, Target } from "../phases/phase.ts";
import { table, verdict } from "./md.ts";

/** Every phase's targets, in registry order, from the records of the phases that ran. */
export function targetsOf(r: Results): Target[] {
  return PHASES.flatMap((p) => {
    const done = r.phases[p.name];
    return done ? p.targets(done, r) : [];
  });
}

const pct = (x: number): string => `${x.toFixed(x < 10 ? 2 : 1)}%`;

function header(r: Results, svgName: string | undefined): string[] {
  const m = r.machine;
  const v = m.versions;
  const only = r.only ? `, ${r.only.join(", ")} only` : "";
  return [
    `# ringside benchmark: ${m.date.slice(0, 10)} on ${m.host}${only}${r.quick ? " (quick)" : ""}`,
    "",
    `${m.cores} CPUs (${m.cpuModel}, ${m.virtualization}), ${m.memGiB} GiB, Linux ${m.kernel}; ` +
      `Bun ${v.bun}, nginx ${v.nginx}, ${v.wrk}, ${v.hyperfine}, ab ${v.ab}; ringside ${r.tree.start} ` +
      `(defaults: --spin-budget ${r.serverDefaults.spinBudgetMs} ms, --sq-idle ${r.serverDefaults.sqIdleMs} ms). ` +
      `${r.only ? "The other phases did not run (--only). " : ""}Run took ${Math.round(r.durationS)} s.`,
    "",
    ...(svgName ? [`![requests/s by server and mode](${svgName})`, ""] : []),
  ];
}

function targets(r: Results): string[] {
  const rows = targetsOf(r).map((t) => [t.name + (t.note ? ` (${t.note})` : ""), t.want, t.got, verdict(t)]);
  return ["## Targets", "", table(["target", "want", "got", "verdict"], rows), ""];
}

function noise(r: Results): string[] {
  const m = r.machine;
  const n = r.noise;
  return [
    "## Machine and noise",
    "",
    `- sysctl: ${Object.entries(m.sysctl).map(([k, v]) => `${k}=${v}`).join(", ")}; load average at start ${m.loadavgAtStart}.`,
    ...(m.network ? [`- network: ${m.network}.`] : []),
    `- strace ${m.versions.strace}; ${m.versions.perf}.`,
    `- CPU used by processes not started by this run, by phase (% of one core; a lower bound, from 1 s samples that miss short-lived processes): ${n.phases.map((p) => `${p.phase} ${pct(p.foreignPercentOfCore)}`).join(", ") || "none"}.`,
    `- Before each server start the harness waited for other work to fall under 20% of a core: ${n.waitedS} s of waiting in all; ${n.noisyStarts} start(s) went ahead anyway when the wait budget (${r.limits.quietBudgetS} s) ran out.`,
    `- wrk measurements repeated because other work used more than 0.15 cores during them: ${n.retries} (budget ${r.limits.retryBudget}). ` +
      `"other work cores" in the tables is, for the runs kept, the machine's busy time (/proc/stat) minus what the server, wrk and the harness used, plus hypervisor steal.`,
    ...(n.processes.length ? [`- Busiest of those: ${n.processes.slice(0, 5).map((p) => `\`${p.command}\` ${p.cpuS.toFixed(1)} s`).join("; ")}.`] : []),
    "",
  ];
}

function anomalies(r: Results): string[] {
  const none = "None: every ringside run ended with responses = requests >= what the clients counted, and no error counters.";
  return ["## Anomalies", "", r.anomalies.length ? r.anomalies.map((a) => `- ${a}`).join("\n") : none, ""];
}

function reproduce(r: Results): string[] {
  return [
    "## Reproduce",
    "",
    "```sh",
    `bun run bench${r.quick ? " --quick" : ""}${r.only ? ` --only ${r.only.join(",")}` : ""}${r.pinning ? ` --pinning ${r.pinning}` : ""}`,
    "```",
    "",
    "Raw figures (every run, every round): the .json file next to this one.",
  ];
}

/** The report; `svgName` is the run's chart beside it, when a phase drew one. */
export function renderMarkdown(r: Results, svgName?: string): string {
  const sections = PHASES.map((p) => {
    const done = r.phases[p.name];
    return done ? p.section(done, r) : [];
  });
  return [header(r, svgName), targets(r), ...sections, noise(r), anomalies(r), reproduce(r)].flat().join("\n") + "\n";
}
