// The benchmark runs in a network namespace of its own: loopback only, no
// firewall rules, so no connection tracking. In the host's namespace the
// kernel tracks every loopback connection when any rule needs conntrack (a
// container runtime's NAT does), and close mode opens tens of thousands of
// connections a second: the table (nf_conntrack_max) fills within seconds,
// new SYNs are dropped, and wrk stalls on 1 s retries or hangs. That is the
// firewall's cost, not the servers'. Needs root, unshare and ip; without them
// the run stays where it is and the report says so.
import { existsSync } from "node:fs";

const MARK = "RINGSIDE_BENCH_NETNS";

/** True when this process already runs in the benchmark's own namespace. */
export const inOwnNetns = (): boolean => process.env[MARK] === "1";

/** Why the run cannot move into its own namespace, or undefined. */
export function netnsBlocker(): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  for (const tool of ["unshare", "ip"]) if (!Bun.which(tool)) return `no ${tool} (apt-get install util-linux iproute2)`;
  return undefined;
}

/** Runs this same command in a new network namespace with loopback up; its exit code. */
export async function rerunInOwnNetns(): Promise<number> {
  const cmd = [process.execPath, ...process.argv.slice(1)];
  const child = Bun.spawn(["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", ...cmd], {
    env: { ...process.env, [MARK]: "1" },
    stdio: ["inherit", "inherit", "inherit"],
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => child.kill(sig));
  return await child.exited;
}

/** A command that must reach the host's network (podman building the image): in the first process's namespace. */
export function hostNet(cmd: string[]): string[] {
  return inOwnNetns() && existsSync("/proc/1/ns/net") && Bun.which("nsenter") ? ["nsenter", "--net=/proc/1/ns/net", "--", ...cmd] : cmd;
}
