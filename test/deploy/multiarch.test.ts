// The two-architecture image, for real: deploy/build-multiarch-image.sh builds
// linux/amd64 and linux/arm64 (podman build --platform under qemu-user, on local
// mmdebstrap bases, no registry) and a manifest list of both; then the arm64
// image runs under emulation. qemu-user has no io_uring, so there it exits 1 with
// one line, and with RINGSIDE_FALLBACK=1 serves through Bun.serve, degraded: the
// arm64 image is built and started, its io_uring path never runs here.
//
// Cost (2 cores): cold, the arm64 run base's mmdebstrap under emulation takes
// ~6 min; warm, the whole test about a minute. Skips loudly when podman, qemu-user
// or Bun's arm64 binary are missing (scripts/install-prerequisites.sh); with
// RINGSIDE_REQUIRE_ARM64=1 (CI) that is a failure instead.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
// Debian's podman as root: runc and cgroupfs (crun rejects hybrid cgroups, no systemd).
const PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"];
const TAG = `localhost/ringside:multiarch-test-${process.pid}`;
const BUN_ARM64 = process.env.RINGSIDE_BUN_ARM64 ?? `/var/cache/ringside/bun-linux-aarch64-${Bun.version}/bin/bun`;

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(cmd: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Done> {
  await using proc = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}
const podman = (args: string[], timeoutMs?: number): Promise<Done> => run([...PODMAN, ...args], {}, timeoutMs);

function missing(): string | undefined {
  for (const tool of ["podman", "mmdebstrap", "arch-test", "aarch64-linux-gnu-gcc"]) if (!Bun.which(tool)) return `${tool} is not installed`;
  if (!existsSync("/proc/sys/fs/binfmt_misc/qemu-aarch64")) return "no qemu-aarch64 binfmt entry (qemu-user-static, binfmt-support)";
  if (!existsSync(BUN_ARM64)) return `Bun's arm64 binary is not at ${BUN_ARM64}`;
  return undefined;
}

const absent = missing();
if (absent) {
  const bar = "!".repeat(78);
  console.error(`\n${bar}\n!! SKIPPING the two-architecture image test: ${absent}.\n!! Run scripts/install-prerequisites.sh as root.\n${bar}\n`);
  if (process.env.RINGSIDE_REQUIRE_ARM64 === "1") {
    test("podman, qemu-user and Bun's arm64 binary are here (RINGSIDE_REQUIRE_ARM64=1)", () => {
      throw new Error(`cannot build the arm64 image: ${absent}`);
    });
  }
}

const ULIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"];
const containers: string[] = [];
let built = false;

afterAll(async () => {
  if (containers.length) await podman(["rm", "-f", "-t", "0", ...containers]);
  if (built) {
    await podman(["manifest", "rm", TAG]);
    await podman(["rmi", `${TAG}-amd64`, `${TAG}-arm64`]);
  }
});

describe.skipIf(absent !== undefined)("the two-architecture image", () => {
  test("deploy/build-multiarch-image.sh: an amd64 and an arm64 image, and a manifest list of both", async () => {
    const r = await run(["deploy/build-multiarch-image.sh"], { TAG, PODMAN: PODMAN.join(" ") }, 30 * 60_000);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    built = true;
    console.log(r.stderr.split("\n").filter((l) => /^build-multiarch: .*: \d+ s$/.test(l)).join("\n"));
    for (const arch of ["amd64", "arm64"]) {
      const i = await podman(["image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{.Size}}", `${TAG}-${arch}`]);
      expect(i.stdout.trim()).toMatch(new RegExp(`^linux/${arch} \\d+$`));
      console.log(`${TAG}-${arch}: ${i.stdout.trim()}`);
    }
    const list = JSON.parse((await podman(["manifest", "inspect", TAG])).stdout) as { manifests: Array<{ digest: string; platform: { os: string; architecture: string } }> };
    expect(list.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`).sort()).toEqual(["linux/amd64", "linux/arm64"]);
    for (const m of list.manifests) expect(m.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  }, 30 * 60_000);

  test("the arm64 image under qemu-user: io_uring_setup refused (ENOSYS), one line, exit 1", async () => {
    if (!built) throw new Error("the images were not built: see the first test");
    const r = await podman(["run", "--rm", "--platform", "linux/arm64", "--no-healthcheck", ...ULIMITS, "--security-opt", `seccomp=${join(ROOT, "deploy", "seccomp.json")}`, `${TAG}-arm64`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ringside: error: io_uring is unavailable \(ring 0: io_uring_setup: Function not implemented\): this arm64 Bun runs under an emulator \(such as qemu-user\) on an x86_64 CPU, .*; run on a native arm64 host, or pass --fallback .* errno=ENOSYS$/);
  }, 60_000);

  test("the arm64 image under qemu-user with RINGSIDE_FALLBACK=1: the canned response, marked degraded; podman stop exits 0", async () => {
    if (!built) throw new Error("the images were not built: see the first test");
    const name = `ringside-multiarch-${process.pid}`;
    containers.push(name);
    const started = await podman(["run", "-d", "--name", name, "--platform", "linux/arm64", "--no-healthcheck", ...ULIMITS, "-e", "RINGSIDE_FALLBACK=1", "-p", "127.0.0.1::8000", `${TAG}-arm64`]);
    expect(started.code, started.stderr).toBe(0);
    const deadline = Date.now() + 60_000;
    let logs: Done;
    while (!(logs = await podman(["logs", name])).stdout.includes("ringside: listening ")) {
      if (Date.now() > deadline) throw new Error(`no startup line: ${logs.stdout}${logs.stderr}`);
      await Bun.sleep(100);
    }
    expect(logs.stdout).toMatch(/^ringside: listening on http:\/\/0\.0\.0\.0:8000 port=8000 mode=fallback .*degraded=io_uring_missing .*pid=1$/m);
    expect(logs.stderr).toMatch(/^ringside: warn: io_uring is unavailable \(ring 0: io_uring_setup: Function not implemented\): this arm64 Bun runs under an emulator .*serving through Bun\.serve instead \(--fallback\)/m);
    // Bun in the container is the arm64 binary, run by qemu-user's binfmt interpreter.
    const arch = await podman(["exec", name, "bun", "-e", "console.log(process.arch)"]);
    expect(arch.stdout.trim()).toBe("arm64");
    const port = /:(\d+)\s*$/.exec((await podman(["port", name, "8000/tcp"])).stdout.trim())?.[1];
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect([res.status, await res.text()]).toEqual([200, "Have a nice day!\n"]);
    expect((await podman(["stop", "-t", "10", name], 30_000)).code).toBe(0);
    expect((await podman(["inspect", "--format", "{{.State.ExitCode}}", name])).stdout.trim()).toBe("0");
  }, 120_000);
});
