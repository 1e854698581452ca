// Why io_uring_setup fails here and what lifts it: one answer for a failed
// start (serve/start.ts) and --doctor (commands/doctor.ts). EPERM and EACCES
// mean a policy refuses io_uring (sysctl kernel.io_uring_disabled, a seccomp
// profile); ENOSYS means nothing implements it: an emulator such as qemu-user
// (which answers io_uring_setup itself), or a kernel built without it. podman's
// default seccomp profile answers ENOSYS too, so a filter is checked for.
import { nodeFs } from "./node.ts";

export function readTrimmed(path: string): string | undefined {
  try {
    return nodeFs().readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

export interface Seccomp {
  mode: "none" | "strict" | "filtering" | "unknown";
  filters?: string;
}

export function seccomp(status = readTrimmed("/proc/self/status") ?? ""): Seccomp {
  const mode = /^Seccomp:\s*(\d)/m.exec(status)?.[1];
  const filters = /^Seccomp_filters:\s*(\d+)/m.exec(status)?.[1];
  return { mode: mode === "2" ? "filtering" : mode === "1" ? "strict" : mode === "0" ? "none" : "unknown", filters };
}

const MACHINE: Record<string, string> = { x64: "x86_64", arm64: "aarch64" };

/** The CPU under an emulator running this process ("x86_64" for an arm64 Bun
 * on an x86_64 host), or undefined when it runs natively. qemu-user passes the
 * host's /proc/cpuinfo through and reports the guest's architecture everywhere else. */
export function emulatedOn(arch: string = process.arch, cpuinfo = readTrimmed("/proc/cpuinfo") ?? ""): string | undefined {
  const host = /^vendor_id\s*:/m.test(cpuinfo) ? "x86_64" : /^CPU implementer\s*:/m.test(cpuinfo) ? "aarch64" : undefined;
  const own = MACHINE[arch];
  return host && own && host !== own ? host : undefined;
}

/** What decides the answer, read from /proc (passed in by tests). */
export interface Facts {
  arch: string;
  /** kernel.io_uring_disabled, absent before Linux 6.6. */
  disabled?: string;
  seccomp: Seccomp["mode"];
  emulatedOn?: string;
}

export const readFacts = (): Facts => ({
  arch: process.arch,
  disabled: readTrimmed("/proc/sys/kernel/io_uring_disabled"),
  seccomp: seccomp().mode,
  emulatedOn: emulatedOn(),
});

export interface NoIoUring {
  /** blocked: a policy here refuses it; missing: nothing here implements it. Also the fallback's degraded reason. */
  code: "io_uring_blocked" | "io_uring_missing";
  /** What stops io_uring, as a clause. */
  cause: string;
  /** How to get it without the fallback. */
  fix: string;
}

const IN_A_CONTAINER = "in a container run with deploy/seccomp.json (--security-opt seccomp=deploy/seccomp.json; Kubernetes: a Localhost seccompProfile)";

export function noIoUring(errno: string, f: Facts = readFacts()): NoIoUring {
  if (errno === "ENOSYS" && f.emulatedOn) {
    return {
      code: "io_uring_missing",
      cause: `this ${f.arch} Bun runs under an emulator (such as qemu-user) on an ${f.emulatedOn} CPU, and the emulator does not implement io_uring`,
      fix: `run on a native ${f.arch} host`,
    };
  }
  if (errno !== "ENOSYS" && (f.disabled === "1" || f.disabled === "2")) {
    const who = f.disabled === "2" ? "disables io_uring for every process" : "allows io_uring only to kernel.io_uring_group and CAP_SYS_ADMIN";
    return { code: "io_uring_blocked", cause: `sysctl kernel.io_uring_disabled=${f.disabled} ${who}`, fix: "set kernel.io_uring_disabled=0" };
  }
  if (f.seccomp === "filtering") {
    return {
      code: "io_uring_blocked",
      cause: "a seccomp profile blocks it (the defaults of Docker, containerd and podman do)",
      fix: `allow io_uring_setup, io_uring_enter and io_uring_register; ${IN_A_CONTAINER}`,
    };
  }
  if (errno === "ENOSYS") {
    return { code: "io_uring_missing", cause: "this kernel does not implement io_uring (built without CONFIG_IO_URING)", fix: "run on a kernel with io_uring (Linux 6.1 or newer)" };
  }
  return {
    code: "io_uring_blocked",
    cause: "a seccomp profile (Docker/containerd default) or sysctl kernel.io_uring_disabled blocks it",
    fix: `allow io_uring_setup/io_uring_enter/io_uring_register or set kernel.io_uring_disabled=0; ${IN_A_CONTAINER}`,
  };
}
