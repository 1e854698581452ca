// --delay and a route's delay=: every response to a request is held back at
// least that long (an io_uring timeout, the DELAYING state's clock), in every
// mode; an error alone goes at once; pipelined responses keep their order;
// SIGTERM drains delayed responses, and a drain timeout that cuts them says
// how many; a thousand clients can wait at once, and the counters add up.
// How precise the delay is under load is a figure for the benchmark
// (bench/phases/delay.ts), not a test.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errorResponse, rawExchange, RawConn, startServer, stopClean, waitForStats } from "../lib/helpers.ts";
import { runToEnd, summaryCounters, waitFor } from "../lib/proc.ts";

const get10 = (path: string): string => `GET ${path} HTTP/1.0\r\n\r\n`;
const get11 = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;

/** One request; its response and how long it took, in ms. */
async function timed(port: number, request: string): Promise<{ text: string; ms: number }> {
  const t0 = performance.now();
  const r = await rawExchange(port, [request]);
  return { text: r.text, ms: performance.now() - t0 };
}

describe.each(["batch", "sqpoll", "spin"])("%s mode", (mode) => {
  test("the default response and routes are held back by their delay; delay=0 opts a route out", async () => {
    await using s = await startServer(["--mode", mode, "--rings", "1", "--delay", "150ms", "--route", "/slow=200 body=slow delay=400ms", "--route", "/now=200 body=now delay=0"]);
    const [def, slow, now] = await Promise.all([timed(s.port, get10("/")), timed(s.port, get10("/slow")), timed(s.port, get10("/now"))]);
    expect(def.text).toEndWith("Have a nice day!\n");
    expect(slow.text).toEndWith("slow");
    expect(now.text).toEndWith("now");
    expect(def.ms).toBeGreaterThanOrEqual(149);
    expect(slow.ms).toBeGreaterThanOrEqual(399);
    const c = await stopClean(s);
    expect(c).toMatchObject({ requests: 3, responses: 3, delayed: 2, delayed_cut: 0 });
  });
});

test("pipelined requests with different delays are answered in order, none before its delay", async () => {
  await using s = await startServer(["--keep-alive", "--route", "/slow=200 body=slow delay=300ms", "--route", "/fast=200 body=fast"]);
  using conn = await RawConn.open(s.port);
  const t0 = performance.now();
  conn.write(get11("/slow") + get11("/fast") + get11("/slow"));
  await conn.readBytes(1);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(299);
  const text = await conn.readBytes(3 * 66);
  expect([...text.matchAll(/\r\n\r\n(slow|fast)/g)].map((m) => m[1])).toEqual(["slow", "fast", "slow"]);
  conn.close();
  await stopClean(s);
});

test("a delay longer than --header-timeout still sends: the send's clock starts after the delay", async () => {
  await using s = await startServer(["--header-timeout", "1s", "--delay", "1500ms"]);
  const r = await timed(s.port, get10("/"));
  expect(r.text).toEndWith("Have a nice day!\n");
  expect(r.ms).toBeGreaterThanOrEqual(1499);
  await stopClean(s);
});

test("SIGTERM during delayed responses: the drain sends every one of them", async () => {
  await using s = await startServer(["--keep-alive", "--delay", "600ms"]);
  const clients = Array.from({ length: 20 }, (_, i) => rawExchange(s.port, [i % 2 ? get10("/") : get11("/").replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")]));
  await Bun.sleep(150);
  const stopped = s.stop();
  const answers = await Promise.all(clients);
  for (const a of answers) expect({ end: a.end, body: a.text.endsWith("Have a nice day!\n") }).toEqual({ end: "eof", body: true });
  const { code, stdout, stderr } = await stopped;
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(summaryCounters(stdout)).toMatchObject({ requests: 20, responses: 20, delayed: 20, delayed_cut: 0 });
});

test("an hour is the longest delay, inclusive, and 1h says it: --delay, RINGSIDE_DELAY, delay= and a routes file", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "ringside-")), "routes.json");
  writeFileSync(file, JSON.stringify([{ path: "/file", delay: "1h" }]));
  const routes = ["--routes", file, "--route", "/hour=200 delay=1h", "--route", "/now=200 body=now delay=0"];
  for (const [args, env] of [[["--delay", "1h", ...routes], {}], [routes, { RINGSIDE_DELAY: "1h" }]] as const) {
    await using s = await startServer([...args], env);
    expect(s.startup.fields.delay_ms).toBe("3600000");
    expect((await rawExchange(s.port, [get10("/now")])).text).toEndWith("now");
    await stopClean(s);
  }
});

