// Soak: wrk with 256 connections for 200,000 requests in keep-alive mode and
// in close mode, and ab reading every response to EOF. Nothing may be lost:
// the server's counters must match what the clients counted, exactly.
//
// wrk runs for a duration, not a count, and drops whatever is in flight when
// the duration ends, so a plain run can never be compared exactly with the
// server. test/lib/wrk-quota.lua makes each wrk thread send a fixed quota and
// stop once every one of them is answered; the test then ends wrk's -d sleep
// with SIGINT. The -d and --timeout values are only a safety bound.
//
// Close mode and wrk's read errors: wrk counts a "read" socket error when a
// read returns EOF or ECONNRESET before the response it is parsing is
// complete, and then reconnects. A server that closes after each response
// therefore causes read errors only when a close cuts a response short, or
// when it closes a connection wrk still means to use (a keep-alive timeout,
// or a server that omits Content-length and ends bodies by closing). ringside
// sends Content-length on every response and closes only after the whole
// response is sent; wrk, seeing "Connection: close" in its own request and a
// complete HTTP/1.0 response, closes and reconnects by itself before it ever
// reads the server's FIN. So the expected count of read errors is 0 here,
// and any read error is a truncated response: the test asserts 0. What wrk
// leaves behind are connections it opened and never used (its address probe
// at start, and the reconnect after each thread's last request): the server
// counts those as accepted with client_eof_early, and the test accounts for
// them by name. ab, which reads every response to EOF, is the second witness.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startServer, stopClean, type Running } from "../lib/helpers.ts";
import { counters } from "../lib/proc.ts";
import { broken, FLAKY_ROUTE, flakyRings, goodClient, hostileClient, HOSTILE_KINDS, type GoodOutcome, type HostileKind } from "../lib/churn.ts";

const SCRIPT = join(import.meta.dir, "..", "lib", "wrk-quota.lua");
const TOTAL = 200_000;
const CONNECTIONS = 256;
const THREADS = 2;

interface WrkResult {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
  counts: Record<string, number>;
}

/** Runs wrk with the quota script until every thread has its answers. */
async function runWrk(s: Running, opts: { close: boolean; boundSeconds: number }): Promise<WrkResult> {
  const started = performance.now();
  await using wrk = Bun.spawn(
    [
      "wrk", "-t", String(THREADS), "-c", String(CONNECTIONS),
      "-d", `${opts.boundSeconds}s`, "--timeout", `${opts.boundSeconds + 10}s`,
      "-s", SCRIPT, `${s.url}/`,
    ],
    {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, WRK_QUOTA: String(TOTAL / THREADS), WRK_CLOSE: opts.close ? "1" : "0" },
    },
  );
  let stdout = "";
  const decoder = new TextDecoder();
  const readOut = (async () => {
    for await (const chunk of wrk.stdout) {
      stdout += decoder.decode(chunk, { stream: true });
      if ((stdout.match(/^WRK_THREAD_DONE$/gm) ?? []).length === THREADS && wrk.exitCode === null) wrk.kill("SIGINT");
    }
  })();
  const [stderr, code] = await Promise.all([new Response(wrk.stderr).text(), wrk.exited, readOut]);
  const line = stdout.split("\n").find((l) => l.startsWith("WRK_RESULT ")) ?? "";
  const counts = counters(line);
  return { code, stdout, stderr, seconds: (performance.now() - started) / 1000, counts };
}

const NO_ERRORS = { connect: 0, read: 0, write: 0, status: 0, timeout: 0, non2xx: 0 };
const CLEAN = {
  active: 0, bad_requests: 0, too_large: 0, accept_errors: 0, accept_backoffs: 0,
  recv_errors: 0, send_errors: 0, client_resets: 0, header_timeouts: 0, idle_timeouts: 0,
};

/** Each ring's counters, from /metrics' per-ring series. */
async function ringCounters(s: Running, rings: number): Promise<Array<Record<string, number>>> {
  const text = await (await fetch(`${s.startup.fields.admin}/metrics`)).text();
  return Array.from({ length: rings }, (_, k) =>
    Object.fromEntries([...text.matchAll(new RegExp(`^ringside_ring_(\\w+?)(?:_total)?\\{ring="${k}"\\} (\\d+)$`, "gm"))].map((m) => [m[1]!, Number(m[2])])),
  );
}

