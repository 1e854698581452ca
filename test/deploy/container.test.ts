// The sidecar image, for real: built with the Dockerfile on local base images
// (deploy/build-base-image.sh; no registry), run by podman with
// deploy/seccomp.json and with the runtime's default seccomp profile.
// Skips only when podman cannot run a container at all, and says so loudly
// (with RINGSIDE_REQUIRE_CONTAINER=1, as in CI, that is a failure instead).
//
// Bounded: the base images are cached (podman store, and their root
// filesystems as tarballs under /var/tmp/ringside-base, keyed by content), so
// a warm run is one cached `podman build` and four short containers.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { abiDescription } from "../../src/serve/native.ts";
import { DEFAULT_RESPONSE, rawExchange, ROOT } from "../lib/helpers.ts";
import { podman, podmanUnavailable, ULIMITS } from "../lib/podman.ts";
import { parseStartup, runToEnd, waitFor, within, type Finished } from "../lib/proc.ts";

const TAG = "localhost/ringside:test";
const NAME = `ringside-test-${process.pid}`;
const SECCOMP = join(ROOT, "deploy", "seccomp.json");
const GRACE_S = 10;

const run = (cmd: string[], timeoutMs = 60_000): Promise<Finished> => runToEnd(cmd, { timeoutMs });

const unavailable = await podmanUnavailable();
if (unavailable) {
  const bar = "!".repeat(78);
  console.error(`\n${bar}\n!! SKIPPING the container tests: podman cannot run a container here.\n!! ${unavailable}\n!! The image, seccomp profile and fallback are NOT tested on this machine.\n${bar}\n`);
}

// CI sets RINGSIDE_REQUIRE_CONTAINER=1: there a podman that cannot run is a failure, not a skip.
if (unavailable && process.env.RINGSIDE_REQUIRE_CONTAINER === "1") {
  test("podman can run a container (RINGSIDE_REQUIRE_CONTAINER=1)", () => {
    throw new Error(`podman cannot run a container: ${unavailable}`);
  });
}

let built = false;
const names: string[] = [];

function requireImage(): void {
  if (!built) throw new Error(`${TAG} was not built: see the first container test's failure`);
}

/** Starts a detached container; returns its name. */
async function start(suffix: string, args: string[]): Promise<string> {
  requireImage();
  const name = `${NAME}-${suffix}`;
  names.push(name);
  const r = await podman(["run", "-d", "--name", name, ...ULIMITS, ...args, TAG]);
  expect(r.code, r.stderr).toBe(0);
  return name;
}

async function logs(name: string): Promise<Finished> {
  return podman(["logs", name]);
}

/** Waits for the startup line; fails with the logs if the container exits first. */
async function startupLine(name: string): Promise<string> {
  return waitFor(`${name} startup line`, async () => {
    const l = await logs(name);
    const line = parseStartup(l.stdout)?.line;
    if (line) return line;
    const state = (await podman(["inspect", "--format", "{{.State.Status}}", name])).stdout.trim();
    if (state === "exited") throw new Error(`${name} exited before listening: ${l.stderr}`);
    return undefined;
  });
}

