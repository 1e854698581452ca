// Weighted outcomes, drawn per request by the C policy from a seeded
// generator per ring: with a fixed seed and one ring, the counts of each
// status, delay and fault over N requests are the same on every run and in
// every mode, they fall within 5 binomial sigmas of the weights, what the
// clients saw matches /metrics' series, and those series add up to the
// requests of each route.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, stopClean } from "../lib/helpers.ts";
import { scrapeOutcomes, seen, seenMany, sumsToRequests, tallySeen, withinSigmas, type RouteOutcomes } from "../lib/outcomes.ts";

const N = 2000;
const CONCURRENCY = 32;
const SEED = "42";
const GET = "GET / HTTP/1.0\r\n\r\n";

/** The default response: 503 10%, 429 5%, else 200; 2 ms 10% of the time;
 * 2% resets, 2% closes, 1% hangs (cut at the 1 s header timeout). */
const WEIGHTS = ["--status", "200,503@10%,429@5%", "--delay", "0,2ms@10%", "--fault", "reset@2%,close@2%,hang@1%", "--header-timeout", "1s"];
/** Probabilities of what a request comes to: a fault first, else a status. */
const P_FAULT = { reset: 0.02, close: 0.02, hang: 0.01 };
const P_ANSWER = 1 - 0.05;
const P_STATUS = { "200": P_ANSWER * 0.85, "503": P_ANSWER * 0.1, "429": P_ANSWER * 0.05 };

interface Run {
  server: RouteOutcomes;
  client: Record<string, number>;
  counters: Record<string, number>;
}

async function run(mode: string): Promise<Run> {
  await using s = await startServer(["--mode", mode, "--rings", "1", "--seed", SEED, "--admin-port", "0", ...WEIGHTS]);
  expect(s.startup.fields.seed).toBe(SEED);
  const seen = await seenMany(s.port, GET, N, CONCURRENCY);
  const outcomes = await scrapeOutcomes(s.startup.fields.admin!);
  expect(sumsToRequests(outcomes)).toBe(true);
  const counters = await stopClean(s);
  return { server: outcomes.default!, client: tallySeen(seen), counters };
}

const runs: Record<string, Run[]> = {};

describe.each(["spin", "sqpoll", "batch"])("%s mode, one ring, --seed 42", (mode) => {
  test(`${N} requests twice: the same counts of every status, delay and fault, within 5 sigmas of the weights`, async () => {
    const [a, b] = [await run(mode), await run(mode)];
    runs[mode] = [a, b];
    console.log(`${mode}: ${JSON.stringify(a.server)}, delayed ${a.counters.delayed}`);
    expect(b.server).toEqual(a.server);
    expect(b.counters.delayed).toBe(a.counters.delayed!);
    expect(a.server.requests).toBe(N);
    for (const [status, p] of Object.entries(P_STATUS)) expect({ status, ok: withinSigmas(a.server.statuses[status] ?? 0, N, p) }).toEqual({ status, ok: true });
    for (const [fault, p] of Object.entries(P_FAULT)) expect({ fault, ok: withinSigmas(a.server.faults[fault] ?? 0, N, p) }).toEqual({ fault, ok: true });
    // The delay is drawn for every request, and holds back the answered ones.
    expect(withinSigmas(a.counters.delayed!, N, P_ANSWER * 0.1)).toBe(true);
  }, 120_000);

  test("what the clients saw is what /metrics and the counters say", () => {
    const { server, client, counters } = runs[mode]![0]!;
    for (const status of Object.keys(P_STATUS)) expect(client[status]).toBe(server.statuses[status]!);
    // An RST is ECONNRESET; a close and a hang (once cut) are an EOF with no byte.
    expect(client.reset).toBe(server.faults.reset!);
    expect(client.eof).toBe(server.faults.close! + server.faults.hang!);
    expect(client.timeout).toBeUndefined();
    expect(counters).toMatchObject({ requests: N, faults_reset: server.faults.reset, faults_close: server.faults.close, faults_hang: server.faults.hang, header_timeouts: server.faults.hang, active: 0 });
    expect(counters.responses).toBe(N - server.faults.reset! - server.faults.close! - server.faults.hang!);
  });
});

