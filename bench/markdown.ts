// The Markdown report: one function per section, each returning its lines.
import { CONN_MODES, LABELS, PINNINGS, PIPELINE_DEPTH, SERVERS, isRing, type ConnMode, type ServerName } from "./config.ts";
import { footprintSection } from "./footprint-markdown.ts";
import { plural, table, verdict } from "./md.ts";
import { budgetSection, quotaSection, ringsSection } from "./phase-markdown.ts";
import { delaySection, routesSection } from "./routes-report.ts";
import { bestRing, row } from "./report.ts";
import { fmt, fmtSpread, type Spread } from "./stats.ts";
import type { CostResult, LoadRun, Results, Target, ThroughputRow } from "./types.ts";

const SECTION_TITLES: Record<ConnMode, string> = {
  close: "close (a new connection per request, `-H \"Connection: close\"`; ringside without --keep-alive answers HTTP/1.0 and closes)",
  "keep-alive": "keep-alive (HTTP/1.1 persistent connections, one request in flight per connection; ringside --keep-alive)",
  pipelined: `pipelined (HTTP/1.1 persistent connections, ${PIPELINE_DEPTH} requests per write as in TechEmpower's plaintext test, \`bench/pipeline.lua\`; ringside --keep-alive)`,
};

function ms(s: Spread): string {
  return fmtSpread(s, "", 3);
}

function pct(x: number): string {
  return `${x.toFixed(x < 10 ? 2 : 1)}%`;
}


function header(r: Results, svgName: string): string[] {
  const m = r.machine;
  const rounds = r.sizes.rounds;
  return [
    `# ringside benchmark: ${m.date.slice(0, 10)} on ${m.host}${r.quick ? " (quick)" : ""}`,
    "",
    `${m.cores} CPUs (${m.cpuModel}, ${m.virtualization}), ${m.memGiB} GiB, Linux ${m.kernel}; ` +
      `Bun ${m.versions.bun}, nginx ${m.versions.nginx}, ${m.versions.wrk}, ${m.versions.hyperfine}, ab ${m.versions.ab}; ringside ${r.tree.start} ` +
      `(defaults: --spin-budget ${r.serverDefaults.spinBudgetMs} ms, --sq-idle ${r.serverDefaults.sqIdleMs} ms). ` +
      `${plural(rounds, "round")}, servers interleaved (${SERVERS.map((s) => LABELS[s]).join(", ")}, then again), ` +
      `wrk ${r.sizes.wrkS} s per point after ${r.sizes.warmupS} s of warm-up per server start. Run took ${Math.round(r.durationS)} s.`,
    "",
    `![requests/s by server and mode](${svgName})`,
    "",
  ];
}

function targets(r: Results): string[] {
  const rows = r.targets.map((t) => [t.name + (t.note ? ` (${t.note})` : ""), t.want, t.got, verdict(t)]);
  return ["## Targets", "", table(["target", "want", "got", "verdict"], rows), ""];
}

function trial(r: Results, policy: string, server: ServerName, conn: ConnMode): LoadRun | undefined {
  return r.pinning.trials.find((t) => t.policy === policy && t.server === server && t.conn === conn);
}

/** One cell of the trials table: a server/mode under a policy. */
function trialCell(r: Results, policy: string, server: ServerName, conn: ConnMode): string {
  const tr = trial(r, policy, server, conn);
  if (!tr) return "-";
  const noise = tr.foreignCores + tr.stealCores >= 0.05 ? `, other work ${(tr.foreignCores + tr.stealCores).toFixed(2)}` : "";
  return `${fmt(tr.rps)} req/s, p99 ${fmt(tr.p99Ms)} ms, wrk ${tr.clientCores.toFixed(2)} / server ${(tr.serverCpuS / tr.seconds).toFixed(2)} cores${noise}`;
}

function trialsTable(r: Results): string {
  const pols = r.sizes.pinning.policies;
  const head = ["server / mode", ...pols.map((p) => `${p}${r.pinning.chosen === p ? " (chosen)" : ""}`)];
  const rows: string[][] = [];
  for (const server of r.sizes.pinning.servers) {
    for (const conn of r.sizes.pinning.conns) rows.push([`${LABELS[server]} / ${conn}`, ...pols.map((p) => trialCell(r, p, server, conn))]);
  }
  rows.push(["score", ...pols.map((p) => fmt(r.pinning.scores[p] ?? Number.NaN))]);
  return table(head, rows);
}

