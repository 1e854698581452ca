// What ringside says when the library will not load (src/serve/locate.ts) or
// io_uring is not there (src/lib/no-io-uring.ts), for the causes this machine
// cannot produce: the messages as the dynamic loader and /proc give them. The
// real ones run in test/deploy/package.test.ts (no liburing2, qemu-user) and
// test/lifecycle/fallback.test.ts (seccomp).
import { describe, expect, test } from "bun:test";
import { emulatedOn, noIoUring, type Facts } from "../../src/lib/no-io-uring.ts";
import { loadError } from "../../src/serve/locate.ts";

const PLATFORM = `${process.platform}-${process.arch}`;
const LIB = "/srv/node_modules/ringside/native/prebuilt/linux-x64/libringside.so";
const failed = (why: string): string => `Failed to open library "${LIB}": ${why}`;
const prebuilt = (why: string): string => loadError({ path: LIB, source: "prebuilt" }, failed(why)).message;

describe("a library that does not load: what to install", () => {
  test("liburing.so.2 missing", () => {
    expect(prebuilt("liburing.so.2: cannot open shared object file: No such file or directory")).toBe(
      `cannot load the prebuilt ${PLATFORM} library: liburing is not installed: apt-get install liburing2`,
    );
  });

  test("a liburing older than 2.2 (Ubuntu 22.04's 2.1)", () => {
    expect(prebuilt(`/lib/x86_64-linux-gnu/liburing.so.2: version \`LIBURING_2.2' not found (required by ${LIB})`)).toBe(
      `cannot load the prebuilt ${PLATFORM} library: this system's liburing is older than 2.2: run Debian 12, Ubuntu 24.04 or newer, or build from source (apt-get install gcc make liburing-dev)`,
    );
  });

  test("a glibc older than 2.34", () => {
    expect(prebuilt(`/lib/x86_64-linux-gnu/libc.so.6: version \`GLIBC_2.34' not found (required by ${LIB})`)).toBe(
      `cannot load the prebuilt ${PLATFORM} library: this system's glibc is older than 2.34: run Debian 12, Ubuntu 22.04 or newer, or build from source (apt-get install gcc make liburing-dev)`,
    );
  });

  test("anything else: the loader's words, a library built here named by its path", () => {
    const msg = loadError({ path: "/src/native/build/libringside.so", source: "built" }, 'Failed to open library "/src/native/build/libringside.so": /src/native/build/libringside.so: file too short').message;
    expect(msg).toBe("cannot load /src/native/build/libringside.so: /src/native/build/libringside.so: file too short (liburing.so.2 missing? apt-get install liburing2)");
  });
});

describe("io_uring_setup refused: the cause and the fix", () => {
  const host: Facts = { arch: "x64", disabled: "0", seccomp: "none" };

  test("ENOSYS under an emulator (qemu-user: arm64 Bun, an x86 /proc/cpuinfo)", () => {
    expect(noIoUring("ENOSYS", { ...host, arch: "arm64", emulatedOn: "x86_64", seccomp: "filtering" })).toEqual({
      code: "io_uring_missing",
      cause: "this arm64 Bun runs under an emulator (such as qemu-user) on an x86_64 CPU, and the emulator does not implement io_uring",
      fix: "run on a native arm64 host",
    });
  });

  test("ENOSYS natively, without a seccomp filter: a kernel without io_uring", () => {
    expect(noIoUring("ENOSYS", host)).toMatchObject({ code: "io_uring_missing", cause: expect.stringContaining("CONFIG_IO_URING") });
  });

  test("ENOSYS with a seccomp filter (podman's default answers ENOSYS): seccomp, deploy/seccomp.json", () => {
    const why = noIoUring("ENOSYS", { ...host, seccomp: "filtering" });
    expect(why).toMatchObject({ code: "io_uring_blocked", cause: expect.stringMatching(/^a seccomp profile blocks it/) });
    expect(why.fix).toContain("--security-opt seccomp=deploy/seccomp.json");
  });

  test("EPERM: kernel.io_uring_disabled first, then seccomp, else either", () => {
    expect(noIoUring("EPERM", { ...host, disabled: "2", seccomp: "filtering" })).toEqual({
      code: "io_uring_blocked",
      cause: "sysctl kernel.io_uring_disabled=2 disables io_uring for every process",
      fix: "set kernel.io_uring_disabled=0",
    });
    expect(noIoUring("EPERM", { ...host, seccomp: "filtering" }).cause).toMatch(/^a seccomp profile blocks it/);
    expect(noIoUring("EACCES", host).cause).toBe("a seccomp profile (Docker/containerd default) or sysctl kernel.io_uring_disabled blocks it");
  });

  test("an emulator is told by /proc/cpuinfo against the architecture Bun was built for", () => {
    const x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 lm";
    const arm = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU architecture: 8";
    expect([emulatedOn("arm64", x86), emulatedOn("x64", arm), emulatedOn("x64", x86), emulatedOn("arm64", arm), emulatedOn("arm64", "")]).toEqual([
      "x86_64", "aarch64", undefined, undefined, undefined,
    ]);
  });
});