test("the seed replays the same draws in every mode; another seed draws others", async () => {
  const modes = Object.keys(runs);
  expect(modes.length).toBe(3);
  for (const mode of modes) expect(runs[mode]![0]!.server).toEqual(runs.spin![0]!.server);
  await using s = await startServer(["--mode", "batch", "--rings", "1", "--seed", "43", "--admin-port", "0", ...WEIGHTS]);
  await seenMany(s.port, GET, N, CONCURRENCY);
  const other = (await scrapeOutcomes(s.startup.fields.admin!)).default!;
  await stopClean(s);
  expect(other.requests).toBe(N);
  expect(other).not.toEqual(runs.spin![0]!.server);
}, 60_000);

test("routes draw from their own weights; /metrics shows each route's statuses and faults, summing to its requests", async () => {
  await using s = await startServer([
    "--mode", "batch", "--rings", "2", "--keep-alive", "--admin-port", "0",
    "--route", "/api/*=200,503@50%", "--route", "/flaky status=201,500@20% fault=reset@10%,close@10%",
  ]);
  await seenMany(s.port, "GET /api/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 200, 16);
  await seenMany(s.port, "GET /flaky HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 200, 16);
  const o = await scrapeOutcomes(s.startup.fields.admin!);
  await stopClean(s);
  expect(sumsToRequests(o)).toBe(true);
  expect(o.default).toEqual({ requests: 0, statuses: { "200": 0 }, faults: {} });
  expect(o["/api/*"]!.requests).toBe(200);
  expect(Object.keys(o["/api/*"]!.statuses).sort()).toEqual(["200", "503"]);
  expect(o["/api/*"]!.faults).toEqual({});
  expect(Object.keys(o["/flaky"]!.statuses).sort()).toEqual(["201", "500"]);
  expect(Object.keys(o["/flaky"]!.faults).sort()).toEqual(["close", "reset"]);
  // Two rings: the totals follow the weights, each ring its own sequence.
  expect(withinSigmas(o["/api/*"]!.statuses["503"]!, 200, 0.5)).toBe(true);
  expect(withinSigmas(o["/flaky"]!.faults.reset!, 200, 0.1)).toBe(true);
}, 60_000);

test("a routes file and the env take the same keys: status (a number or a list), delay, fault, size", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ringside-outcomes-"));
  const file = join(dir, "routes.json");
  writeFileSync(file, JSON.stringify([
    { path: "/j", status: "201,503@50%", size: 32, fault: "close@10%", delay: "0,1ms@10%" },
    { path: "/n", status: 202, delay: 5 },
  ]));
  await using s = await startServer(["--mode", "batch", "--rings", "1", "--admin-port", "0"], {
    RINGSIDE_ROUTES_FILE: file,
    RINGSIDE_ROUTES: "/e status=204,500@50% fault=hang@1%",
    RINGSIDE_STATUS: "200,429@1%",
    RINGSIDE_SIZE: "5-6",
    RINGSIDE_SEED: "1",
  });
  expect(s.startup.fields.seed).toBe("1");
  const j = await seen(s.port, "GET /j HTTP/1.0\r\n\r\n");
  // Seed 1 draws no fault for this first request.
  expect("text" in j && j.text).toMatch(/^HTTP\/1\.0 (201 Created|503 Service Unavailable)\r\nContent-type: text\/plain\r\nContent-length: 32\r\n\r\n.{32}$/s);
  const o = await scrapeOutcomes(s.startup.fields.admin!);
  await stopClean(s);
  expect(Object.fromEntries(Object.entries(o).map(([route, r]) => [route, [Object.keys(r.statuses).sort(), Object.keys(r.faults)]]))).toEqual({
    default: [["200", "429"], []],
    "/j": [["201", "503"], ["close"]],
    "/n": [["202"], []],
    "/e": [["204", "500"], ["hang"]],
  });
}, 30_000);
