// The harness's parsers and renderers, on captured tool output: no servers,
// no timing. (The harness itself runs end to end in CI as `bun run bench --quick`.)
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseStrace } from "../lib/strace.ts";
import type { Timing } from "../../bench/lib/hyperfine.ts";
import { parseBaseImages, parseInspect } from "../../bench/lib/image.ts";
import { parseMemory, type Memory } from "../../bench/lib/memory.ts";
import { parseRingMetrics, ringDelta } from "../../bench/lib/metrics.ts";
import { BUCKETS } from "../../bench/lib/buckets.ts";
import { bucketUs, coverage, switchesPerReq, totalUs, type FloorRun } from "../../bench/lib/floor.ts";
import { parseProfile } from "../../bench/lib/perf.ts";
import { ratio, ringShares } from "../../bench/lib/rows.ts";
import { BENCH, isCanned, serves } from "../../bench/lib/servers.ts";
import { ratioSpread, spread } from "../../bench/lib/stats.ts";
import type { RowRun, SweepResult } from "../../bench/lib/sweep.ts";
import { parseAb, parseWrk } from "../../bench/lib/wrk.ts";
import { budgetTargets } from "../../bench/phases/budget.ts";
import { cost } from "../../bench/phases/cost.ts";
import { delayFigures } from "../../bench/phases/delay.ts";
import { floor } from "../../bench/phases/floor.ts";
import { footprint, footprintTargets, type FootprintResult } from "../../bench/phases/footprint.ts";
import { PHASES, PHASE_NAMES } from "../../bench/phases/index.ts";
import { matrix, matrixPerCpu } from "../../bench/phases/matrix.ts";
import { recordOf, type Results } from "../../bench/phases/phase.ts";
import { quotaTargets } from "../../bench/phases/quota.ts";
import { projections, rings, ringsTargets } from "../../bench/phases/rings.ts";
import { routesTargets } from "../../bench/phases/routes.ts";
import { sizes, sizeText } from "../../bench/phases/sizes.ts";
import { WEIGHTS, WEIGHTS_FLAGS, weights, weightsTargets } from "../../bench/phases/weights.ts";
import { chartOf, readResults } from "../../bench/report/files.ts";
import { renderMarkdown, targetsOf } from "../../bench/report/markdown.ts";
import { renderChart } from "../../bench/report/svg.ts";
import { parseConfig } from "../../src/config/config.ts";

const WRK = `Running 3s test @ http://127.0.0.1:41871/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   485.44us  383.80us   4.91ms   96.17%
    Req/Sec    95.88k     4.17k  101.21k    73.33%
  Latency Distribution
     50%  412.00us
     75%  520.00us
     90%  650.00us
     99%    1.93ms
  286559 requests in 3.00s, 22.13MB read
  Socket errors: connect 0, read 12, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:  95429.64
Transfer/sec:      7.38MB
`;

