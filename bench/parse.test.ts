// The harness's parsers and renderers, on captured tool output: no servers,
// no timing. (The harness itself runs end to end in CI as `bun run bench --quick`.)
import { describe, expect, test } from "bun:test";
import { parseStrace } from "../test/strace.ts";
import { parseProfile } from "./cost.ts";
import { isCanned } from "./servers.ts";
import { ratioSpread, spread } from "./stats.ts";
import { renderChart } from "./svg.ts";
import { parseAb, parseWrk } from "./wrk.ts";

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
