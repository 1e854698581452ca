// deploy/grafana/ringside.json cannot rot: every metric name in every PromQL
// query of the dashboard (panels and template variables) must be one the real
// server exports on /metrics, and every label it groups or names a legend by
// must be on an exported series (or be Prometheus's own job/instance); and the
// other way round, every counter the rings keep must be on it, so a new one is
// added to the dashboard when it is added to the library.
// The server runs with 2 rings and three routes (one with weighted statuses
// and faults), started as a user would, through `bun run serve`, so the
// per-ring, per-route, per-status and per-fault series exist.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const DASHBOARD = join(ROOT, "deploy", "grafana", "ringside.json");
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = new Set(["job", "instance"]);
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"]);

interface Query {
  where: string;
  expr: string;
  legend?: string;
}

interface Panel {
  title?: string;
  type: string;
  panels?: Panel[];
  targets?: Array<{ expr?: string; legendFormat?: string }>;
}

/** Every PromQL query of the dashboard: panel targets (rows' too) and query variables. */
function queries(dash: { panels: Panel[]; templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> } }): Query[] {
  const out: Query[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr, legend: t.legendFormat });
      walk(p.panels ?? []);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating.list) {
    if (v.type !== "query") continue;
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    // label_values(SELECTOR, LABEL): Grafana's, not PromQL; SELECTOR is a series selector.
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(q ?? "");
    if (!m) throw new Error(`variable ${v.name}: unexpected query ${q}`);
    out.push({ where: `variable $${v.name}`, expr: m[1]!, legend: `{{${m[2]}}}` });
  }
  return out;
}

/** Metric names and grouping labels of one PromQL expression. */
function names(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings: label values, regexes
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " "); // ranges: [$__rate_interval], [5m]
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, _kw, list: string) => {
    labels.push(...list.split(",").map((l) => l.trim()).filter(Boolean));
    return " ";
  });
  const metrics: string[] = [];
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = s.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith("(") || KEYWORDS.has(m[0])) continue; // a function, aggregation or keyword
    metrics.push(m[0]);
  }
  return { metrics, labels };
}

/** Metric names and label names in Prometheus text exposition. */
function exported(text: string): { metrics: Set<string>; labels: Set<string> } {
  const metrics = new Set<string>();
  const labels = new Set<string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) metrics.add(type[1]!);
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{([^}]*)\})? \S+$/.exec(line);
    if (!sample) continue;
    metrics.add(sample[1]!);
    for (const l of (sample[3] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) labels.add(l[1]!);
  }
  return { metrics, labels };
}