async function hostPort(name: string, port: number): Promise<number> {
  const r = await podman(["port", name, `${port}/tcp`]);
  const m = /:(\d+)\s*$/.exec(r.stdout.trim());
  if (!m) throw new Error(`no host port for ${name} ${port}: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

afterAll(async () => {
  if (names.length) await podman(["rm", "-f", "-t", "0", ...names]);
});

describe.skipIf(unavailable !== undefined)("in a podman container", () => {
  test("the image builds from the Dockerfile on the local base", async () => {
    const base = await run([join(ROOT, "deploy", "build-base-image.sh")], 15 * 60_000);
    expect(base.code, base.stderr).toBe(0);
    const vars = Object.fromEntries(base.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    expect(vars.BASE).toMatch(/^localhost\/ringside-base:run-/);
    const before = (await podman(["image", "inspect", "--format", "{{.Id}}", TAG])).stdout.trim();
    const b = await podman([
      "build", "--format", "docker", "--pull=never", ...ULIMITS,
      "--build-arg", `BASE=${vars.BASE}`, "--build-arg", `BUILD_BASE=${vars.BUILD_BASE}`,
      "-t", TAG, ROOT,
    ], 10 * 60_000);
    expect(b.code, b.stderr.slice(-3000)).toBe(0);
    const [config] = JSON.parse((await podman(["image", "inspect", TAG])).stdout) as Array<{
      Id: string; Size: number; Healthcheck?: { Test: string[] }; Config: { User: string; StopSignal: string; ExposedPorts: Record<string, unknown> };
    }>;
    expect(config!.Config.User).toBe("65532:65532");
    expect(config!.Config.StopSignal).toBe("SIGTERM");
    expect(Object.keys(config!.Config.ExposedPorts)).toEqual(["8000/tcp"]);
    expect(config!.Healthcheck?.Test).toEqual(["CMD", "bun", "/app/ringside.js", "--check", "/"]);
    if (before && !config!.Id.startsWith(before.slice(0, 12))) await podman(["rmi", before]); // best effort: the replaced image
    console.log(`ringside: image ${TAG} is ${(config!.Size / 1e6).toFixed(0)} MB (base ${vars.BASE})`);
    built = true;
  }, 20 * 60_000);

  describe("with deploy/seccomp.json", () => {
    let name = "";

    test("serves the canned response to the host, as non-root, on a read-only root", async () => {
      name = await start("seccomp", [
        "--security-opt", `seccomp=${SECCOMP}`, "--read-only", "--read-only-tmpfs=false",
        "-e", "RINGSIDE_ADMIN_PORT=9000", "-p", "127.0.0.1::8000", "-p", "127.0.0.1::9000",
      ]);
      const line = await startupLine(name);
      // No mode in the image: auto picks it from the CPUs the container gets.
      expect(line).toMatch(/^ringside: listening on http:\/\/0\.0\.0\.0:8000 port=8000 mode=(batch|spin) rings=\d+ auto="\d+ CPUs?, quota [^"]+" .*features=\S*fixed_files\S* admin=http:\/\/0\.0\.0\.0:9000 .*pid=1$/);
      const r = await rawExchange(await hostPort(name, 8000), ["GET / HTTP/1.0\r\n\r\n"]);
      expect(r.text).toBe(DEFAULT_RESPONSE);
      // The image has no shell and no cat: Bun reads the file.
      const status = (await podman(["exec", name, "bun", "-e", "console.log(await Bun.file('/proc/1/status').text())"])).stdout;
      expect(status).toMatch(/^Name:\s+bun$/m);
      expect(status).toMatch(/^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
      expect(status).toMatch(/^Gid:\s+65532\s+65532\s+65532\s+65532$/m);
    });

    test("--doctor inside: seccomp filtering, io_uring and SQPOLL work", async () => {
      requireImage();
      const r = await podman(["exec", name, "bun", "/app/ringside.js", "--doctor"]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^seccomp: +filtering /m);
      expect(r.stdout).toMatch(/^io_uring_setup: +works /m);
      expect(r.stdout).toMatch(/^sqpoll: +works /m);
      expect(r.stdout).toMatch(/^ops needed: +all present /m);
    });

    test("its HEALTHCHECK command passes", async () => {
      requireImage();
      const r = await podman(["healthcheck", "run", name]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const health = JSON.parse((await podman(["inspect", "--format", "{{json .State.Health}}", name])).stdout) as { Status: string; Log: Array<{ ExitCode: number; Output: string }> };
      expect(health.Status).toBe("healthy");
      expect(health.Log.at(-1)?.ExitCode).toBe(0);
      expect(health.Log.at(-1)?.Output).toBe("ringside: check http://127.0.0.1:8000/: ok status=200");
    });

    test("/metrics answers on the admin port with the live counters", async () => {
      requireImage();
      const admin = `http://127.0.0.1:${await hostPort(name, 9000)}`;
      expect((await fetch(`${admin}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${admin}/metrics`)).text();
      for (const { name: counter } of abiDescription().counters.fields) expect(metrics).toMatch(new RegExp(`^ringside_${counter}(_total)? \\d+$`, "m"));
      // Our GET plus the health check's.
      expect(metrics).toMatch(/^ringside_requests_total [2-9]\d*$/m);
      expect(metrics).toMatch(/^ringside_info\{version="[^"]+",mode="(batch|spin)",features="[^"]*fixed_files[^"]*",degraded=""\} 1$/m);
      expect(metrics).toMatch(/^process_resident_memory_bytes [1-9]\d*$/m);
    });

    test(`podman stop: drains and exits 0 within the ${GRACE_S} s grace period`, async () => {
      requireImage();
      // Stopped before the grace period ends, so podman never needs its SIGKILL.
      const r = await within("podman stop, before the grace period ends", podman(["stop", "-t", String(GRACE_S), name], (GRACE_S + 20) * 1000), GRACE_S * 1000);
      expect(r.code, r.stderr).toBe(0);
      // Past the grace period podman sends SIGKILL: the exit code would be 137.
      expect((await podman(["inspect", "--format", "{{.State.ExitCode}}", name])).stdout.trim()).toBe("0");
      const out = (await logs(name)).stdout;
      expect(out).toMatch(/^ringside: SIGTERM: draining for up to 5000 ms /m);
      expect(out).toMatch(/^ringside: stopped accepted=\d+ /m);
    });
  });

  test("under a CPU limit of half a CPU (--cpus 0.5), the default picks batch with one ring and says why", async () => {
    const name = await start("cpus", ["--security-opt", `seccomp=${SECCOMP}`, "--cpus", "0.5", "--no-healthcheck"]);
    const line = await startupLine(name);
    expect(line).toMatch(/ mode=batch rings=1 auto="\d+ CPUs?, quota 0\.5; spin needs 3; 1 ring" /);
    expect((await podman(["stop", "--time", String(GRACE_S), name], 30_000)).code).toBe(0);
  });

  test("with the runtime's default seccomp profile: one clear error, exit 1", async () => {
    requireImage();
    const r = await podman(["run", "--rm", "--no-healthcheck", ...ULIMITS, TAG]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^ringside: error: io_uring is unavailable \((ring 0: )?io_uring_setup: .+\): a seccomp profile .*; in a container run with deploy\/seccomp\.json \(--security-opt seccomp=deploy\/seccomp\.json; .*\), or pass --fallback \(RINGSIDE_FALLBACK=1\) .* errno=E(NOSYS|PERM)$/,
    );
  });

  test("with the default profile and RINGSIDE_FALLBACK=1: the response, marked degraded; SIGINT exits 0", async () => {
    const name = await start("fallback", [
      "--no-healthcheck", "-e", "RINGSIDE_FALLBACK=1", "-e", "RINGSIDE_ADMIN_PORT=9000",
      "-p", "127.0.0.1::8000", "-p", "127.0.0.1::9000",
    ]);
    const line = await startupLine(name);
    expect(line).toMatch(/^ringside: listening on http:\/\/0\.0\.0\.0:8000 port=8000 mode=fallback .*degraded=io_uring_blocked /);
    const warnings = (await logs(name)).stderr.trimEnd().split("\n");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^ringside: warn: io_uring is unavailable .*serving through Bun\.serve instead \(--fallback\).* degraded=io_uring_blocked$/);
    const res = await fetch(`http://127.0.0.1:${await hostPort(name, 8000)}/`);
    expect([res.status, res.headers.get("content-type"), await res.text()]).toEqual([200, "text/html", "Have a nice day!\n"]);
    const metrics = await (await fetch(`http://127.0.0.1:${await hostPort(name, 9000)}/metrics`)).text();
    expect(metrics).toMatch(/^ringside_degraded\{reason="io_uring_blocked"\} 1$/m);
    expect(metrics).toMatch(/^ringside_info\{version="[^"]+",mode="fallback",features="",degraded="io_uring_blocked"\} 1$/m);
    expect(metrics).toMatch(/^ringside_requests_total 1$/m);
    const doctor = await podman(["exec", name, "bun", "/app/ringside.js", "--doctor"]);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(/^io_uring_setup: +fails: E(NOSYS|PERM)$/m);
    expect(doctor.stdout).toMatch(/^recommended mode: +fallback: /m);
    expect(doctor.stdout).toMatch(/^configured mode: +(batch|spin), \d+ rings? \(auto: .*\): falls back to Bun\.serve \(degraded\)$/m);
    expect((await podman(["kill", "--signal", "SIGINT", name])).code).toBe(0);
    const waited = await podman(["wait", name], 30_000);
    expect(waited.stdout.trim()).toBe("0");
    expect((await logs(name)).stdout).toMatch(/^ringside: SIGINT: draining .*\nringside: stopped /m);
  });
});
