// 10,000 concurrent idle connections, opened from this process and closed
// (twice):
// the server holds them all, and after they leave nothing is left behind:
// active back to 0, its open fd count back to where it started, its RSS
// bounded. The figures are printed.
import { expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { KEEP_11, startServer, stopClean, waitForStats, type Running } from "./helpers.ts";
import { fdCount, kb, softLimit, waitFor } from "./proc.ts";

const rssKb = (pid: number): number => kb(pid, "VmRSS");

const N = 10_000;
const BATCH = 500;
const PENDING = 2000;
const GET11 = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

interface Client {
  sock: Socket;
  received: number;
  ended: boolean;
}

/** Opens n connections, BATCH at a time; optionally one request each. The
 * kernel completes a connection into the listen backlog (4096 at most) before
 * the server accepts it: beyond that it drops SYNs and the client retries
 * after 1 s, 3 s, 7 s... So the next batch waits while more than PENDING are
 * still unaccepted (the ring thread shares 2 cores with this process). */
async function openMany(s: Running, n: number, request: string | undefined, sample: () => void, acceptedBefore: number): Promise<Client[]> {
  const port = s.port;
  const clients: Client[] = [];
  for (let i = 0; i < n; i += BATCH) {
    if (i - PENDING > 0) await waitForStats(s, `${i - PENDING} accepted`, (c) => (c.accepted ?? 0) - acceptedBefore >= i - PENDING, 20_000);
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, n - i) }, () =>
        new Promise<Client>((resolve, reject) => {
          const sock = connect({ host: "127.0.0.1", port });
          const c: Client = { sock, received: 0, ended: false };
          sock.on("data", (d: Buffer) => (c.received += d.length));
          sock.on("end", () => (c.ended = true));
          sock.once("error", reject);
          sock.once("connect", () => {
            if (request) sock.write(request);
            resolve(c);
          });
        }),
      ),
    );
    clients.push(...batch);
    sample();
  }
  return clients;
}

interface Figures {
  baseRss: number;
  peakRss: number;
  afterRss: number;
}

/** Opens N, holds them, closes them; checks the server each step; prints figures. */
async function idleRound(s: Running, label: string, request: string | undefined, reply: number): Promise<Figures> {
  const pid = s.proc.pid;
  const start = await waitForStats(s, "a tick", (c) => c.active === 0);
  const base = { fds: fdCount(pid), rss: rssKb(pid) };
  let peakRss = base.rss;
  const sample = () => (peakRss = Math.max(peakRss, rssKb(pid)));

  const clients = await openMany(s, N, request, sample, start.accepted!);
  const held = await waitForStats(s, `${N} active`, (c) => c.active === N, 30_000);
  if (reply) {
    await waitFor(`${N} responses`, () => clients.every((c) => c.received >= reply), 30_000);
  }
  sample();
  const heldFds = fdCount(pid);
  // None was closed on us, and none got more than its one response.
  expect(clients.filter((c) => c.ended).length).toBe(0);
  expect(clients.filter((c) => c.received !== reply).length).toBe(0);

  for (const c of clients) c.sock.destroy();
  const after = await waitForStats(s, "0 active", (c) => c.active === 0, 30_000);
  await waitFor("fd count back to its baseline", () => fdCount(pid) === base.fds, 10_000);
  const afterRss = rssKb(pid);

  console.log(
    `idle connections (${label}): ${N} held (active=${held.active}); ` +
      `server fds baseline=${base.fds} held=${heldFds} after=${fdCount(pid)}; ` +
      `VmRSS baseline=${(base.rss / 1024).toFixed(1)} MiB peak=${(peakRss / 1024).toFixed(1)} MiB ` +
      `after=${(afterRss / 1024).toFixed(1)} MiB (${(((peakRss - base.rss) * 1024) / N).toFixed(0)} B per connection); ` +
      `active after=${after.active}`,
  );
  // Under 16 KiB of RSS per held connection: each has an 8 KiB header
  // buffer, mapped lazily, and nothing else grows with connections.
  expect(peakRss - base.rss).toBeLessThan(N * 16);
  return { baseRss: base.rss, peakRss, afterRss };
}

/** Two rounds: the second may touch buffers of slots the first did not use,
 * but all buffers together are bounded by max-connections x max-header-size. */
async function twoRounds(s: Running, label: string, request: string | undefined, reply: number): Promise<void> {
  const first = await idleRound(s, `${label}, round 1`, request, reply);
  const second = await idleRound(s, `${label}, round 2`, request, reply);
  const slabKb = (12_000 * 8192) / 1024;
  expect(second.peakRss - first.baseRss).toBeLessThan(slabKb + 16 * 1024);
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

test(`${N} idle keep-alive connections (one request each) opened and closed: no leak`, async () => {
  expect(softLimit("Max open files")).toBeGreaterThanOrEqual(N + 200);
  await using s = await startServer(["--keep-alive", "--max-connections", "12000", "--idle-timeout", "120s", "--stats-interval", "100ms"]);
  await twoRounds(s, "keep-alive, one request each", GET11, KEEP_11.length);
  expect(await stopClean(s)).toMatchObject({
    accepted: 2 * N, active: 0, requests: 2 * N, responses: 2 * N, client_eof_early: 0, idle_timeouts: 0,
    accept_backoffs: 0, accept_errors: 0, recv_errors: 0, client_resets: 0,
  });
}, 120_000);
