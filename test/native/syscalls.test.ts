// The zero-syscall claim, checked with strace on the ring threads while real
// clients are served. Which calls the thread makes is behaviour
// and is asserted here; how many per request is a performance figure and is
// in the benchmark report (bench/cost.ts counts calls per request with perf
// and strace; the targets table holds spin < 0.01 and batch < 0.3).
import { expect, test } from "bun:test";
import { startServer } from "../lib/helpers.ts";
import { spawnCaptured, summaryCounters, tasks, waitFor } from "../lib/proc.ts";
import { parseStrace, type StraceTable } from "../lib/strace.ts";

const REQUESTS = 20_000;

/** requests served so far, from the admin listener's /metrics (shared memory, no FFI call). */
async function liveRequests(admin: string): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  return Number(/^ringside_requests_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Requests each ring has served, from /metrics' per-ring series. */
async function ringRequests(admin: string, rings: number): Promise<number[]> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  return Array.from({ length: rings }, (_, k) => Number(new RegExp(`^ringside_ring_requests_total\\{ring="${k}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0));
}

/** Close mode: every request is a new connection (accept, recv, send, close).
 * Rounds of wrk until the live counter passes REQUESTS, however slow a busy
 * 2-core machine makes them (bounded: 20 rounds of 2 s). */
async function serve(url: string, admin: string): Promise<void> {
  for (let round = 0; round < 20 && (await liveRequests(admin)) < REQUESTS; round++) {
    await using wrk = Bun.spawn(["wrk", "-t1", "-c64", "-d2s", "-H", "Connection: close", `${url}/`], { stdout: "ignore", stderr: "ignore" });
    expect(await wrk.exited).toBe(0);
  }
}

/** Attaches strace -c to every ring thread while wrk serves at least REQUESTS. */
async function syscallsDuring(args: string[], rings = 1): Promise<StraceTable & { requests: number; perRing: number[]; counters: Record<string, number>; features: string }> {
  await using s = await startServer([...args, "--rings", String(rings), "--admin-port", "0"]);
  const perRing: number[] = [];
  const ringThreads = await waitFor(`${rings} ring threads`, () => {
    const found = tasks(s.proc.pid).filter((t) => t.comm.startsWith("ringside-r"));
    return found.length === rings && found;
  });
  const out = `/tmp/ringside-strace-${s.proc.pid}.txt`;
  const strace = spawnCaptured(["strace", "-c", ...ringThreads.flatMap((t) => ["-p", String(t.tid)]), "-o", out]);
  {
    await using _strace = strace.proc;
    // strace says "attached" on stderr once per thread it traces.
    await waitFor("strace to attach", () => (strace.stderr().match(/attached/g) ?? []).length >= rings);
    await serve(s.url, s.startup.fields.admin!);
    perRing.push(...(await ringRequests(s.startup.fields.admin!, rings)));
    strace.proc.kill("SIGINT");
    await strace.done;
  }
  const stopped = await s.stop();
  expect(stopped.code).toBe(0);
  const c = summaryCounters(stopped.stdout);
  expect(c.requests).toBeGreaterThanOrEqual(REQUESTS);
  // wrk closes its connections when it stops: a response still held back by
  // a delay then is cut, not sent; a fault is instead of a response.
  expect(c.requests).toBe(c.responses! + c.delayed_cut! + c.faults_reset! + c.faults_close! + c.faults_hang!);
  return { ...parseStrace(await Bun.file(out).text()), requests: c.requests!, perRing, counters: c, features: s.startup.fields.features ?? "" };
}

const names = (t: StraceTable): string[] => t.byName.map((x) => x.name).sort();

test("spin mode: no system call on the ring thread while 20,000 requests are served", async () => {
  // Spinning forever and keeping the SQPOLL thread awake keep strace's window
  // free of the park/wake transitions at its edges; in between, serving
  // itself must make no syscall at all.
  const r = await syscallsDuring(["--mode", "spin", "--spin-budget", "forever", "--sq-idle", "60s"]);
  console.log(`spin (never parks): ${r.total} syscalls on ringside-ring for ${r.requests} requests`);
  expect({ total: r.total, byName: r.byName }).toEqual({ total: 0, byName: [] });
}, 90_000);

test("spin mode with default settings: syscalls only at idle/busy transitions, none for I/O", async () => {
  // Parking and waking is an io_uring_enter wait; accept, recv, send and close
  // all go through the ring.
  const r = await syscallsDuring(["--mode", "spin"]);
  console.log(`spin (default budget): ${r.total} syscalls on ringside-ring for ${r.requests} requests: ${JSON.stringify(r.byName)}`);
  expect(names(r).filter((n) => n !== "io_uring_enter")).toEqual([]);
}, 90_000);

test("spin mode with 2 rings: no system call on either ring thread, both rings serve", async () => {
  const r = await syscallsDuring(["--mode", "spin", "--spin-budget", "forever", "--sq-idle", "60s"], 2);
  console.log(`spin, 2 rings (never park): ${r.total} syscalls on ringside-ring-0/1 for ${r.requests} requests (${r.perRing.join(" + ")})`);
  expect({ total: r.total, byName: r.byName }).toEqual({ total: 0, byName: [] });
  expect(r.perRing.every((n) => n > 0)).toBe(true);
}, 120_000);

test("spin mode with 16 routes and a delay: still no system call on the ring thread", async () => {
  // The delay is an io_uring timeout linked before each send: the kernel
  // times it, the ring thread never sleeps or enters for it.
  const routes = Array.from({ length: 15 }, (_, i) => ["--route", `/r${i}/*=200 body=r${i}`]).flat();
  const r = await syscallsDuring(["--mode", "spin", "--spin-budget", "forever", "--sq-idle", "60s", ...routes, "--route", "/=200 body=root delay=2ms"]);
  console.log(`spin with 16 routes and delay=2ms: ${r.total} syscalls on ringside-ring for ${r.requests} requests`);
  expect({ total: r.total, byName: r.byName }).toEqual({ total: 0, byName: [] });
}, 120_000);

test("spin mode with a weighted mix (statuses, delays, generated sizes, resets, closes, hangs): still no system call on the ring thread", async () => {
  // Replies put together at send time, delays on io_uring timeouts, and the
  // faults: a reset's SO_LINGER goes through the ring as a socket command.
  const mix = ["--status", "200,503@30%,429@5%", "--delay", "0,1ms@10%", "--size", "10-2000", "--fault", "reset@2%,close@2%,hang@1%", "--header-timeout", "1s"];
  const r = await syscallsDuring(["--mode", "spin", "--spin-budget", "forever", "--sq-idle", "60s", ...mix]);
  console.log(`spin with a weighted mix: ${r.total} syscalls on ringside-ring for ${r.requests} requests: ${JSON.stringify(r.counters)}`);
  expect(r.features.split(",")).toContain("sock_cmd");
  expect(r.counters.faults_reset! * r.counters.faults_close! * r.counters.faults_hang! * r.counters.delayed!).toBeGreaterThan(0);
  expect({ total: r.total, byName: r.byName }).toEqual({ total: 0, byName: [] });
}, 120_000);

test("batch mode: the ring thread's one system call is io_uring_enter", async () => {
  // Batch mode submits and waits in io_uring_enter; every socket operation is an SQE.
  const r = await syscallsDuring(["--mode", "batch"]);
  console.log(`batch: ${r.total} syscalls on ringside-ring for ${r.requests} requests (${(r.total / r.requests).toFixed(2)} per request): ${JSON.stringify(r.byName)}`);
  expect(r.total).toBeGreaterThan(0);
  expect(names(r)).toEqual(["io_uring_enter"]);
}, 90_000);
