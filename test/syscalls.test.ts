// The zero-syscall claim, checked with strace on the ringside-ring thread
// while real clients are served. Prints the counts.
import { expect, test } from "bun:test";
import { startServer } from "./helpers.ts";
import { findTask, spawnCaptured, summaryCounters, waitFor } from "./proc.ts";
import { parseStrace } from "./strace.ts";

const REQUESTS = 20_000;

/** requests served so far, from the admin listener's /metrics (shared memory, no FFI call). */
async function liveRequests(admin: string): Promise<number> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  return Number(/^ringside_requests_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Attaches strace -c to the ring thread while wrk serves at least REQUESTS. */
async function syscallsDuring(args: string[]): Promise<{ syscalls: number; requests: number; table: string }> {
  const s = await startServer([...args, "--admin-port", "0"]);
  let table = "";
  let stopped: Awaited<ReturnType<typeof s.stop>>;
  try {
    const { tid } = await waitFor("the ring thread", () => findTask(s.proc.pid, "ringside-ring"));
    const out = `/tmp/ringside-strace-${tid}.txt`;
    const strace = spawnCaptured(["strace", "-c", "-p", String(tid), "-o", out]);
    await using _strace = strace.proc;
    // strace says "attached" on stderr once it is tracing.
    await waitFor("strace to attach", () => /attached/.test(strace.stderr()));
    // Close mode: every request is a new connection (accept, recv, send,
    // close). Rounds of wrk until the live counter passes REQUESTS, however
    // slow a busy 2-core machine makes them (bounded: 20 rounds of 2 s).
    const admin = s.startup.fields.admin!;
    for (let round = 0; round < 20 && (await liveRequests(admin)) < REQUESTS; round++) {
      await using wrk = Bun.spawn(["wrk", "-t1", "-c64", "-d2s", "-H", "Connection: close", `${s.url}/`], { stdout: "ignore", stderr: "ignore" });
      expect(await wrk.exited).toBe(0);
    }
    strace.proc.kill("SIGINT");
    await strace.done;
    table = await Bun.file(out).text();
  } finally {
    stopped = await s.stop();
  }
  expect(stopped.code).toBe(0);
  const c = summaryCounters(stopped.stdout);
  expect(c.requests).toBeGreaterThanOrEqual(REQUESTS);
  expect(c.requests).toBe(c.responses!);
  return { syscalls: parseStrace(table).total, requests: c.requests!, table };
}

test("spin mode: no system call on the ring thread while 20,000 requests are served", async () => {
  // Spinning forever and keeping the SQPOLL thread awake keep strace's window
  // free of the park/wake transitions at its edges; in between, serving
  // itself must make no syscall at all.
  const r = await syscallsDuring(["--mode", "spin", "--spin-budget", "forever", "--sq-idle", "60s"]);
  console.log(`spin (never parks): ${r.syscalls} syscalls on ringside-ring for ${r.requests} requests`);
  expect(r.table.trim() === "" || r.syscalls === 0 ? 0 : r.table).toBe(0);
}, 90_000);

test("spin mode with default settings: syscalls only at idle/busy transitions", async () => {
  const r = await syscallsDuring(["--mode", "spin"]);
  console.log(`spin (default budget): ${r.syscalls} syscalls on ringside-ring for ${r.requests} requests`);
  expect(r.syscalls).toBeLessThan(r.requests / 100);
}, 90_000);

test("batch mode: far fewer syscalls than requests", async () => {
  const r = await syscallsDuring(["--mode", "batch"]);
  console.log(`batch: ${r.syscalls} syscalls on ringside-ring for ${r.requests} requests (${(r.syscalls / r.requests).toFixed(2)} per request)`);
  expect(r.syscalls).toBeGreaterThan(0);
  expect(r.syscalls).toBeLessThan(r.requests / 2);
}, 90_000);
