// The CPU budget this process is given: the smaller of the CPUs it may run
// on (sched_getaffinity) and its cgroup's CPU quota (cgroup v2 cpu.max, v1
// cfs_quota_us/cfs_period_us, the tightest on the way to the root).
// layout.ts fits the mode and the rings to it.
import { usageError } from "../lib/errors.ts";
import { nodeOs } from "../lib/node.ts";
import { readText } from "../lib/read-text.ts";

export interface Budget {
  /** CPUs this process may run on (its affinity mask). */
  affinity: number;
  /** The cgroup's quota in CPUs, if it has one. */
  quota?: number;
  /** What counts: the smaller of the two. */
  cpus: number;
  /** Set when RINGSIDE_TEST_CPU_BUDGET stood in for the real budget. */
  fake?: boolean;
}

async function read(path: string): Promise<string | undefined> {
  return (await readText(path))?.trim();
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

/** How many CPUs a list like "0-3,8" names. */
function countCpus(list: string): number {
  return list.split(",").reduce((n, part) => {
    const [lo, hi = lo] = part.split("-").map(Number);
    return n + hi! - lo! + 1;
  }, 0);
}

/** The CPUs this process may run on: its affinity mask as the kernel keeps
 * it (sched_getaffinity), from /proc. Not availableParallelism(): Bun folds
 * the cgroup quota into that, which would count the quota twice and call it
 * affinity. Without /proc, that is the best there is. */
async function affinityCpus(): Promise<number> {
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec((await read("/proc/self/status")) ?? "")?.[1];
  const n = list ? countCpus(list) : NaN;
  return n > 0 ? n : nodeOs().availableParallelism();
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
  const [affinity, quota] = await Promise.all([affinityCpus(), cgroupQuota()]);
  return { affinity, quota, cpus: Math.min(affinity, quota ?? Infinity) };
}
