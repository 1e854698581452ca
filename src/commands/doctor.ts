// `--doctor`: can io_uring run here, and which mode would ringside pick?
// Prints kernel version, kernel.io_uring_disabled, seccomp, CPUs, the library
// it loaded, whether
// io_uring_setup and SQPOLL work (rs_probe in native/probe.c), the opcodes
// io_uring_get_probe reports against the ones the server submits, and the
// mode with the reason. Exit 0 when the configured mode would run natively,
// 1 when it would not.
import type { Config } from "../config/config.ts";
import { readBudget, type Budget } from "../config/cpu-budget.ts";
import type { ModeName } from "../config/flags.ts";
import { pickLayout } from "../config/layout.ts";
import { out } from "../lib/log.ts";
import { nodeOs } from "../lib/node.ts";
import { noIoUring, readTrimmed, seccomp } from "../lib/no-io-uring.ts";
import { abiDescription, libraryFound, probe as probeRing, type Probe } from "../serve/native.ts";

const IORING_SETUP_SQPOLL = 1 << 1;
const IORING_SETUP_SINGLE_ISSUER = 1 << 12;
const IORING_SETUP_DEFER_TASKRUN = 1 << 13;

/** A probe, with the line --doctor prints for it. */
interface Probed {
  ok: boolean;
  detail: string;
  probe: Probe;
}

function probe(flags: number): Probed {
  const p = probeRing(flags);
  if (!p.ok) return { ok: false, detail: `fails: ${p.errno}`, probe: p };
  return { ok: true, detail: `works (IORING_FEAT_* 0x${p.kernelFeatures.toString(16)})`, probe: p };
}

function ioUringDisabled(): string {
  const v = readTrimmed("/proc/sys/kernel/io_uring_disabled");
  if (v === undefined) return "absent (kernel before 6.6 has no such switch)";
  const meaning: Record<string, string> = {
    "0": "io_uring allowed for every process",
    "1": `only for members of kernel.io_uring_group (${readTrimmed("/proc/sys/kernel/io_uring_group") ?? "?"}) or CAP_SYS_ADMIN`,
    "2": "io_uring disabled for every process: sysctl kernel.io_uring_disabled=0 to allow it",
  };
  return `${v} (${meaning[v] ?? "unknown value"})`;
}

function seccompLine(): string {
  const s = seccomp();
  return s.mode === "filtering" ? `filtering (${s.filters ?? "?"} filter(s))` : s.mode;
}

function libraryLine(): string {
  const found = libraryFound();
  if (!found) return "not loaded";
  const how = { RINGSIDE_LIB: "RINGSIDE_LIB", built: "built from native/", prebuilt: `prebuilt for ${process.platform}-${process.arch}` }[found.source];
  return `${found.path} (${how})`;
}

interface Pick {
  mode: ModeName | "fallback" | "none";
  rings?: number;
  why: string;
}

function recommend(setup: Probed, sqpoll: Probed, budget: Budget, fallback: boolean): Pick {
  if (!setup.probe.ok) {
    const no = noIoUring(setup.probe.errno);
    const why = `io_uring_setup ${setup.detail}: ${no.cause}`;
    return fallback ? { mode: "fallback", why: `${why}; --fallback serves through Bun.serve, degraded` } : { mode: "none", why: `${why}; ${no.fix}, or pass --fallback` };
  }
  const auto = pickLayout(budget, sqpoll.ok ? "auto" : "batch", "auto");
  return { mode: auto.mode, rings: auto.rings, why: sqpoll.ok ? `auto: ${auto.why}` : `SQPOLL ${sqpoll.detail}: batch needs no SQPOLL thread; ${auto.why}` };
}

function budgetLine(b: Budget): string {
  const quota = b.quota === undefined ? "no cgroup quota" : `cgroup quota ${b.quota.toFixed(2)}`;
  return `${b.affinity} to run on (affinity), ${quota}: a budget of ${Number(b.cpus.toFixed(2))}${b.fake ? " (RINGSIDE_TEST_CPU_BUDGET)" : ""}`;
}

function opsLine(p: Probe): string {
  if (!p.ok) return "unknown (no ring)";
  if (!p.known) return "unknown (io_uring_register blocked or kernel before 5.6)";
  return `${p.supported.length} of ${p.known}: ${p.supported.join(" ")}`;
}

function neededLine(p: Probe): string {
  if (!p.ok || !p.known) return "unknown";
  const used = abiDescription().ops_used;
  const missing = used.filter((op) => !p.supported.includes(op));
  return missing.length ? `MISSING ${missing.join(" ")} (kernel too old for ringside)` : `all present (${used.join(" ")})`;
}

export async function doctor(cfg: Config): Promise<number> {
  const report: Array<[string, string]> = [
    ["kernel", nodeOs().release()],
    ["kernel.io_uring_disabled", ioUringDisabled()],
    ["seccomp", seccompLine()],
  ];
  const budget = await readBudget();
  report.push(["cpus", budgetLine(budget)]);
  const setup = probe(0);
  report.push(["library", libraryLine()]);
  const sqpoll = setup.ok ? probe(IORING_SETUP_SQPOLL) : setup;
  const deferred = setup.ok ? probe(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) : setup;
  report.push(["io_uring_setup", setup.detail], ["sqpoll", sqpoll.detail], ["defer_taskrun", deferred.detail]);
  report.push(["ops", opsLine(setup.probe)], ["ops needed", neededLine(setup.probe)]);
  const pick = recommend(setup, sqpoll, budget, cfg.values.fallback);
  const { mode, rings: ringCount, why } = cfg.layout;
  const runs = setup.ok && (mode === "batch" || sqpoll.ok);
  const rings = (n?: number): string => (n ? `, ${n} ring${n === 1 ? "" : "s"}` : "");
  report.push(["recommended mode", `${pick.mode}${rings(pick.rings)}: ${pick.why}`]);
  const advice = runs && pick.mode !== mode ? `, but ${pick.mode} fits better` : "";
  const outcome = runs ? `runs natively${advice}` : cfg.values.fallback ? "falls back to Bun.serve (degraded)" : "fails to start";
  const how = why ? `auto: ${why}` : "--mode and --rings as given";
  report.push(["configured mode", `${mode}${rings(ringCount)} (${how}): ${outcome}`]);
  if (cfg.values["log-format"] === "json") {
    out(JSON.stringify(Object.fromEntries(report)));
  } else {
    const width = Math.max(...report.map(([k]) => k.length));
    out(report.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join("\n"));
  }
  return runs ? 0 : 1;
}
