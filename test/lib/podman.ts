// podman as the container tests run it: Debian's podman as root, on runc with
// cgroupfs (crun rejects hybrid cgroups here, and there is no systemd), limits
// it can set, and whether it can run a container at all.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runToEnd, softLimit, type Finished } from "./proc.ts";

export const PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"];

export const podman = (args: string[], timeoutMs = 60_000): Promise<Finished> => runToEnd([...PODMAN, ...args], { timeoutMs });

/** --ulimit at or under this process's soft limits (podman fails to raise them). */
function ulimits(): string[] {
  const nofile = Math.min(softLimit("Max open files"), 65536);
  const nproc = Math.min(softLimit("Max processes"), 4096);
  return ["--ulimit", `nofile=${nofile}:${nofile}`, "--ulimit", `nproc=${nproc}:${nproc}`];
}
export const ULIMITS = ulimits();

/** Why podman cannot run a container here, or undefined if it can. Uses a
 * root filesystem of /usr/bin/true and its libraries: no image needed. */
export async function podmanUnavailable(): Promise<string | undefined> {
  if (!Bun.which("podman")) return "podman is not installed (apt-get install podman runc)";
  const rootfs = mkdtempSync(join(tmpdir(), "ringside-probe-"));
  try {
    const ldd = await runToEnd(["ldd", "/usr/bin/true"]);
    for (const file of ["/usr/bin/true", ...(ldd.stdout.match(/\/\S+/g) ?? [])]) {
      mkdirSync(join(rootfs, dirname(file)), { recursive: true });
      cpSync(file, join(rootfs, file), { dereference: true });
    }
    const r = await podman(["run", "--rm", ...ULIMITS, "--network=none", "--rootfs", rootfs, "/usr/bin/true"]);
    return r.code === 0 ? undefined : `podman run exits ${r.code}: ${r.stderr.trim().split("\n").at(-1)}`;
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}
