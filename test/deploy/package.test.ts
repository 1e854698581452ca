// The npm package as a user gets it. `npm pack` (whose prepack builds both
// prebuilt libraries) makes the tarball; it is installed into containers from
// the local run base (deploy/build-base-image.sh IMAGES=run: Bun and liburing2,
// no compiler, make or headers), as `bun add ./ringside-*.tgz` + `bunx ringside`
// and as `bun add -g` + `ringside`, and served to curl on the host (the
// containers share the host's network). The run base has no `bunx` link (Bun's
// installers make one to bun): each container gets `ln -s bun /usr/local/bin/bunx`.
// Installs point Bun at a registry that does not answer: nothing is fetched.
// Then the same tarball in the arm64 run base under qemu-user (the emulator's
// line; the fallback serves), and in a run base without liburing2.
//
// Cost (2 cores): ~12 s of npm pack (both libraries rebuilt), a few seconds a
// container, ~20 s for the emulated one; cold, each run base's mmdebstrap
// (~6.5 min). Skips loudly without podman or the arm64 tools; RINGSIDE_REQUIRE_CONTAINER=1
// and RINGSIDE_REQUIRE_ARM64=1 (CI) make that a failure.
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_RESPONSE, ROOT } from "../lib/helpers.ts";
import { podman, podmanUnavailable, PODMAN, ULIMITS } from "../lib/podman.ts";
import { parseStartup, runToEnd, spawnCaptured, summaryCounters, waitFor, within, type Finished } from "../lib/proc.ts";

const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const TGZ = `ringside-${VERSION}.tgz`;
const SECCOMP = join(ROOT, "deploy", "seccomp.json");
const NAME = `ringside-package-${process.pid}`;
// A registry that refuses connections: an install that tried to fetch would fail.
const OFFLINE = "BUN_CONFIG_REGISTRY=http://127.0.0.1:9/";
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function missing(): string | undefined {
  if (!Bun.which("npm")) return "npm is not installed";
  for (const tool of ["aarch64-linux-gnu-gcc", "mmdebstrap", "curl"]) if (!Bun.which(tool)) return `${tool} is not installed (scripts/install-prerequisites.sh)`;
  if (!existsSync("/proc/sys/fs/binfmt_misc/qemu-aarch64")) return "no qemu-aarch64 binfmt entry (qemu-user-static, binfmt-support)";
  return undefined;
}

const absent = (await podmanUnavailable()) ?? missing();
if (absent) {
  const bar = "!".repeat(78);
  console.error(`\n${bar}\n!! SKIPPING the package tests: ${absent}.\n!! The npm tarball is NOT tested on this machine.\n${bar}\n`);
  if (process.env.RINGSIDE_REQUIRE_CONTAINER === "1" || process.env.RINGSIDE_REQUIRE_ARM64 === "1") {
    test("podman, npm, the arm64 cross tools and qemu-user are here (RINGSIDE_REQUIRE_CONTAINER/ARM64=1)", () => {
      throw new Error(`cannot test the package: ${absent}`);
    });
  }
}

const packDir = mkdtempSync(join(tmpdir(), "ringside-pack-"));
const containers: string[] = [];
let packed = false;
const bases: Record<string, string> = {};
let buildBase = "";

afterAll(async () => {
  if (containers.length) await podman(["rm", "-f", "-t", "0", ...containers]);
  rmSync(packDir, { recursive: true, force: true });
});

function requirePack(): void {
  if (!packed) throw new Error("no tarball: see the npm pack test's failure");
}

/** An idling container of `image` (the run base for `arch` by default), the
 * tarball's folder at /pkg, on the host's network, with deploy/seccomp.json. */
async function box(suffix: string, arch: "amd64" | "arm64", image = bases[arch], extra: string[] = []): Promise<string> {
  requirePack();
  if (!image) throw new Error(`no ${arch} base: see the bases test's failure`);
  const name = `${NAME}-${suffix}`;
  containers.push(name);
  const r = await podman([
    "run", "-d", "--name", name, "--platform", `linux/${arch}`, "--network", "host", ...ULIMITS,
    "--security-opt", `seccomp=${SECCOMP}`, "-v", `${packDir}:/pkg:ro`, ...extra, image, "sleep", "infinity",
  ]);
  expect(r.code, r.stderr).toBe(0);
  return name;
}

