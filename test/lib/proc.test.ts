// The parsers of ./proc.ts on lines as the server prints them: no processes.
import { describe, expect, test } from "bun:test";
import { counters, isRingThread, isSqpollThread, lastStats, parseStartup, summaryCounters } from "./proc.ts";

describe("parseStartup", () => {
  test("the text startup line: port, mode, features and every field", () => {
    const s = parseStartup(
      "ringside: listening on http://127.0.0.1:41871 port=41871 mode=spin keep_alive=false features=sqpoll,fixed_files admin=http://127.0.0.1:9000 kernel=6.1.0-13-amd64 pid=7\nringside: stats rps=0\n",
    );
    expect(s).toMatchObject({ url: "http://127.0.0.1:41871", host: "127.0.0.1", port: 41871, mode: "spin", features: ["sqpoll", "fixed_files"] });
    expect(s?.fields).toMatchObject({ admin: "http://127.0.0.1:9000", kernel: "6.1.0-13-amd64", pid: "7", keep_alive: "false" });
    expect(s?.line).toStartWith("ringside: listening on http://127.0.0.1:41871 ");
  });

  test("IPv6, an empty feature list, and --log-format json", () => {
    expect(parseStartup("ringside: listening on http://[::1]:8000 port=8000 mode=fallback features= degraded=x")).toMatchObject({ host: "::1", port: 8000, mode: "fallback", features: [] });
    const json = `{"time":"t","level":"info","event":"listening","message":"listening on http://127.0.0.1:5000","port":5000,"mode":"batch","features":"defer_taskrun"}`;
    expect(parseStartup(`${json}\n`)).toMatchObject({ port: 5000, mode: "batch", features: ["defer_taskrun"], line: json });
  });

  test("a quoted value (auto=\"...\") is one field, unquoted", () => {
    const s = parseStartup(
      'ringside: listening on http://127.0.0.1:37021 port=37021 mode=batch rings=2 auto="2 CPUs, quota none; spin needs 3; 2 rings" keep_alive=false features=reuseport pid=6898\n',
    );
    expect(s?.fields).toMatchObject({ mode: "batch", rings: "2", auto: "2 CPUs, quota none; spin needs 3; 2 rings", keep_alive: "false", pid: "6898" });
    expect(s?.features).toEqual(["reuseport"]);
    expect(parseStartup('ringside: listening on http://127.0.0.1:1 port=1 why="a \\"b\\" c" odd="x')?.fields).toMatchObject({ why: 'a "b" c', odd: '"x' });
  });

  test("a peer's line without fields, and nothing before the line is printed", () => {
    expect(parseStartup("peer-bun: listening on http://127.0.0.1:3000\n")).toMatchObject({ port: 3000, mode: "", features: [], fields: {} });
    expect(parseStartup("ringside: listen")).toBeUndefined();
    expect(parseStartup(`{"event":"stopping"}`)).toBeUndefined();
  });
});

test("counters: numeric key=value pairs only; summary and last stats lines", () => {
  expect(counters("WRK_RESULT requests=10 read=0 kernel=6.1.0 mode=spin")).toEqual({ requests: 10, read: 0 });
  const out = "ringside: stats rps=5 requests=1\nringside: stats rps=7 requests=2\nringside: SIGTERM: draining for up to 5000 ms signal=SIGTERM active=0\nringside: stopped accepted=3 requests=2\n";
  expect(lastStats(out)).toEqual({ rps: 7, requests: 2 });
  expect(summaryCounters(out)).toEqual({ accepted: 3, requests: 2 });
  expect(lastStats("")).toBeUndefined();
  expect(summaryCounters("")).toEqual({});
});

test("ring and SQPOLL thread names", () => {
  for (const comm of ["ringside-ring", "ringside-ring-0", "ringside-ring-9", "ringside-r-10", "ringside-r-15"]) expect(isRingThread(comm)).toBe(true);
  for (const comm of ["ringside", "ringside-ring-", "ringside-r", "bun", "iou-sqp-7"]) expect(isRingThread(comm)).toBe(false);
  expect(isSqpollThread("iou-sqp-11507")).toBe(true);
  expect(isSqpollThread("ringside-ring")).toBe(false);
});