describe("deploy/grafana/ringside.json against the real /metrics", () => {
  const dash = JSON.parse(readFileSync(DASHBOARD, "utf8"));
  const all = queries(dash);
  let metricsText = "";
  let proc: Bun.Subprocess<"ignore", "pipe", "pipe"> | undefined;
  let serverPid = 0;

  beforeAll(async () => {
    proc = Bun.spawn(["bun", "run", "--silent", "serve", "--port", "0", "--host", "127.0.0.1", "--admin-port", "0", "--rings", "2", "--mode", "batch",
      "--route", "/healthz=200 body=ok", "--route", '/api/*=200 type=application/json body={"ok":true}',
      // Weights, so that the series by status and by fault exist.
      "--route", "/flaky=200,503@10% fault=reset@1%,close@1%,hang@1%"], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    let out = "";
    const reader = (async () => {
      for await (const chunk of proc!.stdout) out += new TextDecoder().decode(chunk);
    })();
    const deadline = Date.now() + 20_000;
    let line: string | undefined;
    while (!(line = out.split("\n").find((l) => l.startsWith("ringside: listening ")))) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`no startup line: ${out}${await new Response(proc.stderr).text()}`);
      await Bun.sleep(10);
    }
    serverPid = Number(/ pid=(\d+)$/.exec(line)?.[1]);
    const port = Number(/ port=(\d+) /.exec(line)?.[1]);
    const admin = / admin=(\S+)/.exec(line)?.[1];
    // One request per route, so their series carry values (they exist at zero too).
    for (const path of ["/", "/healthz", "/api/x"]) expect((await fetch(`http://127.0.0.1:${port}${path}`)).status).toBe(200);
    metricsText = await (await fetch(`${admin}/metrics`)).text();
    process.kill(serverPid, "SIGTERM");
    expect(await proc.exited).toBe(0);
    await reader;
  }, 30_000);

  afterAll(() => {
    for (const pid of [serverPid, proc?.pid ?? 0]) {
      try {
        if (pid) process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });

  test("the dashboard is a Grafana dashboard with Prometheus queries on a datasource variable", () => {
    expect(dash.uid).toBe("ringside");
    expect(dash.templating.list.map((v: { name: string }) => v.name)).toEqual(["datasource", "job", "instance"]);
    const ids = JSON.stringify(dash.panels).match(/"id":\d+/g)!;
    expect(new Set(ids).size).toBe(ids.length);
    expect(all.length).toBeGreaterThan(20);
    for (const q of all) expect(q.expr, q.where).toMatch(/ringside_|process_/);
  });

  test("every metric name in every query is one the server exports", () => {
    const { metrics } = exported(metricsText);
    expect(metrics.size).toBeGreaterThan(40);
    const unknown = all.flatMap((q) => names(q.expr).metrics.filter((m) => !metrics.has(m)).map((m) => `${q.where}: ${m}`));
    expect(unknown).toEqual([]);
    const used = new Set(all.flatMap((q) => names(q.expr).metrics));
    console.log(`grafana: ${used.size} metric names in ${all.length} queries, all exported; not on the dashboard: ${[...metrics].filter((m) => !used.has(m)).join(" ") || "none"}`);
  });

  test("every label grouped by or named in a legend is on an exported series (or is job/instance)", () => {
    const { labels } = exported(metricsText);
    const unknown: string[] = [];
    for (const q of all) {
      const used = [...names(q.expr).labels, ...[...(q.legend ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!)];
      for (const l of used) if (!labels.has(l) && !TARGET_LABELS.has(l)) unknown.push(`${q.where}: ${l}`);
    }
    expect(unknown).toEqual([]);
  });

  test("every counter the rings keep is on the dashboard, all rings or per ring (a new one must be added)", () => {
    const { metrics } = exported(metricsText);
    const used = new Set(all.flatMap((q) => names(q.expr).metrics));
    // ringside_X_total with a ringside_ring_X_total twin: a ring counter.
    const counters = [...metrics].filter((m) => /^ringside_(?!ring_)\w+_total$/.test(m) && metrics.has(m.replace(/^ringside_/, "ringside_ring_")));
    expect(counters.length).toBeGreaterThan(15);
    expect(counters.filter((m) => !used.has(m) && !used.has(m.replace(/^ringside_/, "ringside_ring_")))).toEqual([]);
  });

  test("it shows what the issue asks, and invents no latency series", () => {
    const used = new Set(all.flatMap((q) => names(q.expr).metrics));
    for (const m of ["ringside_route_requests_total", "ringside_route_responses_total", "ringside_route_faults_total", "ringside_requests_total", "ringside_responses_total", "ringside_active", "ringside_ring_requests_total", "ringside_ring_active", "ringside_degraded", "ringside_bad_requests_total", "ringside_send_errors_total"]) {
      expect(used.has(m), m).toBe(true);
    }
    expect(all.some((q) => /\bby \(route\)/.test(q.expr))).toBe(true);
    expect(all.some((q) => /\bby \(route, status\)/.test(q.expr))).toBe(true);
    expect(all.some((q) => /\bby \(route, fault\)/.test(q.expr))).toBe(true);
    expect(all.some((q) => /\bby \(instance, ring\)/.test(q.expr))).toBe(true);
    expect(all.filter((q) => /histogram_quantile|_bucket\b|latency|duration/.test(q.expr))).toEqual([]);
  });

  test("the query parser finds names where they are and nothing else", () => {
    expect(names('sum by (instance, ring) (rate(a_total{job=~"$job"}[$__rate_interval])) / on (instance) group_left sum by (instance) (rate(b_total[5m]))')).toEqual({
      metrics: ["a_total", "b_total"], labels: ["instance", "ring", "instance", "instance"],
    });
    expect(names('min(time() - c{x="y z"})').metrics).toEqual(["c"]);
  });
});
