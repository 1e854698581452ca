// Stopping and idling: SIGTERM/SIGINT drain without truncating anyone, as a
// child or as PID 1 with no TTY; an idle spin-mode server parks its threads.
// How long a stop takes and what idling costs are measured by the benchmark
// (bench/cost-phase.ts: "stop under load", "idle CPU").
import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { CLI, DEFAULT_RESPONSE, rawExchange, startServer, waitForStats } from "../lib/helpers.ts";
import { children, parseStartup, procStat, spawnCaptured, summaryCounters, tasks, waitFor, within } from "../lib/proc.ts";

/** Well under every drain timeout below: a server still running then waited for the timeout. */
const EXIT_DEADLINE_MS = 10_000;

type Outcome = "full" | "refused" | "truncated";

/** Clients that each loop: connect, GET, read to EOF, classify. */
function clientLoops(port: number, workers: number): { counts: Record<Outcome, number>; stop: () => Promise<Record<Outcome, number>> } {
  const counts: Record<Outcome, number> = { full: 0, refused: 0, truncated: 0 };
  let running = true;
  const one = async () => {
    while (running) {
      const r = await rawExchange(port, ["GET / HTTP/1.0\r\n\r\n"], { timeoutMs: 10_000 });
      if (r.text === DEFAULT_RESPONSE && r.end === "eof") counts.full++;
      else if (r.data.length === 0) {
        counts.refused++;
        // The server is gone or going: wait for the test to stop us rather than spin.
        await waitFor("the test to stop the clients", () => !running, EXIT_DEADLINE_MS).catch(() => undefined);
      } else counts.truncated++;
    }
  };
  const loops = Array.from({ length: workers }, one);
  return {
    counts,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return counts;
    },
  };
}

// The default (auto: batch, 2 rings here), and each mode with 2 rings.
const LAYOUTS = [[], ["--mode", "spin", "--rings", "2"], ["--mode", "sqpoll", "--rings", "2"], ["--mode", "batch", "--rings", "2"]];

describe.each(LAYOUTS.flatMap((layout) => (["SIGTERM", "SIGINT"] as const).map((signal) => [signal, layout.join(" ") || "default", layout] as const)))("%s during load (%s)", (signal, _name, layout) => {
  test("exit 0 long before the drain timeout, summary printed, no truncated response", async () => {
    await using s = await startServer([...layout, "--drain-timeout", "60s"]);
    const load = clientLoops(s.port, 16);
    await waitFor("200 responses under load", () => load.counts.full >= 200);
    // The drain ends when the last connection does, not at the timeout.
    const end = await within("the exit, well before the 60 s drain timeout", s.stop(signal), EXIT_DEADLINE_MS);
    const seen = await load.stop();
    console.log(`${signal}: clients saw ${JSON.stringify(seen)}`);
    expect(end.code).toBe(0);
    expect(end.stdout).toContain(`ringside: ${signal}: draining for up to 60000 ms`);
    const c = summaryCounters(end.stdout);
    expect(c.active).toBe(0);
    expect(c.requests).toBe(c.responses!);
    // Accepts still queued when the drain starts are cancelled, not failed.
    expect(c.accept_errors).toBe(0);
    expect(seen.truncated).toBe(0);
    expect(seen.full).toBeGreaterThan(100);
    expect(end.stderr).toBe("");
  });
});

test("SIGTERM while ab keeps 100 connections coming: queued accepts are cancelled, not counted as errors", async () => {
  await using s = await startServer(["--stats-interval", "0.1s"]);
  await using ab = Bun.spawn(["ab", "-q", "-r", "-n", "1000000", "-c", "100", "-s", "5", `${s.url}/`], { stdout: "ignore", stderr: "ignore" });
  await waitForStats(s, "ab is being served", (c) => c.requests! >= 1000);
  const end = await s.stop();
  ab.kill();
  const c = summaryCounters(end.stdout);
  expect(end.code).toBe(0);
  expect(c).toMatchObject({ active: 0, accept_errors: 0, recv_errors: 0, send_errors: 0 });
  expect(c.responses).toBe(c.requests!);
});

test("a client stuck mid-request does not hold the exit past the drain timeout", async () => {
  // The drain timeout (500 ms), not the header timeout (60 s), ends the stuck request.
  await using s = await startServer(["--drain-timeout", "500ms", "--header-timeout", "60s"]);
  const sock = connect({ host: "127.0.0.1", port: s.port });
  await new Promise((resolve) => sock.on("connect", resolve));
  sock.write("GET / HTTP/1.0\r\nHost: x\r\n"); // never finishes its header block
  sock.on("error", () => {});
  const end = await within("the exit, well before the 60 s header timeout", s.stop(), EXIT_DEADLINE_MS);
  sock.destroy();
  expect(end.code).toBe(0);
  expect(summaryCounters(end.stdout)).toMatchObject({ active: 0, requests: 0 });
});

test("as PID 1 with no TTY (a container's init), SIGTERM stops it with exit 0", async () => {
  // unshare --pid --fork makes bun PID 1 of a new PID namespace, as in a container.
  const child = spawnCaptured(["unshare", "--pid", "--fork", "--mount-proc", "bun", CLI, "--host", "127.0.0.1", "--port", "0"]);
  await using proc = child.proc;
  const startup = await waitFor("startup line", () => parseStartup(child.stdout()));
  expect(startup.fields.pid).toBe("1");
  const r = await rawExchange(startup.port, ["GET / HTTP/1.0\r\n\r\n"]);
  expect(r.text).toBe(DEFAULT_RESPONSE);
  // The namespace's PID 1 is unshare's only child.
  const [init] = children(proc.pid);
  process.kill(init!, "SIGTERM");
  expect(await child.done).toBe(0);
  expect(child.stdout()).toContain("ringside: stopped");
});

/** Scheduler state (R, S, ...) of the ring threads and the SQPOLL threads; "missing" without either. */
function threadStates(pid: number): string[] {
  const ring = tasks(pid).filter((t) => /^ringside-ring(-\d+)?$/.test(t.comm));
  const sq = tasks(pid).filter((t) => /^iou-sqp-\d+$/.test(t.comm));
  if (!ring.length || !sq.length) return ["missing"];
  return [...ring, ...sq].map((t) => procStat(pid, t.tid)?.state ?? "gone");
}

test("idle after load: spin mode parks its ring thread and its SQPOLL thread", async () => {
  await using s = await startServer(["--mode", "spin"]); // the defaults: 100 ms spin budget and SQPOLL idle
  await using wrk = Bun.spawn(["wrk", "-t1", "-c16", "-d2s", `${s.url}/`], { stdout: "ignore", stderr: "ignore" });
  expect(await wrk.exited).toBe(0);
  // Parked: the ring thread and the SQPOLL thread both asleep, not spinning.
  await waitFor("ring and SQPOLL threads to sleep", () => threadStates(s.proc.pid).every((st) => st === "S"));
  // And parked is not stuck: the next request wakes it.
  expect(await rawExchange(s.port, ["GET / HTTP/1.0\r\n\r\n"])).toMatchObject({ text: DEFAULT_RESPONSE, end: "eof" });
});
