// arm64, as far as this x86_64 machine can take it: the C unit tests
// cross-built and run under qemu-user (ASan and UBSan; LeakSanitizer cannot
// run there), both prebuilt libraries from scripts/build-prebuilt.sh, and
// Bun's own arm64 binary under qemu-user loading the arm64 library and
// starting the server. qemu-user has no io_uring (io_uring_setup: ENOSYS), so
// the native start fails with one line that names the emulator, and --fallback
// serves through Bun.serve: nothing here claims the io_uring path ran on arm64.
// The package's arm64 library, installed from the tarball in the arm64 run
// base, is started under qemu-user by test/deploy/package.test.ts.
//
// Skips loudly when the cross tools, qemu or Bun's arm64 binary are missing
// (scripts/install-prerequisites.sh brings them); with RINGSIDE_REQUIRE_ARM64=1
// (CI) that is a failure instead. Self-contained on purpose: it starts the
// server through `bun run serve`, not a path under src/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const BUN_ARM64 = process.env.RINGSIDE_BUN_ARM64 ?? `/var/cache/ringside/bun-linux-aarch64-${Bun.version}/bin/bun`;
const EM_AARCH64 = 183; // ELF e_machine
const EM_X86_64 = 62;
/** What ringside says of io_uring under qemu-user on this x86_64 host (src/lib/no-io-uring.ts). */
const EMULATED = "this arm64 Bun runs under an emulator (such as qemu-user) on an x86_64 CPU, and the emulator does not implement io_uring";

/** What is missing to build and run arm64 code here, or undefined. */
function missing(): string | undefined {
  for (const tool of ["aarch64-linux-gnu-gcc", "qemu-aarch64-static", "make", "readelf"]) {
    if (!Bun.which(tool)) return `${tool} is not installed`;
  }
  if (!existsSync("/usr/lib/aarch64-linux-gnu/liburing.so")) return "liburing-dev:arm64 is not installed";
  if (!existsSync(BUN_ARM64)) return `Bun's arm64 binary is not at ${BUN_ARM64}`;
  return undefined;
}