const sh = (name: string, script: string, env: string[] = [], timeoutMs = 60_000): Promise<Finished> =>
  podman(["exec", ...env.flatMap((e) => ["-e", e]), name, "sh", "-c", script], timeoutMs);

/** No compiler, make or liburing headers in the container. */
async function expectNoToolchain(name: string): Promise<void> {
  const r = await sh(name, "for t in cc gcc make; do command -v $t; done; test -e /usr/include/liburing.h && echo liburing.h; true");
  expect([r.code, r.stdout, r.stderr]).toEqual([0, "", ""]);
}

/** `bun add ./TGZ` into an empty /app, offline; asserts what Bun says. */
async function installInto(name: string, global = false): Promise<void> {
  const r = await sh(name, `mkdir -p /app && cd /app && cp /pkg/${TGZ} . && env ${OFFLINE} bun add ${global ? "-g " : ""}./${TGZ}`, [], 120_000);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(`installed ringside@`);
  expect(r.stdout).toContain(" - ringside\n");
}

interface Served {
  startup: string;
  curl: Finished;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` in /app (its pid in /tmp/server.pid), waits for the startup
 * line, curls the server from the host, SIGTERMs that pid and collects it all. */
async function serve(name: string, command: string, env: string[] = [], startMs = 30_000): Promise<Served> {
  const child = spawnCaptured([...PODMAN, "exec", ...env.flatMap((e) => ["-e", e]), "-w", "/app", name, "sh", "-c", `echo $$ > /tmp/server.pid; exec ${command}`]);
  try {
    const startup = await waitFor("the startup line", () => {
      const s = parseStartup(child.stdout());
      if (!s && child.proc.exitCode !== null) throw new Error(`exited ${child.proc.exitCode}: ${child.stdout()}${child.stderr()}`);
      return s;
    }, startMs, 20);
    const curl = await runToEnd(["curl", "-sS", "-i", `http://127.0.0.1:${startup.port}/`], { timeoutMs: 10_000 });
    const kill = await sh(name, 'kill -TERM "$(cat /tmp/server.pid)"');
    expect(kill.code, kill.stderr).toBe(0);
    const code = await within("the server to exit after SIGTERM", child.done, 30_000);
    return { startup: startup.line, curl, code, stdout: child.stdout(), stderr: child.stderr() };
  } finally {
    if (child.proc.exitCode === null) child.proc.kill("SIGKILL");
  }
}

/** Served the canned bytes, drained, printed the summary, exit 0, nothing on stderr. */
function expectCleanServe(s: Served): void {
  expect([s.curl.code, s.curl.stdout, s.curl.stderr]).toEqual([0, DEFAULT_RESPONSE, ""]);
  expect([s.code, s.stderr]).toEqual([0, ""]);
  const lines = s.stdout.trimEnd().split("\n");
  expect(lines).toEqual([s.startup, expect.stringMatching(/^ringside: SIGTERM: draining for up to 5000 ms /), expect.stringMatching(/^ringside: stopped accepted=1 /)]);
  expect(summaryCounters(s.stdout)).toMatchObject({ requests: 1, responses: 1 });
}

/** Which library --doctor says it loaded, and its exit code. */
async function doctorLibrary(name: string, command: string, env: string[] = []): Promise<[number | null, string | undefined]> {
  const r = await sh(name, `cd /app && ${command} --doctor`, env);
  return [r.code, /^library: +(.*)$/m.exec(r.stdout)?.[1]];
}

