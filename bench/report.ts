// From raw measurements to the figures people read: spreads and same-round
// ratios (derive), the targets with met/missed, the Markdown report and the chart.
import { CONN_MODES, CONN_TITLES, LABELS, PINNINGS, PIPELINE_DEPTH, RING_MODES, SERVERS, isRing, type ConnMode, type ServerName } from "./config.ts";
import { fmt, fmtSpread, ratioSpread, spread, type Spread } from "./stats.ts";
import { renderChart } from "./svg.ts";
import type { CostResult, LoadRun, Results, Target, ThroughputRow } from "./types.ts";

const COLORS: Record<ServerName, string> = {
  nginx: "#3d8b37",
  bun: "#d9822b",
  spin: "#9ecae1",
  sqpoll: "#4292c6",
  batch: "#08519c",
};

const SECTION_TITLES: Record<ConnMode, string> = {
  close: "close (a new connection per request, `-H \"Connection: close\"`; ringside without --keep-alive answers HTTP/1.0 and closes)",
  "keep-alive": "keep-alive (HTTP/1.1 persistent connections, one request in flight per connection; ringside --keep-alive)",
  pipelined: `pipelined (HTTP/1.1 persistent connections, ${PIPELINE_DEPTH} requests per write as in TechEmpower's plaintext test, \`bench/pipeline.lua\`; ringside --keep-alive)`,
};

/** A run's value by round, for one server/conn/connection count. */
function byRound(load: readonly LoadRun[], server: ServerName, conn: ConnMode, connections: number, f: (r: LoadRun) => number): number[] {
  return load
    .filter((r) => r.server === server && r.conn === conn && r.connections === connections)
    .sort((a, b) => a.round - b.round)
    .map(f);
}

export function throughputRows(load: readonly LoadRun[], connections: readonly number[]): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  for (const conn of CONN_MODES) {
    for (const c of connections) {
      const nginx = byRound(load, "nginx", conn, c, (r) => r.rps);
      const eff = (r: LoadRun): number => r.requests / r.serverCpuS;
      const nginxEff = byRound(load, "nginx", conn, c, eff);
      const bun = byRound(load, "bun", conn, c, (r) => r.rps);
      for (const server of SERVERS) {
        const runs = load.filter((r) => r.server === server && r.conn === conn && r.connections === c);
        if (!runs.length) continue;
        const rps = byRound(load, server, conn, c, (r) => r.rps);
        rows.push({
          server,
          conn,
          connections: c,
          rps: spread(rps),
          p50Ms: spread(runs.map((r) => r.p50Ms)),
          p99Ms: spread(runs.map((r) => r.p99Ms)),
          clientCores: spread(runs.map((r) => r.clientCores)),
          serverCores: spread(runs.map((r) => r.serverCpuS / r.seconds)),
          cpuPer100kS: spread(runs.map((r) => (r.serverCpuS / r.requests) * 1e5)),
          foreignCores: spread(runs.map((r) => r.foreignCores + r.stealCores)),
          errors: runs.reduce((a, r) => a + r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout + r.errors.non2xx, 0),
          vsNginx: ratioSpread(rps, nginx),
          vsBun: ratioSpread(rps, bun),
          perCpuS: spread(runs.map(eff)),
          perCpuVsNginx: ratioSpread(byRound(load, server, conn, c, eff), nginxEff),
        });
      }
    }
  }
  return rows;
}

function row(rows: readonly ThroughputRow[], server: ServerName, conn: ConnMode, c: number): ThroughputRow | undefined {
  return rows.find((r) => r.server === server && r.conn === conn && r.connections === c);
}

/** The ringside mode with the highest median req/s at a connection count. */
function bestRing(rows: readonly ThroughputRow[], conn: ConnMode, c: number): ThroughputRow | undefined {
  return RING_MODES.map((m) => row(rows, m, conn, c))
    .filter((r): r is ThroughputRow => r !== undefined)
    .sort((a, b) => b.rps.median - a.rps.median)[0];
}

function syscallsOf(c: CostResult): { value: number; tool: string; calls: number; requests: number } | undefined {
  const s = c.perf ?? c.strace;
  return s ? { value: s.perRequest, tool: s.tool, calls: s.calls, requests: s.requests } : undefined;
}

