// Half a CPU each: the cgroup CPU quota (test/cgroup.ts, as a container limit
// gives it) that the quota, budget, routes, weights, sizes and floor phases
// hold servers to, on CPU 1 (taskset), while wrk has CPU 0 to itself. With the
// client no longer the ceiling, req/s measures what a server does with the CPU
// it is given.
import { availableParallelism } from "node:os";
import { quotaUnavailable } from "../../test/lib/cgroup.ts";

/** The budget every server gets, in CPUs. */
export const QUOTA_CPUS = 0.5;
/** The server on CPU 1 in its quota, wrk on CPU 0 (a sweep row's placement). */
export const QUOTA_PLACE = { serverCpus: "1", clientCpus: "0", quotaCpus: QUOTA_CPUS } as const;

/** Why a phase that needs a quota cannot run here (no writable cgroup, one CPU), or undefined. */
export function quotaBlocker(): string | undefined {
  if (availableParallelism() < 2) return "it needs 2 CPUs (the server on CPU 1, wrk on CPU 0)";
  const why = quotaUnavailable();
  return why === undefined ? undefined : `no CPU quota can be made here: ${why}`;
}