test("error responses are not held back: with --delay 1h a bad request gets its 400, and a good one waits", async () => {
  await using s = await startServer(["--delay", "1h", "--stats-interval", "50ms"]);
  const bad = await rawExchange(s.port, ["\x16\x03\x01 not http\r\n\r\n"]);
  expect({ text: bad.text, end: bad.end }).toEqual({ text: errorResponse(400), end: "eof" });
  using good = await RawConn.open(s.port);
  good.write(get10("/"));
  const c = await waitForStats(s, "the good request held back", (c) => c.delayed === 1);
  expect({ responses: c.responses, bad_requests: c.bad_requests, length: good.length }).toEqual({ responses: 1, bad_requests: 1, length: 0 });
});

test("a drain timeout shorter than the delay cuts the delayed responses and says how many", async () => {
  await using s = await startServer(["--delay", "10s", "--drain-timeout", "200ms"]);
  const clients = Array.from({ length: 5 }, () => rawExchange(s.port, [get10("/")], { timeoutMs: 5_000 }));
  await Bun.sleep(150);
  const { code, stdout, stderr } = await s.stop();
  for (const a of await Promise.all(clients)) expect({ text: a.text, end: a.end === "timeout" ? "timeout" : "closed" }).toEqual({ text: "", end: "closed" });
  expect(code).toBe(0);
  expect(stderr).toMatch(/^ringside: warn: 5 delayed responses were not sent: the drain timeout \(200 ms\) ended before their delay delayed_cut=5\n$/);
  expect(summaryCounters(stdout)).toMatchObject({ requests: 5, responses: 0, delayed: 5, delayed_cut: 5, active: 0 });
});

test("a pipeline mixing delayed and undelayed routes with an error in the middle: all at the delay, in order, then a clean close", async () => {
  await using s = await startServer(["--keep-alive", "--route", "/slow=200 body=slow delay=300ms", "--route", "/fast=200 body=fast"]);
  using conn = await RawConn.open(s.port);
  const t0 = performance.now();
  conn.write(get11("/slow") + get11("/fast") + "\x16\x03\x01garbage\r\n\r\n" + get11("/fast"));
  expect(await conn.waitEnd(5_000)).toBe("eof");
  expect(performance.now() - t0).toBeGreaterThanOrEqual(299);
  const route = (body: string): string => `HTTP/1.1 200 OK\r\nContent-type: text/plain\r\nContent-length: ${body.length}\r\n\r\n${body}`;
  expect(conn.text).toBe(route("slow") + route("fast") + errorResponse(400));
  conn.close();
  expect(await stopClean(s)).toMatchObject({ requests: 2, bad_requests: 1, responses: 3, delayed: 3, lingering_closes: 1 });
});

test("an error alone is answered at once, whatever --delay says", async () => {
  await using s = await startServer(["--delay", "10s"]);
  const t0 = performance.now();
  const r = await rawExchange(s.port, ["\x16\x03\x01\x02\x00\x01\x00"], { timeoutMs: 5_000 });
  expect({ head: r.text.slice(0, 24), end: r.end }).toEqual({ head: "HTTP/1.1 400 Bad Request", end: "eof" });
  expect(performance.now() - t0).toBeLessThan(5_000);
  expect(await stopClean(s)).toMatchObject({ bad_requests: 1, delayed: 0 });
});