describe.each([["spin", 1], ["sqpoll", 2], ["batch", 2]] as const)("%s mode, %d ring(s)", (mode, rings) => {
  test(`keep-alive: wrk, ${TOTAL} requests on ${CONNECTIONS} connections, no error, counts equal`, async () => {
    // The idle timeout only has to outlast the run: a thread done early
    // keeps its connections open until the last thread is done.
    await using s = await startServer(["--mode", mode, "--rings", String(rings), "--keep-alive", "--idle-timeout", "60s", "--admin-port", "0"]);
    const w = await runWrk(s, { close: false, boundSeconds: 50 });
    const perRing = await ringCounters(s, rings);
    const c = await stopClean(s);
    // Every ring served, and the rings' counters add up to the totals.
    expect(perRing.every((r) => r.requests! > 0)).toBe(true);
    for (const name of ["accepted", "requests", "responses", "bytes_sent"]) expect(perRing.reduce((a, r) => a + r[name]!, 0)).toBe(c[name]!);
    console.log(`soak keep-alive ${mode}/${rings} (${perRing.map((r) => r.requests).join(" + ")}): ${w.counts.requests} requests in ${w.seconds.toFixed(1)} s ` +
      `(${Math.round(w.counts.requests! / w.seconds)}/s incl. start); server: ${JSON.stringify(c)}`);
    expect(w.code).toBe(0);
    expect(w.counts).toEqual({ requests: TOTAL, ...NO_ERRORS });
    expect(c).toMatchObject({ ...CLEAN, requests: TOTAL, responses: TOTAL, lingering_closes: 0 });
    // 256 connections, plus wrk's address probe that connects and leaves.
    expect(c.accepted).toBe(CONNECTIONS + c.client_eof_early!);
    expect(c.client_eof_early).toBeLessThanOrEqual(1);
  }, 60_000);
});

test(`close mode: wrk -H "Connection: close", ${TOTAL} requests on ${CONNECTIONS} connections, no error, counts equal`, async () => {
  await using s = await startServer([]);
  const w = await runWrk(s, { close: true, boundSeconds: 80 });
  const c = await stopClean(s);
  console.log(`soak close spin: ${w.counts.requests} requests in ${w.seconds.toFixed(1)} s ` +
    `(${Math.round(w.counts.requests! / w.seconds)}/s, a connection each); server: ${JSON.stringify(c)}`);
  expect(w.code).toBe(0);
  expect(w.counts).toEqual({ requests: TOTAL, ...NO_ERRORS });
  expect(c).toMatchObject({ ...CLEAN, requests: TOTAL, responses: TOTAL, lingering_closes: 0 });
  // One connection per request, plus those wrk opened and never used: its
  // probe and, per connection, the reconnect after its last request.
  expect(c.accepted).toBe(TOTAL + c.client_eof_early!);
  expect(c.client_eof_early).toBeLessThanOrEqual(CONNECTIONS + 1);
}, 90_000);

test("close mode: ab -n 20000 -c 64 reads every response to EOF: none failed, none lost", async () => {
  const n = 20_000;
  await using s = await startServer([]);
  await using ab = Bun.spawn(["ab", "-q", "-n", String(n), "-c", "64", "-s", "20", `${s.url}/`], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(ab.stdout).text(), new Response(ab.stderr).text(), ab.exited]);
  const c = await stopClean(s);
  console.log(`soak ab close: ${/Requests per second:\s+\S+/.exec(out)?.[0]}; server: ${JSON.stringify(c)}`);
  expect(code).toBe(0);
  expect(err).toBe("");
  expect(out).toContain(`Complete requests:      ${n}\n`);
  expect(out).toContain("Failed requests:        0\n");
  expect(out).not.toContain("Non-2xx");
  expect(out).toContain(`Total transferred:      ${n * 81} bytes\n`);
  expect(c).toMatchObject({ ...CLEAN, requests: n, responses: n, bytes_sent: n * 81 });
  // ab connects whenever fewer than n requests have been *written*, so near
  // the end a few connections open and close without a request (fewer than -c).
  expect(c.accepted).toBe(n + c.client_eof_early!);
  expect(c.client_eof_early).toBeLessThan(64);
}, 60_000);

