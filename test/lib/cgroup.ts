// A CPU quota for one command, as a container or a Kubernetes limit gives
// it: a fresh cgroup (v1 cpu controller or v2 cpu.max) with the quota, and
// the command started inside it. Needs root; used by the auto-layout test and
// the benchmark's quota phase.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const V1 = "/sys/fs/cgroup/cpu";
const V2 = "/sys/fs/cgroup";
const PERIOD_US = 100_000;

export interface CpuQuota {
  /** The cgroup's directory. */
  dir: string;
  /** cmd, started inside the cgroup (a shell joins it, then execs cmd). */
  wrap(cmd: string[]): string[];
  /** Removes the cgroup; its processes must have exited. */
  remove(): void;
}

function writable(dir: string): boolean {
  try {
    const probe = join(dir, `ringside-probe-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

/** Why a quota cannot be made here, or undefined when it can. */
export function quotaUnavailable(): string | undefined {
  if (existsSync(join(V1, "cpu.cfs_quota_us"))) return writable(V1) ? undefined : `${V1} is not writable (not root?)`;
  if (!(readFileSync(join(V2, "cgroup.controllers"), "utf8").split(/\s+/).includes("cpu"))) return "no cgroup cpu controller";
  return writable(V2) ? undefined : `${V2} is not writable (not root?)`;
}

/** A new cgroup holding `cpus` CPUs' worth of time per period (0.5: half a CPU). */
export function cpuQuota(name: string, cpus: number): CpuQuota {
  const v1 = existsSync(join(V1, "cpu.cfs_quota_us"));
  const dir = join(v1 ? V1 : V2, `${name}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const quota = Math.round(cpus * PERIOD_US);
  if (v1) {
    writeFileSync(join(dir, "cpu.cfs_period_us"), String(PERIOD_US));
    writeFileSync(join(dir, "cpu.cfs_quota_us"), String(quota));
  } else {
    writeFileSync(join(V2, "cgroup.subtree_control"), "+cpu");
    writeFileSync(join(dir, "cpu.max"), `${quota} ${PERIOD_US}`);
  }
  const procs = join(dir, "cgroup.procs");
  return {
    dir,
    wrap: (cmd) => ["sh", "-c", `echo $$ > ${procs} && exec "$@"`, "sh", ...cmd],
    remove: () => rmdirSync(dir),
  };
}
