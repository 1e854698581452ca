// Several rings, and the layout auto picks from the CPU budget: what
// `bun run serve` with no mode flag chooses under one CPU (taskset), under a
// cgroup quota of half a CPU, unrestricted, and on a (test-only) budget of 8
// CPUs; and that SIGTERM under load drains every ring.
import { describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { cpuQuota, quotaUnavailable } from "../lib/cgroup.ts";
import { CLI, DEFAULT_RESPONSE, rawExchange, startServer } from "../lib/helpers.ts";
import { parseStartup, runToEnd, spawnCaptured, statusField, summaryCounters, tasks, waitFor, type Captured } from "../lib/proc.ts";

const SERVE = ["bun", CLI, "--host", "127.0.0.1", "--port", "0"];

/** Starts cmd, waits for its startup line, checks it serves, stops it; the line. */
async function startupOf(cmd: string[], env: Record<string, string> = {}): Promise<string> {
  const child: Captured = spawnCaptured(cmd, { env });
  try {
    const start = await waitFor("the startup line", () => {
      if (child.proc.exitCode !== null) throw new Error(`exited ${child.proc.exitCode}: ${child.stderr()}`);
      return parseStartup(child.stdout());
    });
    expect((await rawExchange(start.port, ["GET / HTTP/1.0\r\n\r\n"])).text).toBe(DEFAULT_RESPONSE);
    child.proc.kill("SIGTERM");
    expect(await child.done).toBe(0);
    return start.line;
  } finally {
    child.proc.kill("SIGKILL");
    await child.done;
  }
}

/** How many CPUs a list like "0-1,4" names. */
const cpuCount = (list: string): number =>
  list.split(",").reduce((n, part) => {
    const [lo, hi = lo] = part.split("-").map(Number);
    return n + hi! - lo! + 1;
  }, 0);

const layout = (line: string): string => /mode=(\w+) rings=(\d+)/.exec(line)!.slice(1).join("/");

describe("--mode auto and --rings auto, from the CPU budget", () => {
  test("one CPU (taskset -c 0): batch, 1 ring, and the startup line says why", async () => {
    const line = await startupOf(["taskset", "-c", "0", ...SERVE]);
    expect(layout(line)).toBe("batch/1");
    expect(line).toContain(' auto="1 CPU, quota none; spin needs 3; 1 ring" ');
  });

  const noQuota = quotaUnavailable();
  test.skipIf(noQuota !== undefined)(`a cgroup quota of half a CPU: batch, 1 ring; the CPUs it may run on and the quota said apart${noQuota ? ` (skipped: ${noQuota})` : ""}`, async () => {
    // The server inherits this process's affinity: the quota must not be counted in it.
    const affinity = cpuCount(statusField(process.pid, "Cpus_allowed_list")!);
    const cpus = `${affinity} CPU${affinity === 1 ? "" : "s"}`;
    const quota = cpuQuota("ringside-test-quota", 0.5);
    try {
      const line = await startupOf(quota.wrap(SERVE));
      expect(layout(line)).toBe("batch/1");
      expect(line).toContain(` auto="${cpus}, quota 0.5; spin needs 3; 1 ring" `);
      const doctor = await runToEnd(quota.wrap(["bun", CLI, "--doctor"]));
      expect(doctor.stdout).toMatch(new RegExp(`^cpus: +${affinity} to run on \\(affinity\\), cgroup quota 0\\.50: a budget of 0\\.5$`, "m"));
      expect(doctor.stdout).toMatch(new RegExp(`^recommended mode: +batch, 1 ring: auto: ${cpus}, quota 0\\.5; spin needs 3; 1 ring$`, "m"));
      expect(doctor.stderr).toBe("");
    } finally {
      quota.remove();
    }
  });

  test("unrestricted: batch with one ring per CPU below 3 CPUs, spin with one ring per 2 CPUs from 3", async () => {
    const cpus = availableParallelism();
    const want = cpus < 3 ? `batch/${cpus}` : `spin/${Math.floor((cpus - 1) / 2)}`;
    expect(layout(await startupOf(SERVE))).toBe(want);
  });

  test("a budget of 8 CPUs (RINGSIDE_TEST_CPU_BUDGET, for tests only): spin, 3 rings", async () => {
    const line = await startupOf(SERVE, { RINGSIDE_TEST_CPU_BUDGET: "8" });
    expect(layout(line)).toBe("spin/3");
    expect(line).toContain("features=sqpoll");
  });

  test("an explicit --mode or --rings is never overridden", async () => {
    expect(layout(await startupOf([...SERVE, "--mode", "spin"], { RINGSIDE_TEST_CPU_BUDGET: "1" }))).toBe("spin/1");
    // 4 spin rings need 9 CPUs: with 8, the given 4 rings run in batch mode.
    expect(layout(await startupOf([...SERVE, "--rings", "4"], { RINGSIDE_TEST_CPU_BUDGET: "8" }))).toBe("batch/4");
    expect(layout(await startupOf([...SERVE, "--rings", "3"], { RINGSIDE_TEST_CPU_BUDGET: "8" }))).toBe("spin/3");
    const both = await startupOf([...SERVE, "--mode", "sqpoll", "--rings", "2"]);
    expect(layout(both)).toBe("sqpoll/2");
    expect(both).not.toContain(" auto=");
  });
});

test("2 rings: named ringside-ring-0 and -1, both accept, SIGTERM under load drains both, exit 0", async () => {
  const s = await startServer(["--mode", "batch", "--rings", "2", "--admin-port", "0"]);
  const names = tasks(s.proc.pid).map((t) => t.comm).filter((c) => c.startsWith("ringside-r")).sort();
  expect(names).toEqual(["ringside-ring-0", "ringside-ring-1"]);
  await using ab = Bun.spawn(["ab", "-q", "-r", "-n", "1000000", "-c", "64", "-s", "5", `${s.url}/`], { stdout: "ignore", stderr: "ignore" });
  const perRing = async (): Promise<number[]> => {
    const text = await (await fetch(`${s.startup.fields.admin}/metrics`)).text();
    return [0, 1].map((k) => Number(new RegExp(`^ringside_ring_accepted_total\\{ring="${k}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0));
  };
  await waitFor("both rings to accept under load", async () => (await perRing()).every((n) => n > 100));
  const end = await s.stop();
  ab.kill();
  expect(end.code).toBe(0);
  const c = summaryCounters(end.stdout);
  expect(c).toMatchObject({ active: 0, accept_errors: 0, recv_errors: 0, send_errors: 0 });
  expect(c.responses).toBe(c.requests!);
});
