// 10,000 concurrent idle connections, opened from this process and closed
// (twice): the server holds them all, answers every one that asks, and after
// they leave nothing is left behind: active back to 0, its open fd count back
// to where it started. What they cost in memory is a footprint figure: the
// benchmark's cost phase measures RSS per idle keep-alive connection.
import { expect, test } from "bun:test";
import { KEEP_11, startServer, stopClean, waitForStats, type Running } from "../lib/helpers.ts";
import { openIdle, type IdleClient } from "../lib/idle-clients.ts";
import { fdCount, softLimit, waitFor } from "../lib/proc.ts";

const N = 10_000;
const BATCH = 500;
const PENDING = 2000;
const GET11 = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

/** Opens n connections, BATCH at a time; optionally one request each. The
 * next batch waits while more than PENDING are still unaccepted (the listen
 * backlog holds 4096 at most, and the ring thread shares 2 cores with this
 * process). */
function openMany(s: Running, n: number, request: string | undefined, acceptedBefore: number): Promise<IdleClient[]> {
  const pace = async (opened: IdleClient[]) => {
    const want = opened.length - PENDING;
    if (want > 0) await waitForStats(s, `${want} accepted`, (c) => (c.accepted ?? 0) - acceptedBefore >= want, 20_000);
  };
  return openIdle(s.port, n, { request, batch: BATCH, pace });
}

/** Each client asks again on its idle connection; waits for every answer. */
async function askAgain(clients: IdleClient[], request: string, reply: number): Promise<void> {
  for (const c of clients) c.sock.write(request);
  await waitFor(`${clients.length} more responses`, () => clients.every((c) => c.text.length >= 2 * reply), 30_000);
  expect(clients.filter((c) => c.ended || c.text.length !== 2 * reply).length).toBe(0);
}

/** Opens N, holds them, closes them; checks the server at each step; prints fd counts. */
async function idleRound(s: Running, label: string, request: string | undefined, reply: number): Promise<void> {
  const pid = s.proc.pid;
  const start = await waitForStats(s, "a tick", (c) => c.active === 0);
  const baseFds = fdCount(pid);

  const clients = await openMany(s, N, request, start.accepted!);
  const held = await waitForStats(s, `${N} active`, (c) => c.active === N, 30_000);
  if (reply) {
    await waitFor(`${N} responses`, () => clients.every((c) => c.text.length >= reply), 30_000);
  }
  const heldFds = fdCount(pid);
  // None was closed on us, and none got more than its one response.
  expect(clients.filter((c) => c.ended).length).toBe(0);
  expect(clients.filter((c) => c.text.length !== reply).length).toBe(0);
  // Held idle, every one of them is still served.
  if (request) await askAgain(clients, request, reply);

  for (const c of clients) c.sock.destroy();
  const after = await waitForStats(s, "0 active", (c) => c.active === 0, 30_000);
  await waitFor("fd count back to its baseline", () => fdCount(pid) === baseFds, 10_000);
  console.log(`idle connections (${label}): ${N} held (active=${held.active}); server fds baseline=${baseFds} held=${heldFds} after=${fdCount(pid)}; active after=${after.active}`);
}

/** Two rounds: the second runs on slots the first used and freed. */
async function twoRounds(s: Running, label: string, request: string | undefined, reply: number): Promise<void> {
  await idleRound(s, `${label}, round 1`, request, reply);
  await idleRound(s, `${label}, round 2`, request, reply);
}

test(`${N} idle connections (no request) opened and closed: no leak`, async () => {
  expect(softLimit("Max open files")).toBeGreaterThanOrEqual(N + 200); // ulimit -n: raise it for this test
  await using s = await startServer(["--max-connections", "12000", "--header-timeout", "120s", "--stats-interval", "100ms"]);
  await twoRounds(s, "close mode, nothing sent", undefined, 0);
  expect(await stopClean(s)).toMatchObject({
    accepted: 2 * N, active: 0, requests: 0, client_eof_early: 2 * N, header_timeouts: 0,
    accept_backoffs: 0, accept_errors: 0, recv_errors: 0, client_resets: 0,
  });
}, 120_000);

test(`${N} idle keep-alive connections (one request each, then one more) opened and closed: no leak`, async () => {
  expect(softLimit("Max open files")).toBeGreaterThanOrEqual(N + 200);
  await using s = await startServer(["--keep-alive", "--max-connections", "12000", "--idle-timeout", "120s", "--stats-interval", "100ms"]);
  await twoRounds(s, "keep-alive, one request each", GET11, KEEP_11.length);
  expect(await stopClean(s)).toMatchObject({
    accepted: 2 * N, active: 0, requests: 4 * N, responses: 4 * N, client_eof_early: 0, idle_timeouts: 0,
    accept_backoffs: 0, accept_errors: 0, recv_errors: 0, client_resets: 0,
  });
}, 120_000);