function affinityLine(r: Results): string {
  const aff = new Map<string, string>();
  for (const tr of r.pinning.trials) {
    if (!isRing(tr.server)) continue;
    const key = `${tr.policy}/${tr.server}`;
    if (!aff.has(key)) aff.set(key, Object.entries(tr.affinity).map(([k, v]) => `${k}: ${v}`).join(", "));
  }
  return "Thread affinity as applied (Cpus_allowed_list from /proc): " + [...aff].map(([k, v]) => `${k} [${v}]`).join("; ") + ".";
}

function spinNotes(r: Results): string[] {
  const notes: string[] = [];
  for (const conn of r.sizes.pinning.conns) {
    const split = trial(r, "split", "spin", conn);
    const batch = trial(r, "split", "batch", conn);
    const free = r.sizes.pinning.policies.map((p) => ({ p, t: trial(r, p, "spin", conn) })).filter((x) => x.t && x.p !== "split");
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

function pinningTrials(r: Results): string[] {
  if (!r.pinning.trials.length) return [];
  return [
    `Trials (wrk -c${r.sizes.pinning.connections}, ${r.sizes.pinning.wrkS} s each, one run). Score: geometric mean of ringside req/s; ` +
      `taken in the order below, a policy replaces the one chosen so far only if it scores 5% higher (closer is noise, and the simpler placement wins):`,
    "",
    trialsTable(r),
    "",
    affinityLine(r),
    "",
    ...spinNotes(r),
    "",
  ];
}

function pinning(r: Results): string[] {
  return [
    "## Pinning",
    "",
    `Policy used for every figure below: **${r.pinning.chosen}**: ${r.pinning.summary}.` + (r.pinning.forced ? " (forced with --pinning)" : ""),
    `wrk always runs one thread (\`wrk -t1\`), pinned with \`taskset\` when the policy pins the client; peers are started under \`taskset\`, ringside with \`--cpu\`/\`--sq-cpu\`.`,
    "",
    ...pinningTrials(r),
    `Policies: ${PINNINGS.map((p) => `**${p.name}**: ${p.summary}`).join("; ")}.`,
    "",
  ];
}

function throughputRow(x: ThroughputRow, conn: ConnMode): string[] {
  return [
    LABELS[x.server],
    String(x.connections),
    fmtSpread(x.rps),
    // wrk's latency histogram is meaningless under pipelining (it times a batch, then records zeros).
    conn === "pipelined" ? "n/a" : ms(x.p50Ms),
    conn === "pipelined" ? "n/a" : ms(x.p99Ms),
    x.server === "nginx" ? "1" : fmtSpread(x.vsNginx, "x"),
    x.server === "bun" ? "1" : fmtSpread(x.vsBun, "x"),
    fmtSpread(x.serverCores),
    fmtSpread(x.cpuPer100kS, " s"),
    x.server === "nginx" ? "1" : fmtSpread(x.perCpuVsNginx, "x"),
    fmtSpread(x.clientCores),
    x.foreignCores.max >= 0.05 ? fmtSpread(x.foreignCores) : "0",
    String(x.errors),
  ];
}

function throughput(r: Results, conn: ConnMode): string[] {
  const head = ["server", "conns", "req/s", "p50 ms", "p99 ms", "x nginx", "x Bun.serve", "server cores", "server CPU per 100k req", "req per CPU-s, x nginx", "wrk cores", "other work cores", "wrk socket errors"];
  return [
    `## Throughput and latency: ${SECTION_TITLES[conn]}`,
    "",
    `median (min–max) over ${plural(r.sizes.rounds, "round")}; ratios are per round against the peer measured in the same round. ` +
      `"server cores": CPU the server used (all its threads, the SQPOLL kernel thread included) per second of wall time. ` +
      `"wrk cores" near 1.00 means the single wrk thread was saturated: req/s is then a bound on the client, not the server, and "req per CPU-s" (requests per CPU-second of the server, relative to nginx) says more about the server.`,
    "",
    table(head, r.throughput.filter((x) => x.conn === conn).map((x) => throughputRow(x, conn))),
    "",
  ];
}

function bunCloseNote(r: Results): string[] {
  if (!r.throughput.some((x) => x.server === "bun" && x.conn === "close" && x.errors > 0)) return [];
  return [
    "Bun.serve's close-mode socket errors are read errors: it closes the connection after answering `Connection: close` but does not say `Connection: close` in its response, " +
      "so wrk sends its next request on the closed socket, counts a read error and reconnects. The responses themselves were complete and are counted.\n",
  ];
}

function coldTable(r: Results): string {
  const bunCold = r.cold.find((c) => c.name === "bun");
  return table(
    ["server", "ms median (min–max)", "mean ± sd", "vs Bun.serve"],
    r.cold.map((c) => [
      LABELS[c.name as ServerName] ?? c.name,
      fmtSpread({ min: c.seconds.min * 1000, median: c.seconds.median * 1000, max: c.seconds.max * 1000, n: c.seconds.n }),
      `${(c.meanS * 1000).toFixed(1)} ± ${(c.stddevS * 1000).toFixed(1)}`,
      bunCold ? `${c.seconds.median >= bunCold.seconds.median ? "+" : ""}${((c.seconds.median - bunCold.seconds.median) * 1000).toFixed(1)} ms` : "-",
    ]),
  );
}

function cold(r: Results): string[] {
  const c = r.sizes.cold;
  return [
    "## Cold start and a fixed batch (hyperfine)",
    "",
    `Cold start: \`bench/coldstart.sh\` starts the server and polls it with an HTTP/1.0 GET every 1 ms until a 200 arrives (bounded at 10 s); the server is killed in hyperfine's --prepare, outside the timing. ${plural(c.rounds, "hyperfine invocation")} with the servers in turn, ${c.runs} runs each (after ${c.warmup} warm-up), pooled: ${c.rounds * c.runs} runs per server.`,
    "",
    coldTable(r),
    "",
    ...(r.footprint ? ["Startup and footprint (below) times cold starts another way: the harness polls from the spawn, with no shell in between and nothing pinned.", ""] : []),
  ];
}

function sequentialBatch(r: Results): string[] {
  const n = r.sizes.batch.requests;
  return [
    `Batch: wall time of ${n} sequential requests, ${r.sizes.batch.runs} runs, after one untimed pass that checks every response. ` +
      `Close: \`ab -n ${n} -c 1\` (HTTP/1.0, a connection per request). Keep-alive: \`curl -s "http://127.0.0.1:PORT/?n=[1-${n}]"\` (HTTP/1.1, one connection; ` +
      `\`ab -k\` would speak HTTP/1.0 keep-alive, which Bun.serve answers and then closes). The client's own cost is in every figure: compare rows, not absolute values.`,
    "",
    table(
      ["server / mode", "seconds median (min–max)", "sequential req/s (median)"],
      r.cost.filter((c) => c.batch).map((c) => [`${LABELS[c.server]} / ${c.conn}`, fmtSpread(c.batch!.seconds, " s"), fmt(n / c.batch!.seconds.median)]),
    ),
    "",
  ];
}

function costIntro(r: Results): string {
  const c = r.sizes.cost;
  const perfRuns = c.perfRuns ?? 1;
  return (
    `System calls of the serving thread (ringside-ring; the nginx worker; Bun's main thread) under \`wrk -c${c.connections}\`: ` +
    `perf counts the raw_syscalls:sys_enter tracepoint on that thread (${plural(perfRuns, "run")} of ${c.perfS} s: all calls / all requests, then the per-run spread; the thread runs at full speed), ` +
    `strace -c -p names them (${c.straceS} s; strace stops the thread at every call, so it serves fewer requests per wake-up and batches differently). ` +
    `Idle: CPU of every thread of the server over ${c.idleS} s, starting ${r.serverDefaults.spinBudgetMs} ms (the spin budget) after the last request. ` +
    `Peak RSS: VmHWM (nginx: master + worker).`
  );
}

/** Server CPU per 100k requests at 64 connections (or the first count measured). */
function cpu64(r: Results, server: ServerName, conn: ConnMode): string {
  const c = r.sizes.connections.includes(64) ? 64 : r.sizes.connections[0]!;
  const x = row(r.throughput, server, conn, c);
  return x ? `${fmtSpread(x.cpuPer100kS, " s")} (c${c})` : "-";
}

function costRow(r: Results, c: CostResult): string[] {
  return [
    `${LABELS[c.server]} / ${c.conn}`,
    c.perf ? `${c.perf.perRequest.toFixed(3)}${c.perf.spread && c.perf.spread.n > 1 ? ` (${c.perf.spread.min.toFixed(3)}–${c.perf.spread.max.toFixed(3)})` : ""}` : "-",
    c.strace ? `${c.strace.perRequest.toFixed(3)}` : "-",
    c.strace ? c.strace.byName.slice(0, 4).map((s) => `${s.name} ${(s.calls / c.strace!.requests).toFixed(2)}`).join(", ") : "-",
    cpu64(r, c.server, c.conn),
    `${pct(c.idle.percentOfCore)}${c.idle.series.length > 1 ? ` (per second ${pct(Math.min(...c.idle.series))}–${pct(Math.max(...c.idle.series))})` : ""}`,
    Object.entries(c.idle.byThread)
      .filter(([, v]) => v >= 0.01)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${pct(v)}`)
      .join(", ") || "-",
    `${(c.vmHwmKb / 1024).toFixed(1)} MB`,
  ];
}

function sqpollAccounting(r: Results): string[] {
  const a = r.sqpollAccounting;
  if (!a) return [];
  return [
    `SQPOLL accounting: over the spin/sqpoll wrk runs the process used ${a.processCpuS.toFixed(2)} s (/proc/PID/stat), its threads ${a.taskSumCpuS.toFixed(2)} s (/proc/PID/task/*/stat), of which the iou-sqp thread ${a.sqCpuS.toFixed(2)} s: ${a.note}.`,
    "",
  ];
}

function profiles(r: Results): string[] {
  const profiled = r.cost.filter((c) => c.profile?.length);
  if (!profiled.length) return [];
  return [
    `### Where the time goes (perf record -e cpu-clock, wrk -c64 for ${r.sizes.cost.profileS} s, whole server process)`,
    "",
    ...profiled.flatMap((c) => [`**${LABELS[c.server]} / ${c.conn}**: ` + c.profile!.slice(0, 8).map((p) => `${p.percent.toFixed(1)}% ${p.comm} ${p.symbol}`).join("; "), ""]),
  ];
}

function cost(r: Results): string[] {
  const head = ["server / mode", "syscalls/req (perf)", "syscalls/req (strace)", "top syscalls (strace)", "server CPU per 100k req", "idle CPU (% of a core)", "idle by thread", "peak RSS"];
  return ["## Per-request cost", "", costIntro(r), "", table(head, r.cost.map((c) => costRow(r, c))), "", ...sqpollAccounting(r), ...profiles(r)];
}

const kib = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;

function footprintRow(c: CostResult): string[] {
  const f = c.footprint!;
  const cells = f.rounds.map((x, i) => `${kib(x.baseKb)} → ${kib(x.heldKb)} → ${kib(x.afterKb)} (${fmt(f.perConnectionB[i] ?? Number.NaN)} B per connection)`);
  return [`${LABELS[c.server]} / ${c.conn}`, String(f.connections), ...cells];
}

/** RSS of idle keep-alive connections; absent from results made before it was measured. */
function footprint(r: Results): string[] {
  const measured = r.cost.filter((c) => c.footprint);
  if (!measured.length) return [];
  return [
    "### Idle keep-alive connections",
    "",
    "VmRSS of the server (nginx: master + worker) before, while holding N connections that each sent one request, read the response and stayed open, and after they left; twice. " +
      "Bytes per connection: growth while held over the first round's baseline, divided by N. Round 2 runs on what round 1 freed; ringside maps each slot's header buffer on first use, " +
      "so round 2 still grows where it lands on slots round 1 did not touch (bounded by --max-connections x --max-header-size).",
    "",
    table(["server / mode", "connections", "round 1: before → held → after", "round 2: before → held → after"], measured.map(footprintRow)),
    "",
  ];
}

/** SIGTERM under load; absent from results made before it was measured. */
function stopUnderLoad(r: Results): string[] {
  const measured = r.cost.filter((c) => c.stopUnderLoad);
  if (!measured.length) return [];
  const rows = measured.map((c) => [`${LABELS[c.server]} / ${c.conn}`, `${c.stopUnderLoad!.ms.toFixed(0)} ms`, String(c.stopUnderLoad!.code)]);
  return [
    "### Stopping under load",
    "",
    `SIGTERM ${r.sizes.cost.stopAfterMs} ms into a \`wrk -c${r.sizes.cost.connections}\` run, to the process's exit (ringside drains: in-flight requests finish, idle connections close, for at most --drain-timeout, ${r.serverDefaults.drainTimeoutMs} ms by default).`,
    "",
    table(["server / mode", "signal to exit", "exit code"], rows),
    "",
  ];
}

function observations(r: Results): string[] {
  const o: string[] = [];
  for (const conn of CONN_MODES) {
    const bound = r.throughput.filter((x) => x.conn === conn && x.clientCores.median >= 0.9);
    if (bound.length) {
      o.push(
        `${conn}: wrk's one thread was busy >= 90% of its CPU for ${bound.map((x) => `${x.server} c${x.connections}`).join(", ")}: ` +
          `those figures measure the client as much as the server; on a 2-CPU machine a faster server cannot show more than wrk's ceiling.`,
      );
    }
  }
  for (const conn of CONN_MODES) {
    for (const c of r.sizes.connections) {
      const best = bestRing(r.throughput, conn, c);
      const ng = row(r.throughput, "nginx", conn, c);
      if (best && ng) {
        o.push(`${conn} c${c}: best ringside mode ${best.server} ${fmt(best.rps.median)} req/s at ${best.serverCores.median.toFixed(2)} server cores; nginx ${fmt(ng.rps.median)} at ${ng.serverCores.median.toFixed(2)} cores (CPU per 100k requests ${fmt(best.cpuPer100kS.median)} s vs ${fmt(ng.cpuPer100kS.median)} s).`);
      }
    }
  }
  return [...o, ...costObservations(r)];
}

function costObservations(r: Results): string[] {
  const o: string[] = [];
  for (const c of r.cost.filter((x) => x.server === "spin" && x.strace)) {
    const top = c.strace!.byName.slice(0, 3).map((s) => `${s.name} ${s.calls}`).join(", ");
    if (top) o.push(`spin/${c.conn}: the ring thread's system calls under strace were ${top} for ${c.strace!.requests} requests.`);
  }
  for (const c of r.cost.filter((x) => isRing(x.server) && x.idle.percentOfCore >= 1)) {
    const sq = c.idle.byThread["iou-sqp"] ?? 0;
    o.push(
      `${c.server}/${c.conn} idle ${pct(c.idle.percentOfCore)}: ${sq > 0 ? `iou-sqp thread ${pct(sq)} (it spins for --sq-idle, ${r.serverDefaults.sqIdleMs} ms, after the last submission), ` : ""}ring thread ${pct(c.idle.byThread["ringside-ring"] ?? 0)}; ` +
        `per second: ${c.idle.series.map((x) => x.toFixed(1)).join(", ")}; after the first ${c.idle.skipS} s: ${Number.isFinite(c.idle.steadyPercentOfCore) ? pct(c.idle.steadyPercentOfCore) : "n/a"}.`,
    );
  }
  return o;
}

function reading(r: Results): string[] {
  return ["## Reading this run", "", ...observations(r).map((s) => `- ${s}`), ""];
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
    `- Before each server start the harness waited for other work to fall under 20% of a core: ${n.waitedS} s of waiting in all; ${n.noisyStarts} start(s) went ahead anyway when the wait budget (${r.sizes.quietBudgetS} s) ran out.`,
    `- wrk measurements repeated because other work used more than 0.15 cores during them: ${n.retries} (budget ${r.sizes.retryBudget}). ` +
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
    `bun run bench${r.quick ? " --quick" : ""}${r.only ? ` --only ${r.only.join(",")}` : r.pinning.forced ? ` --pinning ${r.pinning.chosen}` : ""}`,
    "```",
    "",
    "Raw figures (every run, every round): the .json file next to this one.",
  ];
}

/** A run of --only phases: what ran, on what. */
function onlyHeader(r: Results): string[] {
  const m = r.machine;
  return [
    `# ringside benchmark: ${m.date.slice(0, 10)} on ${m.host}, ${r.only!.join(", ")} only${r.quick ? " (quick)" : ""}`,
    "",
    `${m.cores} CPUs (${m.cpuModel}, ${m.virtualization}), ${m.memGiB} GiB, Linux ${m.kernel}; Bun ${m.versions.bun}, nginx ${m.versions.nginx}, ${m.versions.wrk}; ringside ${r.tree.start}. ` +
      `No pinning trials, wrk matrix, hyperfine cold start or cost phase in this run (--only). Run took ${Math.round(r.durationS)} s.`,
    "",
  ];
}

export function renderMarkdown(r: Results, svgName: string): string {
  const phases = [ringsSection(r), quotaSection(r), budgetSection(r), routesSection(r), delaySection(r)];
  if (r.only) return [onlyHeader(r), targets(r), ...phases, footprintSection(r), noise(r), anomalies(r), reproduce(r)].flat().join("\n") + "\n";
  const sections = [
    header(r, svgName),
    targets(r),
    pinning(r),
    ...CONN_MODES.map((conn) => throughput(r, conn)),
    bunCloseNote(r),
    ...phases,
    cold(r),
    sequentialBatch(r),
    footprintSection(r),
    cost(r),
    footprint(r),
    stopUnderLoad(r),
    reading(r),
    noise(r),
    anomalies(r),
    reproduce(r),
  ];
  return sections.flat().join("\n") + "\n";
}