function ratioTarget(r: Results, conn: ConnMode, peer: "nginx" | "bun", want: number): Target {
  const parts: string[] = [];
  let met: boolean | null = true;
  const conns = r.sizes.connections;
  for (const c of conns) {
    const best = bestRing(r.throughput, conn, c);
    if (!best) {
      met = null;
      continue;
    }
    const ratio = peer === "nginx" ? best.vsNginx : best.vsBun;
    if (!(ratio.median >= want)) met = false;
    parts.push(`c${c}: ${ratio.median.toFixed(2)}x (${best.server}, ${fmt(best.rps.median)} vs ${fmt(row(r.throughput, peer, conn, c)?.rps.median ?? Number.NaN)} req/s)`);
  }
  return {
    name: `${conn}: best ringside mode vs ${peer === "nginx" ? "nginx (1 worker)" : "Bun.serve"}`,
    want: `>= ${want}x at every connection count`,
    got: parts.join("; "),
    met,
  };
}

export function derive(r: Results): void {
  r.throughput = throughputRows(r.load, r.sizes.connections);

  // Is the SQPOLL kernel thread's time in /proc/PID/stat? It is a thread of the
  // process, so the process total should equal the sum over its threads.
  const sq = r.load.filter((x) => x.sqCpuS !== undefined && x.taskSumCpuS !== undefined);
  if (sq.length) {
    const processCpuS = sq.reduce((a, x) => a + x.serverCpuS, 0);
    const taskSumCpuS = sq.reduce((a, x) => a + (x.taskSumCpuS ?? 0), 0);
    const sqCpuS = sq.reduce((a, x) => a + (x.sqCpuS ?? 0), 0);
    const included = sqCpuS > 0 && Math.abs(processCpuS - taskSumCpuS) <= Math.max(0.05 * sq.length, 0.03 * processCpuS);
    r.sqpollAccounting = {
      processCpuS,
      taskSumCpuS,
      sqCpuS,
      included,
      note: included
        ? "the iou-sqp thread is a thread of the server process: /proc/PID/stat (utime+stime) already counts it"
        : "process total differs from the sum over threads: server CPU may not include the SQPOLL thread",
    };
    if (!included) r.anomalies.push(`SQPOLL accounting: process ${processCpuS.toFixed(2)} s vs threads ${taskSumCpuS.toFixed(2)} s (sq ${sqCpuS.toFixed(2)} s)`);
  }

  const t: Target[] = [];
  for (const conn of ["keep-alive", "pipelined"] as const) {
    t.push(ratioTarget(r, conn, "nginx", 1.4));
    t.push(ratioTarget(r, conn, "bun", 1.8));
  }
  t.push(ratioTarget(r, "close", "nginx", 1.2));
  const sys = (mode: ServerName, want: number, strictZero: boolean): Target => {
    const cs = r.cost.filter((c) => c.server === mode);
    const vals = cs.map((c) => ({ c, s: syscallsOf(c) }));
    const got = vals
      .map(({ c, s }) => {
        if (!s) return `${c.conn}: n/a`;
        const sp = c.perf?.spread && c.perf.spread.n > 1 ? `, runs ${c.perf.spread.min.toFixed(3)}–${c.perf.spread.max.toFixed(3)}` : "";
        return `${c.conn}: ${s.value.toFixed(3)} (${s.calls} calls / ${s.requests} requests, ${s.tool}${sp})`;
      })
      .join("; ");
    const met = vals.length === 0 || vals.some((v) => !v.s) ? null : vals.every((v) => (strictZero ? v.s!.value < want : v.s!.value < want));
    return {
      name: `${mode} mode under load: system calls per request on the ringside-ring thread`,
      want: strictZero ? "0 (under 0.01)" : `< ${want}`,
      got,
      met,
      note: strictZero
        ? "counted with perf's raw_syscalls tracepoint on that thread, which does not slow it; strace -c figures are in the cost table"
        : undefined,
    };
  };
  t.push(sys("spin", 0.01, true));
  t.push(sys("batch", 0.3, false));
  const idle = r.cost.filter((c) => isRing(c.server));
  t.push({
    name: `idle CPU over ${r.sizes.cost.idleS} s after load, from the end of the ${r.serverDefaults.spinBudgetMs} ms spin budget`,
    want: "< 1% of a core, every ringside mode",
    got: idle.map((c) => `${c.server}/${c.conn}: ${c.idle.percentOfCore.toFixed(2)}%${Number.isFinite(c.idle.steadyPercentOfCore) ? ` (${c.idle.steadyPercentOfCore.toFixed(2)}% after the first ${c.idle.skipS} s)` : ""}`).join("; "),
    met: idle.length ? idle.every((c) => c.idle.percentOfCore < 1) : null,
    note: `includes the SQPOLL thread's own idle spin (--sq-idle, default ${r.serverDefaults.sqIdleMs} ms)`,
  });
  const bun = r.cold.find((c) => c.name === "bun");
  const ringCold = r.cold.filter((c) => isRing(c.name as ServerName));
  t.push({
    name: "cold start to first 200 (hyperfine median), ringside vs Bun.serve",
    want: "within 30 ms",
    got: bun
      ? `Bun.serve ${(bun.seconds.median * 1000).toFixed(1)} ms; ` + ringCold.map((c) => `${c.name} ${(c.seconds.median * 1000).toFixed(1)} ms (+${((c.seconds.median - bun.seconds.median) * 1000).toFixed(1)})`).join(", ")
      : "n/a",
    met: bun && ringCold.length ? ringCold.every((c) => c.seconds.median - bun.seconds.median <= 0.03) : null,
  });
  r.targets = t;
}