const absent = missing();
if (absent) {
  const bar = "!".repeat(78);
  console.error(`\n${bar}\n!! SKIPPING the arm64 tests: ${absent}.\n!! Run scripts/install-prerequisites.sh as root. Nothing arm64 is tested on this machine.\n${bar}\n`);
  if (process.env.RINGSIDE_REQUIRE_ARM64 === "1") {
    test("the arm64 cross tools, qemu-user and Bun's arm64 binary are here (RINGSIDE_REQUIRE_ARM64=1)", () => {
      throw new Error(`cannot test arm64: ${absent}`);
    });
  }
}

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(cmd: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<Done> {
  await using proc = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

function elfMachine(path: string): number {
  const b = readFileSync(path);
  expect(b.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  return b.readUInt16LE(18);
}

const summary = (out: string): RegExpExecArray | null => /^(\d+) passed, (\d+) failed$/m.exec(out);

describe.skipIf(absent !== undefined)("arm64 under qemu-user", () => {
  const out = mkdtempSync(join(tmpdir(), "ringside-prebuilt-"));
  const lib = join(out, "linux-arm64", "libringside.so");
  // Bun's arm64 binary first on PATH: `bun run serve` starts `bun src/...` with it.
  const arm64Env = { PATH: `${join(BUN_ARM64, "..")}:${process.env.PATH}`, RINGSIDE_LIB: lib };
  let built: Done | undefined;

  beforeAll(async () => {
    built = await run(["scripts/build-prebuilt.sh"], { OUT: out });
  }, 180_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test("the C unit tests, cross-built for aarch64, pass under qemu-aarch64-static with ASan and UBSan", async () => {
    const r = await run(["make", "-s", "-C", "native", "test-arm64"], {}, 300_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(elfMachine(join(ROOT, "native", "build", "arm64", "test_native"))).toBe(EM_AARCH64);
    const arm = summary(r.stdout);
    expect(r.stderr).not.toMatch(/ERROR: AddressSanitizer|runtime error:/);
    // The same checks as the native run: no suite silently skipped on arm64.
    const native = summary((await run(["make", "-s", "-C", "native", "test"], {}, 300_000)).stdout);
    expect(Number(arm?.[1])).toBeGreaterThan(100);
    expect([arm?.[1], arm?.[2]]).toEqual([native?.[1], "0"]);
    console.log(`arm64 (qemu-user): ${arm?.[0]}`);
  }, 600_000);

  test("scripts/build-prebuilt.sh: linux-x64 and linux-arm64 libraries, each NEEDing the system's liburing.so.2", async () => {
    expect(built?.code, `${built?.stdout}${built?.stderr}`).toBe(0);
    for (const [platform, machine] of [["linux-x64", EM_X86_64], ["linux-arm64", EM_AARCH64]] as const) {
      const path = join(out, platform, "libringside.so");
      expect(elfMachine(path)).toBe(machine);
      const dyn = await run(["readelf", "-d", path]);
      expect(dyn.stdout).toMatch(/\(NEEDED\)\s+Shared library: \[liburing\.so\.2\]/);
      expect(dyn.stdout).not.toMatch(/\(NEEDED\).*\[liburing\.so\.2\.\d/); // the soname, not one release
    }
    expect(built?.stdout).toMatch(/linux-arm64\/libringside\.so: AArch64, \d+ bytes, needs liburing\.so\.2,libc\.so\.6/);
  });

  test("Bun arm64 loads the arm64 library; io_uring_setup is refused (ENOSYS): one line naming the emulator, exit 1", async () => {
    const r = await run([BUN_ARM64, "run", "--silent", "serve", "--port", "0", "--host", "127.0.0.1"], arm64Env, 60_000);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n").filter((l) => !l.startsWith('error: script "serve"'));
    expect(lines).toHaveLength(1);
    // "ring 0: io_uring_setup" comes from rs_start in the arm64 library: it was loaded and its ABI accepted.
    // Not seccomp, not the kernel: the emulator, named, and what to do instead.
    expect(lines[0]).toBe(`ringside: error: io_uring is unavailable (ring 0: io_uring_setup: Function not implemented): ${EMULATED}; run on a native arm64 host, or pass --fallback (RINGSIDE_FALLBACK=1) to serve through Bun.serve, degraded errno=ENOSYS`);
    console.log(`arm64 (qemu-user) without --fallback: ${lines[0]}`);
  }, 60_000);

  test("with --fallback it serves the canned response through Bun.serve, degraded, and stops on SIGTERM", async () => {
    await using proc = Bun.spawn([BUN_ARM64, "run", "--silent", "serve", "--port", "0", "--host", "127.0.0.1", "--fallback"], {
      cwd: ROOT, env: { ...process.env, ...arm64Env }, stdout: "pipe", stderr: "pipe",
    });
    const stdout = readLines(proc.stdout);
    const stderr = readLines(proc.stderr);
    const deadline = Date.now() + 60_000;
    let line: string | undefined;
    while (!(line = stdout.text().split("\n").find((l) => l.startsWith("ringside: listening ")))) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`no startup line: ${stdout.text()}${stderr.text()}`);
      await Bun.sleep(20);
    }
    // The server itself (pid= of the startup line, a child of `bun run`): killed here whatever happens.
    const pid = Number(/ pid=(\d+)$/.exec(line)?.[1]);
    try {
      expect(line).toMatch(/ mode=fallback .*degraded=io_uring_missing /);
      // Really the arm64 Bun, through qemu-user's binfmt interpreter.
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0");
      expect(cmdline[0]).toMatch(/qemu.*aarch64/);
      expect(cmdline[1]).toBe(BUN_ARM64);
      const port = Number(/ port=(\d+) /.exec(line)?.[1]);
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect([res.status, res.headers.get("content-type"), await res.text()]).toEqual([200, "text/html", "Have a nice day!\n"]);
      process.kill(pid, "SIGTERM");
      expect(await proc.exited).toBe(0);
    } finally {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await Promise.all([stdout.done, stderr.done]);
    expect(stderr.text().trimEnd().split("\n")).toEqual([expect.stringMatching(/^ringside: warn: io_uring is unavailable \(ring 0: io_uring_setup: Function not implemented\): this arm64 Bun runs under an emulator .*; serving through Bun\.serve instead \(--fallback\).* degraded=io_uring_missing$/)]);
    expect(stdout.text()).toMatch(/^ringside: stopped .*requests=1 /m);
    console.log(`arm64 (qemu-user) with --fallback: ${line}`);
  }, 90_000);
});

/** Collects a stream's text as it arrives. */
function readLines(stream: ReadableStream<Uint8Array>): { text: () => string; done: Promise<void> } {
  let text = "";
  const decoder = new TextDecoder();
  const done = (async () => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  })();
  return { text: () => text, done };
}