describe.skipIf(absent !== undefined)("the npm package", () => {
  test("npm pack: its prepack builds both libraries; the tarball holds them, src/ and native/'s sources, nothing else", async () => {
    const r = await runToEnd(["npm", "pack", "--pack-destination", packDir], { cwd: ROOT, timeoutMs: 300_000 });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout.trim().split("\n").at(-1)).toBe(TGZ);
    expect(r.stdout + r.stderr).toMatch(/linux-arm64\/libringside\.so: AArch64, \d+ bytes, needs liburing\.so\.2,libc\.so\.6 \(at least GLIBC_2\.34, LIBURING_2\.2\)/);
    const list = await runToEnd(["tar", "tzf", join(packDir, TGZ)]);
    const files = list.stdout.trim().split("\n").map((f) => f.replace(/^package\//, "")).sort();
    const sources = ["src/**/*", "native/*.{c,h}"].flatMap((p) => [...new Bun.Glob(p).scanSync({ cwd: ROOT })]);
    const shipped = [...sources, "native/Makefile", "package.json", "README.md", "native/prebuilt/linux-x64/libringside.so", "native/prebuilt/linux-arm64/libringside.so"];
    expect(files).toEqual(shipped.sort());
    // bun pm pack ships the same files (package.json's `files` decides for both).
    const bunList = await runToEnd(["bun", "pm", "pack", "--dry-run", "--ignore-scripts"], { cwd: ROOT });
    expect([...bunList.stdout.matchAll(/^packed \S+ (\S+)$/gm)].map((m) => m[1]!).sort()).toEqual(files);
    const pkg = JSON.parse((await runToEnd(["tar", "xzOf", join(packDir, TGZ), "package/package.json"])).stdout) as Record<string, unknown>;
    expect(pkg.private).toBeUndefined();
    expect([pkg.bin, pkg.os, pkg.cpu, pkg.engines]).toEqual([{ ringside: "src/cli.ts" }, ["linux"], ["x64", "arm64"], { bun: ">=1.4" }]);
    packed = true;
    console.log(`${TGZ}: ${files.length} files, ${Bun.file(join(packDir, TGZ)).size} bytes`);
  }, 300_000);

  test("the bases: amd64's run and build, arm64's run (deploy/build-base-image.sh)", async () => {
    for (const [arch, images] of [["amd64", "run build"], ["arm64", "run"]] as const) {
      const r = await runToEnd([join(ROOT, "deploy", "build-base-image.sh")], { env: { ARCH: arch, IMAGES: images }, timeoutMs: 25 * 60_000 });
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      bases[arch] = /^BASE=(.*)$/m.exec(r.stdout)?.[1] ?? "";
      expect(bases[arch]).toMatch(new RegExp(`^localhost/ringside-base:run-${arch}-`));
      if (arch === "amd64") buildBase = /^BUILD_BASE=(.*)$/m.exec(r.stdout)?.[1] ?? "";
    }
  }, 45 * 60_000);

  test("bun add ./ringside-*.tgz in an empty folder (no compiler, make or headers), bunx ringside: the canned bytes, SIGTERM exits 0", async () => {
    const name = await box("local", "amd64");
    await expectNoToolchain(name);
    expect((await sh(name, "ln -s bun /usr/local/bin/bunx")).code).toBe(0);
    await installInto(name);
    expect(await doctorLibrary(name, "bunx ringside")).toEqual([0, "/app/node_modules/ringside/native/prebuilt/linux-x64/libringside.so (prebuilt for linux-x64)"]);
    const s = await serve(name, "bunx ringside --port 0 --host 127.0.0.1");
    expect(s.startup).toMatch(/^ringside: listening on http:\/\/127\.0\.0\.1:\d+ port=\d+ mode=(batch|spin) /);
    expectCleanServe(s);
    // The prebuilt library ran: nothing was compiled into the package.
    expect((await sh(name, "test -e /app/node_modules/ringside/native/build")).code).toBe(1);
  }, 120_000);

  test("bun add -g ./ringside-*.tgz, then ringside from ~/.bun/bin: the canned bytes, SIGTERM exits 0", async () => {
    const name = await box("global", "amd64");
    await expectNoToolchain(name);
    await installInto(name, true);
    const path = [`PATH=/root/.bun/bin:${DEFAULT_PATH}`];
    expect(await doctorLibrary(name, "ringside", path)).toEqual([0, "/root/.bun/install/global/node_modules/ringside/native/prebuilt/linux-x64/libringside.so (prebuilt for linux-x64)"]);
    expectCleanServe(await serve(name, "ringside --port 0 --host 127.0.0.1", path));
  }, 120_000);

  test("the arm64 library of the same tarball, under qemu-user in the arm64 run base: the emulator's line, exit 1; with --fallback the canned bytes", async () => {
    const name = await box("arm64", "arm64");
    expect((await sh(name, "ln -s bun /usr/local/bin/bunx")).code).toBe(0);
    await installInto(name);
    const r = await sh(name, "cd /app && bunx ringside --port 0 --host 127.0.0.1", [], 60_000);
    // "ring 0: io_uring_setup" comes from rs_start: the arm64 library loaded and its ABI matched.
    expect([r.code, r.stdout, r.stderr]).toEqual([1, "", "ringside: error: io_uring is unavailable (ring 0: io_uring_setup: Function not implemented): this arm64 Bun runs under an emulator (such as qemu-user) on an x86_64 CPU, and the emulator does not implement io_uring; run on a native arm64 host, or pass --fallback (RINGSIDE_FALLBACK=1) to serve through Bun.serve, degraded errno=ENOSYS\n"]);
    expect((await doctorLibrary(name, "bunx ringside"))[1]).toBe("/app/node_modules/ringside/native/prebuilt/linux-arm64/libringside.so (prebuilt for linux-arm64)");
    const s = await serve(name, "bunx ringside --port 0 --host 127.0.0.1 --fallback", [], 60_000);
    expect(s.startup).toMatch(/ mode=fallback .*degraded=io_uring_missing /);
    // Bun.serve's framing (HTTP/1.1, its own headers), the same status, type and body.
    expect([s.curl.code, s.code]).toEqual([0, 0]);
    expect(s.curl.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n(.+\r\n)*[Cc]ontent-[Tt]ype: text\/html\r\n(.+\r\n)*\r\nHave a nice day!\n$/);
    expect(s.stderr).toMatch(/^ringside: warn: io_uring is unavailable .*this arm64 Bun runs under an emulator .*; serving through Bun\.serve instead \(--fallback\).* degraded=io_uring_missing\n$/);
    expect(summaryCounters(s.stdout)).toMatchObject({ requests: 1 });
  }, 180_000);

  test("without liburing2: one line naming the package to install, exit 1", async () => {
    const name = await box("no-liburing", "amd64");
    const removed = await sh(name, "dpkg -r --force-depends liburing2");
    expect(removed.code, removed.stderr).toBe(0);
    expect((await sh(name, "ln -s bun /usr/local/bin/bunx")).code).toBe(0);
    await installInto(name);
    const r = await sh(name, "cd /app && bunx ringside --port 0 --host 127.0.0.1");
    expect([r.code, r.stdout, r.stderr]).toEqual([1, "", "ringside: error: cannot load the prebuilt linux-x64 library: liburing is not installed: apt-get install liburing2\n"]);
  }, 120_000);

  test("a prebuilt library that does not load here, with cc, make and liburing-dev at hand: built from source instead", async () => {
    // The build base has the toolchain but no Bun: this Bun, as the run base has it.
    const name = await box("build", "amd64", buildBase, ["-v", `${process.execPath}:/usr/local/bin/bun:ro`]);
    expect((await sh(name, "ln -s bun /usr/local/bin/bunx")).code).toBe(0);
    await installInto(name);
    // Emptied: the loader refuses it ("file too short"), as it would an old glibc's.
    expect((await sh(name, ": > /app/node_modules/ringside/native/prebuilt/linux-x64/libringside.so")).code).toBe(0);
    expect(await doctorLibrary(name, "bunx ringside")).toEqual([0, "/app/node_modules/ringside/native/build/libringside.so (built from native/)"]);
    expectCleanServe(await serve(name, "bunx ringside --port 0 --host 127.0.0.1"));
  }, 180_000);

  test("installed on this host, where cc and make are at hand: still the prebuilt library, nothing built", async () => {
    requirePack();
    const dir = join(packDir, "host");
    mkdirSync(dir);
    copyFileSync(join(packDir, TGZ), join(dir, TGZ));
    // Its own install cache: Bun keys a local tarball's cache entry by its path, not its content.
    const env = { BUN_INSTALL_CACHE_DIR: join(packDir, "cache"), BUN_CONFIG_REGISTRY: "http://127.0.0.1:9/" };
    const add = await runToEnd(["bun", "add", `./${TGZ}`], { cwd: dir, env, timeoutMs: 60_000 });
    expect(add.code, add.stderr).toBe(0);
    const r = await runToEnd(["bun", "x", "ringside", "--doctor"], { cwd: dir, env, timeoutMs: 30_000 });
    expect(/^library: +(.*)$/m.exec(r.stdout)?.[1]).toBe(`${dir}/node_modules/ringside/native/prebuilt/linux-x64/libringside.so (prebuilt for linux-x64)`);
    expect(existsSync(join(dir, "node_modules", "ringside", "native", "build"))).toBe(false);
  }, 60_000);
});