// ---------------------------------------------------------------- Markdown

function ms(s: Spread): string {
  return fmtSpread(s, "", 3);
}

function pct(x: number): string {
  return `${x.toFixed(x < 10 ? 2 : 1)}%`;
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function verdict(t: Target): string {
  return t.met === null ? "n/a" : t.met ? "**met**" : "**missed**";
}

export function renderMarkdown(r: Results, svgName: string): string {
  const m = r.machine;
  const out: string[] = [];
  const rounds = r.sizes.rounds;
  out.push(`# ringside benchmark: ${m.date.slice(0, 10)} on ${m.host}${r.quick ? " (quick)" : ""}`);
  out.push("");
  out.push(
    `${m.cores} CPUs (${m.cpuModel}, ${m.virtualization}), ${m.memGiB} GiB, Linux ${m.kernel}; ` +
      `Bun ${m.versions.bun}, nginx ${m.versions.nginx}, ${m.versions.wrk}, ${m.versions.hyperfine}, ab ${m.versions.ab}; ringside ${r.tree.start} ` +
      `(defaults: --spin-budget ${r.serverDefaults.spinBudgetMs} ms, --sq-idle ${r.serverDefaults.sqIdleMs} ms). ` +
      `${rounds} round${rounds > 1 ? "s" : ""}, servers interleaved (${SERVERS.map((s) => LABELS[s]).join(", ")}, then again), ` +
      `wrk ${r.sizes.wrkS} s per point after ${r.sizes.warmupS} s of warm-up per server start. Run took ${Math.round(r.durationS)} s.`,
  );
  out.push("");
  out.push(`![requests/s by server and mode](${svgName})`);
  out.push("");
  out.push("## Targets");
  out.push("");
  out.push(table(["target", "want", "got", "verdict"], r.targets.map((t) => [t.name + (t.note ? ` (${t.note})` : ""), t.want, t.got, verdict(t)])));
  out.push("");

  out.push("## Pinning");
  out.push("");
  out.push(`Policy used for every figure below: **${r.pinning.chosen}**: ${r.pinning.summary}.` + (r.pinning.forced ? " (forced with --pinning)" : ""));
  out.push(`wrk always runs one thread (\`wrk -t1\`), pinned with \`taskset\` when the policy pins the client; peers are started under \`taskset\`, ringside with \`--cpu\`/\`--sq-cpu\`.`);
  out.push("");
  if (r.pinning.trials.length) {
    out.push(
      `Trials (wrk -c${r.sizes.pinning.connections}, ${r.sizes.pinning.wrkS} s each, one run). Score: geometric mean of ringside req/s; ` +
        `taken in the order below, a policy replaces the one chosen so far only if it scores 5% higher (closer is noise, and the simpler placement wins):`,
    );
    out.push("");
    const pols = r.sizes.pinning.policies;
    const head = ["server / mode", ...pols.map((p) => `${p}${r.pinning.chosen === p ? " (chosen)" : ""}`)];
    const rows: string[][] = [];
    for (const server of r.sizes.pinning.servers) {
      for (const conn of r.sizes.pinning.conns) {
        rows.push([
          `${LABELS[server]} / ${conn}`,
          ...pols.map((p) => {
            const tr = r.pinning.trials.find((x) => x.policy === p && x.server === server && x.conn === conn);
            const noise = tr && tr.foreignCores + tr.stealCores >= 0.05 ? `, other work ${(tr.foreignCores + tr.stealCores).toFixed(2)}` : "";
            return tr ? `${fmt(tr.rps)} req/s, p99 ${fmt(tr.p99Ms)} ms, wrk ${tr.clientCores.toFixed(2)} / server ${(tr.serverCpuS / tr.seconds).toFixed(2)} cores${noise}` : "-";
          }),
        ]);
      }
    }
    rows.push(["score", ...pols.map((p) => fmt(r.pinning.scores[p] ?? Number.NaN))]);
    out.push(table(head, rows));
    out.push("");
    const aff = new Map<string, string>();
    for (const tr of r.pinning.trials) {
      if (!isRing(tr.server)) continue;
      const key = `${tr.policy}/${tr.server}`;
      if (!aff.has(key)) aff.set(key, Object.entries(tr.affinity).map(([k, v]) => `${k}: ${v}`).join(", "));
    }
    out.push("Thread affinity as applied (Cpus_allowed_list from /proc): " + [...aff].map(([k, v]) => `${k} [${v}]`).join("; ") + ".");
    out.push("");
    out.push(...spinNotes(r));
    out.push("");
  }
  out.push(`Policies: ${PINNINGS.map((p) => `**${p.name}**: ${p.summary}`).join("; ")}.`);
  out.push("");

  for (const conn of CONN_MODES) {
    out.push(`## Throughput and latency: ${SECTION_TITLES[conn]}`);
    out.push("");
    out.push(
      `median (min–max) over ${rounds} round${rounds > 1 ? "s" : ""}; ratios are per round against the peer measured in the same round. ` +
        `"server cores": CPU the server used (all its threads, the SQPOLL kernel thread included) per second of wall time. ` +
        `"wrk cores" near 1.00 means the single wrk thread was saturated: req/s is then a bound on the client, not the server, and "req per CPU-s" (requests per CPU-second of the server, relative to nginx) says more about the server.`,
    );
    out.push("");
    const rows = r.throughput
      .filter((x) => x.conn === conn)
      .map((x) => [
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
      ]);
    out.push(table(["server", "conns", "req/s", "p50 ms", "p99 ms", "x nginx", "x Bun.serve", "server cores", "server CPU per 100k req", "req per CPU-s, x nginx", "wrk cores", "other work cores", "wrk socket errors"], rows));
    out.push("");
  }
  const bunClose = r.throughput.find((x) => x.server === "bun" && x.conn === "close" && x.errors > 0);
  if (bunClose) {
    out.push(
      "Bun.serve's close-mode socket errors are read errors: it closes the connection after answering `Connection: close` but does not say `Connection: close` in its response, " +
        "so wrk sends its next request on the closed socket, counts a read error and reconnects. The responses themselves were complete and are counted.\n",
    );
  }

  out.push("## Cold start and a fixed batch (hyperfine)");
  out.push("");
  const bunCold = r.cold.find((c) => c.name === "bun");
  out.push(
    `Cold start: \`bench/coldstart.sh\` starts the server and polls it with an HTTP/1.0 GET every 1 ms until a 200 arrives (bounded at 10 s); the server is killed in hyperfine's --prepare, outside the timing. ${r.sizes.cold.rounds} hyperfine invocation${r.sizes.cold.rounds > 1 ? "s" : ""} with the servers in turn, ${r.sizes.cold.runs} runs each (after ${r.sizes.cold.warmup} warm-up), pooled: ${r.sizes.cold.rounds * r.sizes.cold.runs} runs per server.`,
  );
  out.push("");
  out.push(
    table(
      ["server", "ms median (min–max)", "mean ± sd", "vs Bun.serve"],
      r.cold.map((c) => [
        LABELS[c.name as ServerName] ?? c.name,
        fmtSpread({ min: c.seconds.min * 1000, median: c.seconds.median * 1000, max: c.seconds.max * 1000, n: c.seconds.n }),
        `${(c.meanS * 1000).toFixed(1)} ± ${(c.stddevS * 1000).toFixed(1)}`,
        bunCold ? `${c.seconds.median >= bunCold.seconds.median ? "+" : ""}${((c.seconds.median - bunCold.seconds.median) * 1000).toFixed(1)} ms` : "-",
      ]),
    ),
  );
  out.push("");
  out.push(
    `Batch: wall time of ${r.sizes.batch.requests} sequential requests, ${r.sizes.batch.runs} runs, after one untimed pass that checks every response. ` +
      `Close: \`ab -n ${r.sizes.batch.requests} -c 1\` (HTTP/1.0, a connection per request). Keep-alive: \`curl -s "http://127.0.0.1:PORT/?n=[1-${r.sizes.batch.requests}]"\` (HTTP/1.1, one connection; ` +
      `\`ab -k\` would speak HTTP/1.0 keep-alive, which Bun.serve answers and then closes). The client's own cost is in every figure: compare rows, not absolute values.`,
  );
  out.push("");
  out.push(
    table(
      ["server / mode", "seconds median (min–max)", "sequential req/s (median)"],
      r.cost.filter((c) => c.batch).map((c) => [`${LABELS[c.server]} / ${c.conn}`, fmtSpread(c.batch!.seconds, " s"), fmt(r.sizes.batch.requests / c.batch!.seconds.median)]),
    ),
  );
  out.push("");

  out.push("## Per-request cost");
  out.push("");
  out.push(
    `System calls of the serving thread (ringside-ring; the nginx worker; Bun's main thread) under \`wrk -c${r.sizes.cost.connections}\`: ` +
      `perf counts the raw_syscalls:sys_enter tracepoint on that thread (${r.sizes.cost.perfRuns ?? 1} run${(r.sizes.cost.perfRuns ?? 1) > 1 ? "s" : ""} of ${r.sizes.cost.perfS} s: all calls / all requests, then the per-run spread; the thread runs at full speed), ` +
      `strace -c -p names them (${r.sizes.cost.straceS} s; strace stops the thread at every call, so it serves fewer requests per wake-up and batches differently). ` +
      `Idle: CPU of every thread of the server over ${r.sizes.cost.idleS} s, starting ${r.serverDefaults.spinBudgetMs} ms (the spin budget) after the last request. ` +
      `Peak RSS: VmHWM (nginx: master + worker).`,
  );
  out.push("");
  const cpu64 = (server: ServerName, conn: ConnMode): string => {
    const c = r.sizes.connections.includes(64) ? 64 : r.sizes.connections[0]!;
    const x = row(r.throughput, server, conn, c);
    return x ? `${fmtSpread(x.cpuPer100kS, " s")} (c${c})` : "-";
  };
  out.push(
    table(
      ["server / mode", "syscalls/req (perf)", "syscalls/req (strace)", "top syscalls (strace)", "server CPU per 100k req", "idle CPU (% of a core)", "idle by thread", "peak RSS"],
      r.cost.map((c) => [
        `${LABELS[c.server]} / ${c.conn}`,
        c.perf ? `${c.perf.perRequest.toFixed(3)}${c.perf.spread && c.perf.spread.n > 1 ? ` (${c.perf.spread.min.toFixed(3)}–${c.perf.spread.max.toFixed(3)})` : ""}` : "-",
        c.strace ? `${c.strace.perRequest.toFixed(3)}` : "-",
        c.strace ? c.strace.byName.slice(0, 4).map((s) => `${s.name} ${(s.calls / c.strace!.requests).toFixed(2)}`).join(", ") : "-",
        cpu64(c.server, c.conn),
        `${pct(c.idle.percentOfCore)}${c.idle.series.length > 1 ? ` (per second ${pct(Math.min(...c.idle.series))}–${pct(Math.max(...c.idle.series))})` : ""}`,
        Object.entries(c.idle.byThread)
          .filter(([, v]) => v >= 0.01)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${pct(v)}`)
          .join(", ") || "-",
        `${(c.vmHwmKb / 1024).toFixed(1)} MB`,
      ]),
    ),
  );
  out.push("");
  if (r.sqpollAccounting) {
    const a = r.sqpollAccounting;
    out.push(`SQPOLL accounting: over the spin/sqpoll wrk runs the process used ${a.processCpuS.toFixed(2)} s (/proc/PID/stat), its threads ${a.taskSumCpuS.toFixed(2)} s (/proc/PID/task/*/stat), of which the iou-sqp thread ${a.sqCpuS.toFixed(2)} s: ${a.note}.`);
    out.push("");
  }
  const profiled = r.cost.filter((c) => c.profile?.length);
  if (profiled.length) {
    out.push(`### Where the time goes (perf record -e cpu-clock, wrk -c64 for ${r.sizes.cost.profileS} s, whole server process)`);
    out.push("");
    for (const c of profiled) {
      out.push(`**${LABELS[c.server]} / ${c.conn}**: ` + c.profile!.slice(0, 8).map((p) => `${p.percent.toFixed(1)}% ${p.comm} ${p.symbol}`).join("; "));
      out.push("");
    }
  }

  out.push("## Reading this run");
  out.push("");
  out.push(...observations(r).map((s) => `- ${s}`));
  out.push("");
  out.push("## Machine and noise");
  out.push("");
  out.push(`- sysctl: ${Object.entries(m.sysctl).map(([k, v]) => `${k}=${v}`).join(", ")}; load average at start ${m.loadavgAtStart}.`);
  out.push(`- strace ${m.versions.strace}; ${m.versions.perf}.`);
  out.push(`- CPU used by processes not started by this run, by phase (% of one core; a lower bound, from 1 s samples that miss short-lived processes): ${r.noise.phases.map((p) => `${p.phase} ${pct(p.foreignPercentOfCore)}`).join(", ") || "none"}.`);
  out.push(`- Before each server start the harness waited for other work to fall under 20% of a core: ${r.noise.waitedS} s of waiting in all; ${r.noise.noisyStarts} start(s) went ahead anyway when the wait budget (${r.sizes.quietBudgetS} s) ran out.`);
  out.push(
    `- wrk measurements repeated because other work used more than 0.15 cores during them: ${r.noise.retries} (budget ${r.sizes.retryBudget}). ` +
      `"other work cores" in the tables is, for the runs kept, the machine's busy time (/proc/stat) minus what the server, wrk and the harness used, plus hypervisor steal.`,
  );
  if (r.noise.processes.length) out.push(`- Busiest of those: ${r.noise.processes.slice(0, 5).map((p) => `\`${p.command}\` ${p.cpuS.toFixed(1)} s`).join("; ")}.`);
  out.push("");
  out.push("## Anomalies");
  out.push("");
  out.push(r.anomalies.length ? r.anomalies.map((a) => `- ${a}`).join("\n") : "None: every ringside run ended with responses = requests >= what the clients counted, and no error counters.");
  out.push("");
  out.push("## Reproduce");
  out.push("");
  out.push("```sh");
  out.push(`bun run bench${r.quick ? " --quick" : ""}${r.pinning.forced ? ` --pinning ${r.pinning.chosen}` : ""}`);
  out.push("```");
  out.push("");
  out.push("Raw figures (every run, every round): the .json file next to this one.");
  return out.join("\n") + "\n";
}

function trial(r: Results, policy: string, server: ServerName, conn: ConnMode): LoadRun | undefined {
  return r.pinning.trials.find((t) => t.policy === policy && t.server === server && t.conn === conn);
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
  const spin = r.cost.filter((c) => c.server === "spin" && c.strace);
  for (const c of spin) {
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

// ---------------------------------------------------------------- SVG

function clientBoundNote(r: Results): string | undefined {
  const bound = r.throughput.filter((x) => x.clientCores.median >= 0.9);
  if (!bound.length) return undefined;
  const servers = [...new Set(bound.map((x) => LABELS[x.server]))].join(", ");
  return `wrk (one thread) was >= 90% busy for ${servers} (${bound.length} of ${r.throughput.length} points): those bars show the client's limit.`;
}

export function renderSvg(r: Results): string {
  const m = r.machine;
  return renderChart({
    title: "ringside vs nginx vs Bun.serve: requests/s (wrk, canned 17-byte body)",
    subtitle: `${m.date.slice(0, 10)} ${m.host}: ${m.cores} CPUs ${m.cpuModel}, Linux ${m.kernel}, Bun ${m.versions.bun}, nginx ${m.versions.nginx}; pinning ${r.pinning.chosen}; median of ${r.sizes.rounds}, whiskers min–max`,
    series: SERVERS.map((s) => ({ label: LABELS[s], color: COLORS[s] })),
    note: clientBoundNote(r),
    panels: CONN_MODES.map((conn) => ({
      title: CONN_TITLES[conn],
      groups: r.sizes.connections.map((c) => `${c} connections`),
      values: r.sizes.connections.map((c) => SERVERS.map((s) => row(r.throughput, s, conn, c)?.rps)),
    })),
  });
}
