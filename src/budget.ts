// The CPU budget this process is given, and the mode and ring count that fit
// it (--mode auto, --rings auto), as nginx's `worker_processes auto` fits the
// machine. The budget is the smaller of the CPUs it may run on
// (sched_getaffinity) and its cgroup's CPU quota (cgroup v2 cpu.max, v1
// cfs_quota_us/cfs_period_us, the tightest on the way to the root).
import { availableParallelism } from "node:os";
import { usageError } from "./errors.ts";

export type ModeName = "spin" | "sqpoll" | "batch";

export interface Budget {
  /** CPUs this process may run on. */
  affinity: number;
  /** The cgroup's quota in CPUs, if it has one. */
  quota?: number;
  /** What counts: the smaller of the two. */
  cpus: number;
  /** Set when RINGSIDE_TEST_CPU_BUDGET stood in for the real budget. */
  fake?: boolean;
}

async function read(path: string): Promise<string | undefined> {
  try {
    return (await Bun.file(path).text()).trim();
  } catch {
    return undefined;
  }
}

/** path below root, without the leading slash ("" for root itself); undefined outside it. */
function below(root: string, path: string): string | undefined {
  const r = root.endsWith("/") ? root : `${root}/`;
  if (path === root) return "";
  return path.startsWith(r) ? path.slice(r.length) : undefined;
}

interface Mount { root: string; point: string; fstype: string; options: string }

/** /proc/self/mountinfo's cgroup mounts. */
async function cgroupMounts(): Promise<Mount[]> {
  return ((await read("/proc/self/mountinfo")) ?? "").split("\n").flatMap((line) => {
    const [left, right] = line.split(" - ");
    const f = left?.split(" ") ?? [];
    const [fstype, , options] = right?.split(" ") ?? [];
    return fstype === "cgroup" || fstype === "cgroup2" ? [{ root: f[3]!, point: f[4]!, fstype, options: options ?? "" }] : [];
  });
}

/** The directories of this process's cgroup, from its own up to the mount's root. */
function cgroupDirs(mount: Mount, path: string): string[] {
  const dirs: string[] = [];
  let rel = below(mount.root, path) ?? ""; // outside the mount's view: its root is all we see
  for (;;) {
    dirs.push(rel ? `${mount.point}/${rel}` : mount.point);
    if (!rel) return dirs;
    rel = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
  }
}

async function quotaAt(mount: Mount, dir: string): Promise<number | undefined> {
  if (mount.fstype === "cgroup2") {
    const [max, period] = (await read(`${dir}/cpu.max`))?.split(/\s+/) ?? [];
    return max && max !== "max" ? Number(max) / Number(period) : undefined;
  }
  const [quota, period] = (await Promise.all([read(`${dir}/cpu.cfs_quota_us`), read(`${dir}/cpu.cfs_period_us`)])).map(Number);
  return quota! > 0 && period! > 0 ? quota! / period! : undefined;
}

/** The mount holding the cpu controller for this /proc/self/cgroup line. */
function cpuMount(mounts: Mount[], controllers: string): Mount | undefined {
  if (controllers === "") return mounts.find((m) => m.fstype === "cgroup2");
  if (!controllers.split(",").includes("cpu")) return undefined;
  return mounts.find((m) => m.fstype === "cgroup" && m.options.split(",").includes("cpu"));
}

/** The tightest CPU quota on this process's cgroup path, in CPUs. */
export async function cgroupQuota(): Promise<number | undefined> {
  const [mounts, cgroup] = await Promise.all([cgroupMounts(), read("/proc/self/cgroup")]);
  const reads: Array<Promise<number | undefined>> = [];
  for (const line of (cgroup ?? "").split("\n")) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    const mount = path === undefined ? undefined : cpuMount(mounts, controllers!);
    if (mount) reads.push(...cgroupDirs(mount, path!).map((dir) => quotaAt(mount, dir)));
  }
  const quotas = (await Promise.all(reads)).filter((q): q is number => q !== undefined);
  return quotas.length ? Math.min(...quotas) : undefined;
}

/** This process's CPU budget. RINGSIDE_TEST_CPU_BUDGET=N stands in for it:
 * for tests only, to see what a bigger machine would get. */
export async function readBudget(env: Record<string, string | undefined> = process.env): Promise<Budget> {
  const fake = env.RINGSIDE_TEST_CPU_BUDGET;
  if (fake) {
    const cpus = Number(fake);
    if (!(cpus > 0)) throw usageError(`RINGSIDE_TEST_CPU_BUDGET must be a positive number of CPUs, got '${fake}'`);
    return { affinity: Math.ceil(cpus), cpus, fake: true };
  }
  const affinity = availableParallelism();
  const quota = await cgroupQuota();
  return { affinity, quota, cpus: Math.min(affinity, quota ?? Infinity) };
}

export interface Layout {
  mode: ModeName;
  rings: number;
  /** Why, when either was chosen automatically ("" when both were given):
   * "2 CPUs, quota none; spin needs 3; 2 rings". */
  why: string;
}

/** CPUs one ring of this mode wants to itself. */
const CPUS_PER_RING: Record<ModeName, number> = { spin: 2, sqpoll: 1, batch: 1 };

/** Spin pays only where every spinning ring has two CPUs of its own (its
 * thread and its SQPOLL thread) and one is left for everything else. */
function ringsFor(mode: ModeName, cpus: number): number {
  const spare = mode === "batch" ? cpus : cpus - 1;
  return Math.max(1, Math.floor(spare / CPUS_PER_RING[mode]));
}

function describeBudget(b: Budget): string {
  const n = (x: number): string => String(Number(x.toFixed(2)));
  if (b.fake) return `${n(b.cpus)} CPUs (RINGSIDE_TEST_CPU_BUDGET)`;
  return `${b.affinity} CPU${b.affinity === 1 ? "" : "s"}, quota ${b.quota === undefined ? "none" : n(b.quota)}`;
}

/** The mode and ring count for this budget; a given --mode or --rings is kept. */
export function pickLayout(b: Budget, mode: ModeName | "auto", rings: number | "auto"): Layout {
  const spinNeeds = (r: number): number => 2 * r + 1;
  let chosen: ModeName;
  let why = "";
  if (mode === "auto") {
    const spinRings = rings === "auto" ? 1 : rings;
    chosen = b.cpus >= spinNeeds(spinRings) ? "spin" : "batch";
    why = chosen === "spin" ? `spin: ${spinNeeds(spinRings)} CPUs or more` : `spin needs ${spinNeeds(spinRings)}`;
  } else {
    chosen = mode;
  }
  const n = rings === "auto" ? ringsFor(chosen, b.cpus) : rings;
  if (rings === "auto") why = why ? `${why}; ${n} ring${n === 1 ? "" : "s"}` : `${n} ${chosen} ring${n === 1 ? "" : "s"}`;
  return { mode: chosen, rings: n, why: mode === "auto" || rings === "auto" ? `${describeBudget(b)}; ${why}` : "" };
}