describe.each(["batch", "spin"])("%s mode", (mode) => {
  test("a thousand clients at once waiting on a delay (ab -c 1000): every one answered, the counters add up", async () => {
    await using s = await startServer(["--mode", mode, "--route", "/slow=200 body=slow delay=500ms", "--max-connections", "2048", "--backlog", "4096"]);
    const ab = await runToEnd(["ab", "-q", "-n", "3000", "-c", "1000", "-s", "30", `${s.url}/slow`], { timeoutMs: 60_000 });
    expect({ code: ab.code, stderr: ab.stderr }).toEqual({ code: 0, stderr: "" });
    expect(ab.stdout).toMatch(/Complete requests:\s+3000\n/);
    expect(ab.stdout).toMatch(/Failed requests:\s+0\n/);
    expect(await stopClean(s)).toMatchObject({ requests: 3000, responses: 3000, delayed: 3000, delayed_cut: 0, active: 0 });
  }, 90_000);
});

test("counters add up ring by ring and route by route when clients leave during delays, reset and send garbage", async () => {
  await using s = await startServer(["--rings", "2", "--keep-alive", "--admin-port", "0", "--route", "/slow=200 delay=200ms", "--route", "/long=200 delay=60m", "--route", "/api/*=200 body=api"]);
  const work: Array<Promise<unknown>> = [];
  for (let i = 0; i < 60; i++) {
    const kind = i % 6;
    if (kind === 0) work.push(rawExchange(s.port, [get10("/slow")]));
    else if (kind === 1) work.push(rawExchange(s.port, [get11("/api/x") + get11("/slow") + get11("/nope").replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")]));
    else if (kind === 2) work.push(rawExchange(s.port, ["\x16\x03\x01garbage\r\n\r\n"]));
    else work.push((async () => {
      const c = await RawConn.open(s.port);
      c.write(get10(kind === 3 ? "/long" : "/slow"));
      await Bun.sleep(kind === 3 ? 50 : 20);
      if (kind === 5) c.close();
      else c.reset();
    })());
  }
  await Promise.all(work);
  const metrics = await waitFor("every connection gone", async () => {
    const text = await (await fetch(`${s.startup.fields.admin}/metrics`)).text();
    return /^ringside_active 0$/m.test(text) ? text : undefined;
  });
  const values = (name: string): number[] => [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, "gm"))].map((m) => Number(m[1]));
  for (const f of ["accepted", "requests", "responses", "bad_requests", "delayed", "delayed_cut", "client_resets", "lingering_closes"]) {
    const all = values(`ringside_${f}_total`)[0]!;
    expect({ f, rings: values(`ringside_ring_${f}_total`).reduce((a, b) => a + b, 0) }).toEqual({ f, rings: all });
  }
  const total = (name: string): number => values(`ringside_${name}_total`)[0]!;
  expect(values("ringside_route_requests_total").reduce((a, b) => a + b, 0)).toBe(total("requests"));
  // Every request was answered or its delayed response cut; every client that stayed got its answers.
  expect(total("responses") + total("delayed_cut")).toBeGreaterThanOrEqual(total("requests") + total("bad_requests"));
  expect({ accepted: total("accepted"), bad: total("bad_requests"), cut: total("delayed_cut") }).toEqual({ accepted: 60, bad: 10, cut: 30 }); // kinds 3, 4 and 5 leave during their delay
  await stopClean(s);
});

test("clients that leave during their delay free their slots; the server keeps serving", async () => {
  await using s = await startServer(["--delay", "300ms", "--max-connections", "4", "--rings", "1"]);
  for (let round = 0; round < 3; round++) {
    const leaving = await Promise.all(Array.from({ length: 4 }, async () => {
      const c = await RawConn.open(s.port);
      c.write(get10("/"));
      return c;
    }));
    await Bun.sleep(50);
    for (const c of leaving) c.reset();
  }
  const r = await timed(s.port, get10("/"));
  expect(r.text).toEndWith("Have a nice day!\n");
  const c = await stopClean(s);
  expect(c.active).toBe(0);
  expect(c.requests).toBe(13);
});
