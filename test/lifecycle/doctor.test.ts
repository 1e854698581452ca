// --doctor on this host: what it reports and the exit code it gives.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT, runCli } from "../lib/helpers.ts";

test("--doctor reports kernel, io_uring, SQPOLL, ops and the mode it would pick", async () => {
  const r = await runCli(["--doctor"]);
  const report = Object.fromEntries(r.stdout.trimEnd().split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
  expect(Object.keys(report)).toEqual([
    "kernel", "kernel.io_uring_disabled", "seccomp", "cpus", "library", "io_uring_setup", "sqpoll", "defer_taskrun",
    "ops", "ops needed", "recommended mode", "configured mode",
  ]);
  expect(report.kernel).toMatch(/^\d+\.\d+/);
  expect(report["kernel.io_uring_disabled"]).toMatch(/^(0|1|2) \(|^absent/);
  // A checkout with a compiler runs what it builds from native/.
  expect(report.library).toBe(`${join(ROOT, "native", "build", "libringside.so")} (built from native/)`);
  expect(report.io_uring_setup).toMatch(/^(works|fails: E[A-Z]+)/);
  expect(report.cpus).toMatch(/^\d+ to run on \(affinity\), (no cgroup quota|cgroup quota [\d.]+): a budget of [\d.]+$/);
  expect(report["recommended mode"]).toMatch(/^(spin|batch), \d+ rings?: auto: |^(none|fallback): /);
  expect(report["configured mode"]).toMatch(/^(spin|batch), \d+ rings? \(auto: [^)]+\): (runs natively(, but (spin|batch) fits better)?|fails to start)$/);
  expect(r.code).toBe(report["configured mode"]!.includes("runs natively") ? 0 : 1);
  if (report.io_uring_setup!.startsWith("works")) {
    expect(report.ops).toMatch(/^\d+ of \d+: NOP /);
    expect(report["ops needed"]).toMatch(/^all present/);
  }
  const json = await runCli(["--doctor", "--mode", "sqpoll", "--rings", "1", "--log-format", "json"]);
  expect(JSON.parse(json.stdout)["configured mode"]).toMatch(/^sqpoll, 1 ring \(--mode and --rings as given\): /);
});