describe("parseWrk", () => {
  test("reads rate, count, percentiles and errors", () => {
    const r = parseWrk(WRK);
    expect(r.rps).toBe(95429.64);
    expect(r.requests).toBe(286559);
    expect(r.seconds).toBe(3);
    expect(r.p50Ms).toBeCloseTo(0.412, 6);
    expect(r.p99Ms).toBeCloseTo(1.93, 6);
    expect(r.errors).toEqual({ connect: 0, read: 12, write: 0, timeout: 3, non2xx: 7 });
  });
  test("refuses output without a summary", () => {
    expect(() => parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n")).toThrow(/unexpected output/);
  });
});

test("parseAb", () => {
  const r = parseAb(`Complete requests:      10000\nFailed requests:        2\nNon-2xx responses:      1\nTime taken for tests:   1.234 seconds\nRequests per second:    8103.73 [#/sec] (mean)\n`);
  expect(r).toEqual({ complete: 10000, failed: 2, non2xx: 1, rps: 8103.73, seconds: 1.234 });
});

test("parseStrace: calls by name, with and without an errors column", () => {
  const r = parseStrace(`% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 60.00    0.060000           6     10000           recvfrom
 30.00    0.030000           3     10000      5000 accept4
 10.00    0.010000           1      2000           epoll_wait
------ ----------- ----------- --------- --------- ----------------
100.00    0.100000           4     22000      5000 total
`);
  expect(r.total).toBe(22000);
  expect(r.byName).toEqual([
    { name: "recvfrom", calls: 10000, errors: 0 },
    { name: "accept4", calls: 10000, errors: 5000 },
    { name: "epoll_wait", calls: 2000, errors: 0 },
  ]);
});

test("parseProfile: perf report --sort comm,dso,sym", () => {
  const lines = parseProfile(`    31.10%  iou-sqp-11507    [kernel.kallsyms]   [k] io_sq_thread
    28.00%  ringside-ring    libringside.so      [.] ring_thread_main
     4.10%  ringside-ring    [vdso]              [.] __vdso_clock_gettime
`);
  expect(lines).toEqual([
    { percent: 31.1, comm: "iou-sqp-11507", dso: "[kernel.kallsyms]", symbol: "[k] io_sq_thread" },
    { percent: 28, comm: "ringside-ring", dso: "libringside.so", symbol: "[.] ring_thread_main" },
    { percent: 4.1, comm: "ringside-ring", dso: "[vdso]", symbol: "[.] __vdso_clock_gettime" },
  ]);
});

test("spread and same-round ratios", () => {
  expect(spread([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3, n: 3 });
  expect(spread([4, 1, 3, 2]).median).toBe(2.5);
  expect(spread([]).n).toBe(0);
  expect(ratioSpread([10, 30], [5, 10])).toEqual({ min: 2, median: 2.5, max: 3, n: 2 });
});

test("isCanned accepts every peer's 200 with the 17-byte body and nothing else", () => {
  const body = "Have a nice day!\n";
  expect(isCanned(`HTTP/1.0 200 OK\r\nContent-type: text/html\r\nContent-length: 17\r\n\r\n${body}`)).toBe(true);
  expect(isCanned(`HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 17\r\nConnection: close\r\n\r\n${body}`)).toBe(true);
  expect(isCanned(`HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 17\r\n\r\n${body}`)).toBe(false);
  expect(isCanned(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\n${body}`)).toBe(false);
  expect(isCanned(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 16\r\n\r\nHave a nice day!`)).toBe(false);
  // A body file's bytes (servers.ts bodyFile): all of them, and nothing after.
  const kib = body.repeat(61).slice(0, 1024);
  expect(serves(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1024\r\n\r\n${kib}`, kib)).toBe(true);
  expect(serves(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1024\r\n\r\n${kib}x`, kib)).toBe(false);
});

test("renderChart: one bar per value, escaped labels, balanced tags", () => {
  const v = { min: 90, median: 100, max: 110, n: 3 };
  const svg = renderChart({
    title: "a < b & c",
    subtitle: "s",
    series: [
      { label: "x", color: "#000" },
      { label: "y", color: "#111" },
    ],
    panels: [{ title: "p", groups: ["16", "64"], values: [[v, v], [v, undefined]] }],
  });
  expect(svg.startsWith("<svg ")).toBe(true);
  expect(svg).toContain("a &lt; b &amp; c");
  expect(svg.match(/<rect [^>]*fill="#(000|111)"><title>/g)?.length).toBe(3);
  expect(svg.match(/<svg/g)?.length).toBe(svg.match(/<\/svg>/g)?.length);
});

const METRICS = `# HELP ringside_accepted_total connections accepted; all rings
# TYPE ringside_accepted_total counter
ringside_accepted_total 2004
# HELP ringside_ring_accepted_total connections accepted; one ring
# TYPE ringside_ring_accepted_total counter
ringside_ring_accepted_total{ring="0"} 999
ringside_ring_accepted_total{ring="1"} 1005
ringside_requests_total 2000
ringside_ring_requests_total{ring="0"} 999
ringside_ring_requests_total{ring="1"} 1001
ringside_ring_responses_total{ring="1"} 1001
process_cpu_seconds_total 0.52
`;

describe("parseRingMetrics", () => {
  test("per-ring accepted and requests, by ring index; totals and other counters ignored", () => {
    expect(parseRingMetrics(METRICS)).toEqual([
      { accepted: 999, requests: 999 },
      { accepted: 1005, requests: 1001 },
    ]);
  });
  test("a ring seen in one counter only, a gap, and no rings at all", () => {
    expect(parseRingMetrics(`ringside_ring_requests_total{ring="2"} 7\n`)).toEqual([
      { accepted: 0, requests: 0 },
      { accepted: 0, requests: 0 },
      { accepted: 0, requests: 7 },
    ]);
    expect(parseRingMetrics("ringside_requests_total 5\n")).toEqual([]);
  });
  test("ringDelta: what each ring did between two scrapes", () => {
    expect(ringDelta([{ accepted: 1, requests: 10 }], [{ accepted: 5, requests: 50 }, { accepted: 3, requests: 30 }])).toEqual([
      { accepted: 4, requests: 40 },
      { accepted: 3, requests: 30 },
    ]);
  });
});

// ---------------------------------------------------------------- the rings, quota and budget phases

function run(row: string, conn: RowRun["conn"], round: number, rps: number, serverCpuS: number, extra: Partial<RowRun> = {}): RowRun {
  return {
    round, row, conn, connections: 64, rps, requests: rps, seconds: 1, p50Ms: 0.3, p99Ms: 1, clientCores: 0.95,
    errors: { connect: 0, read: 0, write: 0, timeout: 0, non2xx: 0 }, serverCpuS, foreignCores: 0, stealCores: 0, retried: 0, ...extra,
  };
}

const info = (key: string, kind: "ringside" | "nginx" | "bun" = "ringside") => ({ key, label: key, kind, command: key, placement: "unpinned" });
const shares = (a: number, b: number) => ({ perRing: [{ accepted: 32, requests: a }, { accepted: 32, requests: b }] });

const RINGS: SweepResult = {
  rows: [info("ring1"), info("ring2"), info("nginx2", "nginx")],
  runs: [
    run("ring1", "keep-alive", 0, 100_000, 0.5, { perRing: [{ accepted: 64, requests: 100_000 }] }),
    run("ring2", "keep-alive", 0, 100_000, 0.52, shares(40_000, 60_000)),
    run("ring1", "keep-alive", 1, 100_000, 0.4, { perRing: [{ accepted: 64, requests: 100_000 }] }),
    run("ring2", "keep-alive", 1, 100_000, 0.48, shares(50_000, 50_000)),
    run("nginx2", "keep-alive", 0, 90_000, 0.6),
  ],
  blocks: [{ round: 0, row: "ring2", conn: "keep-alive", counters: { responses: 100, bytes_sent: 8100 }, exitCode: 0, clientRequests: 100 }],
};

test("same-round ratios and ring shares of a phase", () => {
  // Round 0: 0.52/0.5 = 1.04; round 1: 0.48/0.4 = 1.2.
  const r = ratio(RINGS, "ring2", "ring1", "keep-alive", (x) => x.serverCpuS / x.requests);
  expect(r.min).toBeCloseTo(1.04, 6);
  expect(r.max).toBeCloseTo(1.2, 6);
  expect(ringShares(RINGS, "ring2", "keep-alive")).toEqual({ requests: [45, 55], accepted: [32, 32] });
  expect(ringShares(RINGS, "nginx2", "keep-alive")).toBeUndefined();
});

test("rings targets: CPU per request within 10% (median 1.12x: missed), every ring serves", () => {
  const [cpu, both] = ringsTargets(RINGS);
  expect(cpu?.met).toBe(false);
  expect(cpu?.got).toStartWith("1.12x");
  expect(both?.met).toBe(true);
  const idle = { ...RINGS, runs: [...RINGS.runs, run("ring2", "close", 0, 1000, 0.1, shares(1000, 0))] };
  expect(ringsTargets(idle).at(-1)?.met).toBe(false);
});

test("routes targets within 3% (same-round ratios), and the delay table's added latency", () => {
  const routes: SweepResult = {
    rows: [info("none"), info("route1"), info("route16")],
    runs: [run("none", "keep-alive", 0, 100_000, 0.5), run("route1", "keep-alive", 0, 99_000, 0.5), run("route16", "keep-alive", 0, 95_000, 0.5)],
    blocks: [],
  };
  const [sixteen, one] = routesTargets(routes);
  expect(sixteen).toMatchObject({ met: false });
  expect(sixteen?.got).toStartWith("0.96x");
  expect(one).toMatchObject({ met: true });
  const delay: SweepResult = {
    rows: [info("delay0"), info("delay10")],
    runs: [run("delay0", "keep-alive", 0, 200_000, 0.5, { p50Ms: 0.2, p99Ms: 0.4 }), run("delay10", "keep-alive", 0, 6000, 0.1, { p50Ms: 10.3, p99Ms: 11.2 })],
    blocks: [],
  };
  expect(delayFigures(delay)).toEqual([
    { askedMs: 0, p50Ms: 0.2, p99Ms: 0.4, rps: 200_000 },
    { askedMs: 10, p50Ms: 10.3, p99Ms: 11.2, rps: 6000 },
  ]);
});

test("weights: 16 weighted routes against 16 static, same-round req/s within 3%; its section names the weights; the 16 routes parse", async () => {
  const p: SweepResult = {
    rows: [info("static16"), info("weighted16")],
    runs: [run("static16", "keep-alive", 0, 100_000, 0.5), run("weighted16", "keep-alive", 0, 98_000, 0.5), run("static16", "keep-alive", 1, 100_000, 0.5), run("weighted16", "keep-alive", 1, 96_000, 0.5)],
    blocks: [],
  };
  const [target] = weightsTargets(p);
  expect(target).toMatchObject({ met: true, want: ">= 0.97x (within 3%)" });
  expect(target?.got).toBe("0.97x (0.96–0.98) (97.0k vs 100.0k req/s)");
  const md = weights.section({ plan: weights.plan(true), result: p }, stored("2026-11-22-vm.json")).join("\n");
  expect(md).toContain("## Weights: what the weighted path costs (issue 19)");
  expect(md).toContain(WEIGHTS);
  expect(weights.plan(true)).toMatchObject({ rounds: 2, conns: ["keep-alive"] });
  // The rows' flags are a configuration ringside accepts: 16 routes, each weighted.
  const cfg = await parseConfig(["--host", "127.0.0.1", "--port", "0", ...(WEIGHTS_FLAGS as string[])], {});
  expect(cfg.routes.map((r) => r.outcome.statuses)).toEqual(Array.from({ length: 16 }, () => [{ value: 201, ppm: 500_000 }]));
});

test("sizes: ringside against each peer at every body size, same rounds; CPU per body byte in the section", () => {
  const p: SweepResult = {
    rows: [info("ringside/17"), info("nginx/17", "nginx"), info("bun/17", "bun"), info("ringside/1048576"), info("nginx/1048576", "nginx"), info("bun/1048576", "bun")],
    runs: [
      run("ringside/17", "keep-alive", 0, 60_000, 0.5),
      run("nginx/17", "keep-alive", 0, 20_000, 0.5),
      run("bun/17", "keep-alive", 0, 40_000, 0.5),
      run("ringside/1048576", "keep-alive", 0, 1000, 0.5),
      run("nginx/1048576", "keep-alive", 0, 800, 0.5),
      run("bun/1048576", "keep-alive", 0, 1100, 0.5),
    ],
    blocks: [],
  };
  const done = { plan: { ...sizes.plan(false), bytes: [17, 1 << 20] }, result: p };
  const [vsBun, vsNginx] = sizes.targets(done, stored("2026-11-22-vm.json"));
  expect(vsBun).toMatchObject({ met: false, got: "17 B 1.5x; 1 MiB 0.909x" });
  expect(vsNginx).toMatchObject({ met: true, got: "17 B 3x; 1 MiB 1.25x" });
  const md = sizes.section(done, stored("2026-11-22-vm.json")).join("\n");
  // 0.5 s of CPU over 1000 responses of 1 MiB: 0.477 ns per body byte.
  expect(md).toContain("| 1 MiB | ringside batch | 1000 | 1.25x | 0.909x | 1049 | 0.5 | 500 µs | 0.477 ns |");
  expect([17, 1024, 16384, 262144, 1 << 20].map(sizeText)).toEqual(["17 B", "1 KiB", "16 KiB", "256 KiB", "1 MiB"]);
  const skipped = { ...done, result: { rows: [], runs: [], blocks: [], skipped: "no CPU quota can be made here" } };
  expect(sizes.targets(skipped, stored("2026-11-22-vm.json"))).toEqual([]);
  expect(sizes.section(skipped, stored("2026-11-22-vm.json"))).toContain("Skipped: no CPU quota can be made here.");
});

test("projection: 16 / CPU per request, capped by a 10 GbE NIC, with the client cores it needs", () => {
  const [p] = projections(RINGS);
  // ring2 keep-alive: 5.2 and 4.8 µs per request, median 5 µs -> 3.2M req/s; 81 B + 90 B per response -> 7.3M.
  expect(p?.row).toBe("ring2");
  expect(p?.cpuBound).toBeCloseTo(3.2e6, -3);
  expect(p?.nicBound).toBeCloseTo(10e9 / 8 / 171, -3);
  expect(p?.limit).toBe("CPU");
  expect(p?.clientCores).toBeCloseTo(3.2e6 / (100_000 / 0.95), 3);
});

test("quota and budget targets: ratios to the rows measured in the same round", () => {
  const quota: SweepResult = {
    rows: [info("nginx", "nginx"), info("batch"), info("default")],
    runs: [run("nginx", "keep-alive", 0, 50_000, 0.5), run("batch", "keep-alive", 0, 75_000, 0.5), run("default", "keep-alive", 0, 74_000, 0.5)],
    blocks: [{ round: 0, row: "default", conn: "keep-alive", counters: {}, exitCode: 0, clientRequests: 1, layout: { mode: "batch", rings: 1, auto: "1 CPU, quota 0.5" } }],
  };
  const [ka, pick] = quotaTargets(quota);
  expect(ka).toMatchObject({ want: ">= 1.4x", met: true });
  expect(ka?.got).toStartWith("1.5x");
  expect(pick).toMatchObject({ met: true, got: "batch/1 (auto: 1 CPU, quota 0.5)" });
  const budget: SweepResult = {
    rows: [],
    runs: [run("taskset/default", "close", 0, 96, 0.1), run("taskset/batch", "close", 0, 100, 0.1), run("quota/default", "close", 0, 50, 0.1), run("quota/nginx", "close", 0, 40, 0.1), run("quota/batch-1", "close", 0, 49, 0.1)],
    blocks: [],
  };
  expect(budgetTargets(budget).map((t) => t.met)).toEqual([true, true, true]);
  expect(budgetTargets({ ...budget, runs: budget.runs.map((x) => (x.row === "taskset/default" ? { ...x, rps: 90 } : x)) })[0]?.met).toBe(false);
});

test("floor: µs per request by bucket, and the ceiling ringside's TCP/IP floor allows against the peers", () => {
  const folded = (tcp: number, user: number) => ({
    samples: 1000,
    buckets: { tcp, syscall: 0, io_uring: 0, sched: 1000 - tcp - user, user, other: 0 },
    threads: { main: 1000 },
    deciders: { tcp: [], syscall: [], io_uring: [], sched: [], user: [], other: [] },
  });
  const profile = (rps: number, tcp: number, user: number) => ({ unprofiled: { rps, usPerReq: 9 }, hz: 999, folded: folded(tcp, user), lostChunks: 0, switches: { voluntary: 50, involuntary: 50 } });
  // batch: 1 s of CPU for 100k requests = 10 µs/req, 60% TCP/IP = 6 µs: 0.5 s / 6 µs = 83.3k req/s at its floor.
  const p: SweepResult<FloorRun> = {
    rows: [info("batch"), info("nginx", "nginx")],
    runs: [
      { ...run("batch", "keep-alive", 0, 100_000, 1), profile: profile(90_000, 600, 50) },
      { ...run("nginx", "keep-alive", 0, 100_000, 1.2), profile: profile(40_000, 500, 300) },
    ],
    blocks: [],
  };
  const batch = p.runs[0]!;
  expect(bucketUs(batch, "tcp")).toBeCloseTo(6, 9);
  expect(BUCKETS.reduce((a, b) => a + bucketUs(batch, b), 0)).toBeCloseTo(totalUs(batch), 9);
  expect(switchesPerReq(batch)).toBeCloseTo(0.001, 9);
  expect(coverage(batch)).toBeCloseTo(1000 / 999, 9);
  const done = { plan: floor.plan(false), result: p };
  const [ka] = floor.targets(done, stored("2026-11-22-vm.json"));
  expect(ka).toMatchObject({ met: true, want: ">= 2x (issue 18's target within the floor)" });
  expect(ka?.got).toStartWith("2.08x: floor 6 µs/req, 83.3k req/s vs nginx's 40.0k; measured 2.25x");
  const md = floor.section(done, stored("2026-11-22-vm.json")).join("\n");
  expect(md).toContain("| batch | 90.0k | 6 | 0 | 0 | 3.5 | 0.5 | 0 | 10 | 9 | 4 | 0.001 | 95% | 1 |");
  expect(md).toContain("would make 0.5 s / 6 µs = 83.3k req/s: 2.08x nginx's 40.0k req/s (measured: 2.25x)");
});

/** A stored run, read as `--render` reads it (schema 1 files are upgraded to the phases' records). */
const stored = (name: string): Results => readResults(join(BENCH, "results", name));
/** A run with one phase's record more (or replaced). */
const withRecord = (r: Results, name: string, plan: unknown, result: unknown): Results => ({ ...r, phases: { ...r.phases, [name]: { plan, result } } });

test("a stored report without the newer phases renders; with them, their sections appear", () => {
  const old = stored("2026-11-22-vm.json");
  const md0 = renderMarkdown(old, "x.svg");
  expect(md0).toContain("## Throughput and latency: close");
  expect(md0).not.toContain("## Rings");
  const withRings = withRecord(old, "rings", rings.plan(false), RINGS);
  const md = renderMarkdown(withRings, "x.svg");
  expect(md).toContain("## Rings: 1 and 2 rings");
  expect(md).toContain("**PROJECTION, not a measurement.**");
  expect(md.indexOf("## Rings")).toBeGreaterThan(md.indexOf("## Throughput and latency: pipelined"));
  expect(targetsOf(withRings).some((t) => t.name.startsWith("rings, keep-alive"))).toBe(true);
  // Per CPU-second from the matrix: same rounds; a run with no CPU counted gives no figure, not 0x.
  const m = recordOf(matrix, old)!;
  expect(matrixPerCpu(m, "keep-alive", "nginx").n).toBe(3);
  const zero = { ...m, result: { ...m.result, runs: m.result.runs.map((l) => (l.server === "nginx" && l.conn === "close" ? { ...l, serverCpuS: 0 } : l)) } };
  expect(matrixPerCpu(zero, "close", "nginx").n).toBe(0);
});

test("the latest stored run (schema 1) becomes every phase's record; the report has each section, targets in registry order", () => {
  const r = stored("2026-11-23-vm.json");
  expect(r.schema).toBe(2);
  expect(Object.keys(r.phases)).toEqual(["pinning", "matrix", "rings", "quota", "budget", "routes", "delay", "cold", "footprint", "cost"]);
  expect(recordOf(cost, r)?.plan.batch).toEqual({ requests: 10_000, runs: 3 });
  expect(recordOf(matrix, r)?.result.pinning).toBe("ring1-sq-free");
  const md = renderMarkdown(r, "x.svg");
  const headings = ["## Pinning", "## Throughput and latency: close", "## Rings", "## Quota", "## Budget check", "## Routes", "## Delay", "## Cold start (hyperfine)", "## Startup and footprint", "## Per-request cost", "## Machine and noise"];
  const at = headings.map((h) => md.indexOf(h));
  expect(at.every((i) => i > 0)).toBe(true);
  expect([...at].sort((a, b) => a - b)).toEqual(at);
  // Every target the run stored is still there, now in registry order (the matrix's first, the cost phase's last).
  const names = targetsOf(r).map((t) => t.name);
  expect([...names].sort()).toEqual(r.targets.map((t) => t.name).sort());
  expect(names[0]).toStartWith("keep-alive: best ringside mode");
  expect(names.at(-1)).toStartWith("RSS growth per idle keep-alive connection");
  expect(chartOf(r)?.subtitle).toContain("pinning ring1-sq-free; median of 3");
});

test("the registry: unique names, a full and a quick plan each, one chart", () => {
  expect(new Set(PHASE_NAMES).size).toBe(PHASES.length);
  for (const p of PHASES) {
    expect(p.plan(false)).toBeDefined();
    expect(p.plan(true)).toBeDefined();
  }
  expect(PHASES.filter((p) => p.chart).map((p) => p.name)).toEqual(["matrix"]);
});

// ---------------------------------------------------------------- the startup and footprint phase

const STATUS = `Name:\tbun
VmPeak:\t 1234567 kB
VmHWM:\t   40000 kB
VmRSS:\t   39188 kB
RssAnon:\t    4992 kB
RssFile:\t   34196 kB
RssShmem:\t       0 kB
VmData:\t  100000 kB
`;

test("parseMemory: VmRSS and its parts from /proc/PID/status; a missing field is NaN, not 0", () => {
  expect(parseMemory(STATUS)).toEqual({ vmRssKb: 39188, rssAnonKb: 4992, rssFileKb: 34196, rssShmemKb: 0 });
  const old = parseMemory("VmRSS:\t  1000 kB\n");
  expect(old.vmRssKb).toBe(1000);
  expect(old.rssAnonKb).toBeNaN();
});

test("parseInspect and parseBaseImages: podman's and build-base-image.sh's output", () => {
  const inspect = JSON.stringify([{ Id: "8229404c2866abc", Size: 110_612_345, Created: "2026-11-23T14:53:49.1Z", Config: {} }]);
  expect(parseInspect(inspect)).toEqual({ id: "8229404c2866abc", bytes: 110_612_345, created: "2026-11-23T14:53:49.1Z" });
  expect(parseInspect("[]")).toBeUndefined();
  expect(parseInspect("Error: localhost/ringside:bench: image not known")).toBeUndefined();
  expect(parseBaseImages("BASE=localhost/ringside-base:run-f4e6\nBUILD_BASE=localhost/ringside-base:build-f4e6\n")).toEqual({
    base: "localhost/ringside-base:run-f4e6",
    buildBase: "localhost/ringside-base:build-f4e6",
  });
  expect(parseBaseImages("BASE=localhost/ringside-base:run-f4e6\n")).toBeUndefined();
});

const mem = (vmRssMb: number, anonMb: number): Memory => ({ vmRssKb: vmRssMb * 1024, rssAnonKb: anonMb * 1024, rssFileKb: (vmRssMb - anonMb) * 1024, rssShmemKb: 0 });
const timing = (name: string, ms: number): Timing => ({ name, command: name, seconds: spread([ms / 1000]), meanS: ms / 1000, stddevS: 0, runs: [ms / 1000] });

const FOOTPRINT: FootprintResult = {
  commands: { bun: "bun bench/peer-bun.ts --port P", nginx: "nginx", ringside: "bun src/cli.ts", bundle: "bun ringside.js" },
  cold: [
    { run: 0, key: "bun", ms: 20, attempts: 6 },
    { run: 0, key: "nginx", ms: 6, attempts: 5 },
    { run: 0, key: "ringside", ms: 18, attempts: 10 },
    { run: 0, key: "bundle", ms: 22, attempts: 11 },
    { run: 1, key: "bun", ms: 24, attempts: 7 },
    { run: 1, key: "nginx", ms: 7, attempts: 5 },
    { run: 1, key: "ringside", ms: 18, attempts: 10 },
    { run: 1, key: "bundle", ms: 23, attempts: 11 },
  ],
  cli: [timing("floor", 3.7), timing("version/src", 7.4), timing("version/bundle", 9.1), timing("check/src", 9.9), timing("check/bundle", 16)],
  rss: [
    { round: 0, key: "bun", processes: 1, idle: mem(33, 4), afterLoad: mem(34, 4), rps: 1, requests: 1 },
    { round: 0, key: "nginx", processes: 2, idle: mem(12, 3), afterLoad: mem(12, 3), rps: 1, requests: 1 },
    { round: 0, key: "ringside", processes: 1, idle: mem(37, 5), afterLoad: mem(34, 7), rps: 1, requests: 1 },
    { round: 0, key: "bundle", processes: 1, idle: mem(39, 5), afterLoad: mem(35, 7), rps: 1, requests: 1 },
  ],
  image: { tag: "localhost/ringside:bench", bytes: 110_600_000, built: true, buildS: 12, note: "built in this run" },
};

test("footprint targets: medians against Bun.serve's, pairs by start, the 15 ms and 125 MB wants", () => {
  const [cold, cli, idle, after, image] = footprintTargets(FOOTPRINT);
  // Bun.serve median 22 ms; ringside 18 (met), bundle 22.5 (over): missed.
  expect(cold).toMatchObject({ met: false });
  expect(cold?.got).toContain("ringside (src) 18.0 ms (0.825x (0.75–0.9) per start)");
  expect(cli).toMatchObject({ met: false });
  expect(cli?.got).toContain("--check: src 9.9, bundle 16.0 ms (floor `bun -e 1`: 3.7 ms)");
  // Idle: 37 and 39 MB against 33 + 5; after load 34 and 35 against 34.
  expect(idle).toMatchObject({ met: false, got: "Bun.serve 33.0 MB; ringside (src) 37.0 MB (+4.0); ringside (bundle) 39.0 MB (+6.0)" });
  expect(after).toMatchObject({ met: false });
  expect(image).toMatchObject({ met: true, got: "110.6 MB (localhost/ringside:bench, built in this run)" });
  const fast = { ...FOOTPRINT, cold: FOOTPRINT.cold.filter((c) => c.key !== "bundle"), image: { tag: "t", built: false, note: "not measured: podman is not installed" } };
  // A server not measured, an image not measured: n/a, never met.
  expect(footprintTargets(fast)[0]?.met).toBeNull();
  expect(footprintTargets(fast)[4]).toMatchObject({ met: null, got: "not measured: podman is not installed" });
});

test("the startup and footprint section: after the hyperfine cold start, its targets in the table; absent from older results", () => {
  const old = stored("2026-11-22-vm.json");
  expect(renderMarkdown(old, "x.svg")).not.toContain("Startup and footprint");
  const withFp = withRecord(old, "footprint", footprint.plan(false), FOOTPRINT);
  const md = renderMarkdown(withFp, "x.svg");
  expect(md.indexOf("## Startup and footprint (issue 12)")).toBeGreaterThan(md.indexOf("## Cold start (hyperfine)"));
  expect(md).toContain("| Bun.serve | 1 | 33.0 MB | 4.0 MB | 29.0 MB | 34.0 MB |");
  expect(md).toContain("localhost/ringside:bench: 110.6 MB");
  expect(targetsOf(withFp).filter((t) => t.name.startsWith("startup:") || t.name.startsWith("footprint:"))).toHaveLength(5);
  // An --only run has its phases' records alone: their targets and sections, no chart.
  const only: Results = { ...withFp, only: ["footprint"], phases: { footprint: { plan: footprint.plan(true), result: FOOTPRINT } } };
  expect(targetsOf(only)).toHaveLength(5);
  expect(chartOf(only)).toBeUndefined();
  const onlyMd = renderMarkdown(only);
  expect(onlyMd).toContain("## Startup and footprint (issue 12)");
  expect(onlyMd).not.toContain("## Throughput and latency");
  expect(onlyMd).toContain("bun run bench --only footprint");
});
