// The zero-syscall claim, checked with strace on the ringside-ring thread
// while real clients are served. Which calls the thread makes is behaviour
// and is asserted here; how many per request is a performance figure and is
// in the benchmark report (bench/cost.ts counts calls per request with perf
// and strace; the targets table holds spin < 0.01 and batch < 0.3).
import { expect, test } from "bun:test";
import { startServer } from "./helpers.ts";
import { findTask, spawnCaptured, summaryCounters, waitFor } from "./proc.ts";
import { parseStrace, type StraceTable } from "./strace.ts";

const REQUESTS = 20_000;

/** requests served so far, from the admin listener's /metrics (shared memory, no FFI call). */
async function liveRequests(admin: string): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  return Number(/^ringside_requests_total (\d+)$/m.exec(text)?.[1] ?? 0);
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

/** Attaches strace -c to the ring thread while wrk serves at least REQUESTS. */
async function syscallsDuring(args: string[]): Promise<StraceTable & { requests: number }> {
  await using s = await startServer([...args, "--admin-port", "0"]);
  const ring = await waitFor("the ring thread", () => findTask(s.proc.pid, "ringside-ring"));
  const out = `/tmp/ringside-strace-${ring.tid}.txt`;
  const strace = spawnCaptured(["strace", "-c", "-p", String(ring.tid), "-o", out]);
  {
    await using _strace = strace.proc;
    // strace says "attached" on stderr once it is tracing.
    await waitFor("strace to attach", () => /attached/.test(strace.stderr()));
    await serve(s.url, s.startup.fields.admin!);
    strace.proc.kill("SIGINT");
    await strace.done;
  }
  const stopped = await s.stop();
  expect(stopped.code).toBe(0);
  const c = summaryCounters(stopped.stdout);
  expect(c.requests).toBeGreaterThanOrEqual(REQUESTS);
  expect(c.requests).toBe(c.responses!);
  return { ...parseStrace(await Bun.file(out).text()), requests: c.requests! };
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

test("batch mode: the ring thread's one system call is io_uring_enter", async () => {
  // Batch mode submits and waits in io_uring_enter; every socket operation is an SQE.
  const r = await syscallsDuring(["--mode", "batch"]);
  console.log(`batch: ${r.total} syscalls on ringside-ring for ${r.requests} requests (${(r.total / r.requests).toFixed(2)} per request): ${JSON.stringify(r.byName)}`);
  expect(r.total).toBeGreaterThan(0);
  expect(names(r)).toEqual(["io_uring_enter"]);
}, 90_000);