// Churn: well-behaved keep-alive clients and hostile clients that hang up in
// every way share a connection table small enough that its slots are reused
// all the time. The well-behaved clients' requests and responses match one for
// one, and the server's counters add up to what the clients did.
const CHURN_SLOTS = 16;
const CHURN_GOOD_LOOPS = 24;
const CHURN_GOOD_CONNECTIONS = 600;
const CHURN_REQUESTS_EACH = 8;
const CHURN_HOSTILE_LOOPS = 8;
/** One slow-body client in every 9 hostile ones: it holds its slot until
 * --header-timeout; one flaky one, whose route resets, closes or hangs. */
const CHURN_KINDS: readonly HostileKind[] = [...HOSTILE_KINDS, "slow-body"];

describe.each(["spin", "sqpoll", "batch"])("%s mode", (mode) => {
  test(`churn: ${CHURN_GOOD_CONNECTIONS} keep-alive clients and hostile ones that leave every way, on ${CHURN_SLOTS} slots: nothing lost, counters add up`, async () => {
    await using s = await startServer(["--mode", mode, ...flakyRings(mode), "--keep-alive", "--max-connections", String(CHURN_SLOTS), "--header-timeout", "1s", ...FLAKY_ROUTE]);
    const made: Record<HostileKind, number> = Object.fromEntries(CHURN_KINDS.map((k) => [k, 0])) as Record<HostileKind, number>;
    let running = true;
    const hostile = Array.from({ length: CHURN_HOSTILE_LOOPS }, async (_, w) => {
      // Each loop cycles through every kind, starting at its own.
      for (let k = w; running; k++) {
        const kind = CHURN_KINDS[k % CHURN_KINDS.length]!;
        made[kind]++;
        await hostileClient(s.port, kind);
      }
    });
    const outcomes: GoodOutcome[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: CHURN_GOOD_LOOPS }, async () => {
      while (next++ < CHURN_GOOD_CONNECTIONS) outcomes.push(await goodClient(s.port, CHURN_REQUESTS_EACH));
    }));
    running = false;
    await Promise.all(hostile);
    const c = await stopClean(s);
    const hostileTotal = Object.values(made).reduce((a, b) => a + b, 0);
    console.log(`churn ${mode}: ${outcomes.length} good connections, hostile ${JSON.stringify(made)}; server ${JSON.stringify(c)}`);

    expect(broken(outcomes, CHURN_REQUESTS_EACH)).toEqual([]);
    const goodRequests = CHURN_GOOD_CONNECTIONS * CHURN_REQUESTS_EACH;
    // Every connection either side opened was accepted and is closed.
    expect(c).toMatchObject({ accepted: CHURN_GOOD_CONNECTIONS + hostileTotal, active: 0 });
    expect(c).toMatchObject({ recv_errors: 0, send_errors: 0, accept_errors: 0, accept_backoffs: 0 });
    // Each hostile kind leaves its own mark.
    expect(c.bad_requests).toBe(made["bad-then-close"] + made["bad-then-half-close"]);
    expect(c.too_large).toBe(made["too-large-then-half-close"]);
    // A flaky request that hangs is cut at the header timeout: no slot is kept.
    const faults = c.faults_reset! + c.faults_close! + c.faults_hang!;
    expect(c.header_timeouts).toBe(made["slow-body"] + c.faults_hang!);
    // FLAKY_ROUTE's seed draws every fault within five flaky requests.
    expect(made.flaky).toBeGreaterThanOrEqual(5);
    expect(c.faults_reset! * c.faults_close! * c.faults_hang!).toBeGreaterThan(0);
    expect(faults).toBeLessThanOrEqual(made.flaky);
    expect(c.requests).toBe(goodRequests + made["chunked-then-half-close"] + made["chunked-then-close"] + made["slow-body"] + made.flaky);
    expect(c.lingering_closes).toBeGreaterThanOrEqual(made["bad-then-half-close"] + made["too-large-then-half-close"] + made["chunked-then-half-close"]);
    // Every request or error read was answered, except where the client reset
    // first, the header timeout cut a body short, or a fault was drawn.
    const owed = c.requests! + c.bad_requests! + c.too_large!;
    expect(c.responses).toBeLessThanOrEqual(owed - faults);
    expect(c.responses! + c.client_resets! + c.header_timeouts! + c.faults_reset! + c.faults_close!).toBeGreaterThanOrEqual(owed);
  }, 90_000);
});
