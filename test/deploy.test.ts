// The sidecar deployment without a container: the Kubernetes manifests and
// the Dockerfile say what the issue asks, deploy/seccomp.json is the runtime
// default plus io_uring, and the admin listener, --check and --doctor work
// against the real server on this host.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../src/config.ts";
import { FallbackServer } from "../src/fallback.ts";
import { COUNTER_NAMES, FEATURES } from "../src/native.ts";
import { OPTIONS } from "../src/options.ts";
import { CLI, DEFAULT_RESPONSE, rawExchange, ROOT, runCli, startServer } from "./helpers.ts";
import { waitFor } from "./proc.ts";

const read = (rel: string): string => readFileSync(join(ROOT, rel), "utf8");

// ---- Kubernetes -----------------------------------------------------------------

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

const K8S_DIR = join(ROOT, "deploy", "kubernetes");
const manifests = readdirSync(K8S_DIR).filter((f) => f.endsWith(".yaml"));
const load = (file: string): Obj => obj(Bun.YAML.parse(readFileSync(join(K8S_DIR, file), "utf8")));
const podSpec = (doc: Obj): Obj => (doc.kind === "Pod" ? obj(doc.spec) : obj(obj(obj(doc.spec).template).spec));
const sidecarFiles = manifests.filter((f) => arr(podSpec(load(f)).initContainers).some((c) => c.name === "ringside"));

const envOf = (c: Obj): Record<string, string> => Object.fromEntries(arr(c.env).map((e) => [String(e.name), String(e.value)]));

/** Kubernetes CPU quantity in CPUs ("500m" -> 0.5, "2" -> 2). */
const cpu = (q: unknown): number => (String(q).endsWith("m") ? Number(String(q).slice(0, -1)) / 1000 : Number(q));
/** ringside duration text in seconds ("5s", "1500ms", "1m"). */
const seconds = (d: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(d)!;
  return (Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? "s") as "ms" | "s" | "m"]) / 1000;
};

test("every manifest parses as Kubernetes YAML, and two are ringside sidecar pods", () => {
  expect(manifests.length).toBeGreaterThanOrEqual(3);
  for (const f of manifests) {
    const doc = load(f);
    expect(typeof doc.apiVersion, f).toBe("string");
    expect(typeof doc.kind, f).toBe("string");
    expect(obj(doc.metadata).name, f).toBeTruthy();
  }
  expect(sidecarFiles.sort()).toEqual(["sidecar-pod-spin.yaml", "sidecar-pod.yaml"]);
});

describe.each(sidecarFiles)("%s", (file) => {
  const spec = podSpec(load(file));
  const sidecar = arr(spec.initContainers).find((c) => c.name === "ringside")!;
  const env = envOf(sidecar);
  const sc = obj(sidecar.securityContext);

  test("ringside is a native sidecar next to an app container", () => {
    expect(sidecar.restartPolicy).toBe("Always");
    expect(arr(spec.containers).length).toBeGreaterThanOrEqual(1);
    expect(String(sidecar.image)).toMatch(/ringside/);
  });

  test("every env var it sets is a ringside option's", () => {
    const known = new Set(OPTIONS.flatMap((o) => (o.env ? [o.env] : [])));
    for (const name of Object.keys(env)) expect(known.has(name), name).toBe(true);
  });

  test("the Localhost seccomp profile the installer writes", () => {
    const profile = obj(sc.seccompProfile);
    expect(profile.type).toBe("Localhost");
    expect(profile.localhostProfile).toBe("profiles/ringside.json");
    const installer = read("deploy/kubernetes/seccomp-profile-installer.yaml");
    expect(installer).toContain("/var/lib/kubelet/seccomp");
    expect(installer).toContain("/host/profiles/ringside.json");
    expect(installer).toContain("--from-file=ringside.json=deploy/seccomp.json");
  });

  test("startup, readiness and liveness probes on the admin port", () => {
    const ports = Object.fromEntries(arr(sidecar.ports).map((p) => [String(p.name), Number(p.containerPort)]));
    expect(ports.admin).toBe(Number(env.RINGSIDE_ADMIN_PORT));
    expect(ports.http).toBe(Number(env.PORT));
    expect(ports.http).toBeGreaterThanOrEqual(1024);
    const probe = (kind: string): Obj => obj(obj(sidecar[kind]).httpGet);
    expect(probe("startupProbe")).toEqual({ path: "/readyz", port: "admin" });
    expect(probe("readinessProbe")).toEqual({ path: "/readyz", port: "admin" });
    expect(probe("livenessProbe")).toEqual({ path: "/healthz", port: "admin" });
  });

  test("non-root, read-only root, no privilege escalation, no capabilities", () => {
    const pod = obj(spec.securityContext);
    expect(pod.runAsNonRoot).toBe(true);
    const dockerUser = /^USER (\d+)/m.exec(read("Dockerfile"))![1];
    expect(String(pod.runAsUser)).toBe(dockerUser!);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(obj(sc.capabilities).drop).toEqual(["ALL"]);
  });

  test("resources fit the mode: whole CPUs for the polling modes", () => {
    const { requests, limits } = obj(sidecar.resources) as { requests: Obj; limits: Obj };
    for (const r of [requests, limits]) {
      expect(r.cpu).toBeDefined();
      expect(r.memory).toBeDefined();
    }
    const mode = env.RINGSIDE_MODE ?? "spin";
    // spin: ring thread + SQPOLL thread poll; sqpoll: the SQPOLL thread polls.
    const polling = { spin: 2, sqpoll: 1, batch: 0 }[mode as "spin" | "sqpoll" | "batch"];
    expect(polling).toBeDefined();
    if (polling) {
      expect(cpu(limits.cpu)).toBeGreaterThanOrEqual(polling!);
      expect(Number.isInteger(cpu(limits.cpu))).toBe(true);
      expect(requests.cpu).toEqual(limits.cpu); // Guaranteed QoS, exclusive cores possible
    } else {
      expect(cpu(limits.cpu)).toBeLessThanOrEqual(1);
    }
  });

  test("the grace period covers the drain timeout, with room for the app", () => {
    const drain = seconds(env.RINGSIDE_DRAIN_TIMEOUT ?? OPTIONS.find((o) => o.flag === "drain-timeout")!.def!);
    const grace = Number(spec.terminationGracePeriodSeconds);
    expect(grace).toBeGreaterThan(drain);
    expect(grace).toBeLessThanOrEqual(drain + 30);
  });
});

// ---- seccomp ---------------------------------------------------------------------

interface SeccompRule { names: string[]; action: string; args?: unknown[]; includes?: Obj; excludes?: Obj }
interface Seccomp { defaultAction: string; syscalls: SeccompRule[] }

const IO_URING = ["io_uring_enter", "io_uring_register", "io_uring_setup"];
const PODMAN_DEFAULT = "/usr/share/containers/seccomp.json";
const PODMAN_DEFAULT_SHA256 = "cc374cf23846ce1f62f4dc807a8e2b8673c783c6f56cb475467621035d281e6c";

describe("deploy/seccomp.json", () => {
  const profile = JSON.parse(read("deploy/seccomp.json")) as Seccomp;

  test("denies by default and allows the three io_uring calls unconditionally", () => {
    expect(profile.defaultAction).toBe("SCMP_ACT_ERRNO");
    const main = profile.syscalls.filter(
      (r) => r.action === "SCMP_ACT_ALLOW" && !r.args?.length && !Object.keys(r.includes ?? {}).length && !Object.keys(r.excludes ?? {}).length,
    );
    for (const name of IO_URING) expect(main.some((r) => r.names.includes(name)), name).toBe(true);
  });

  test("its provenance note names the source and its hash", () => {
    const note = read("deploy/seccomp.md");
    expect(note).toContain(PODMAN_DEFAULT);
    expect(note).toContain(PODMAN_DEFAULT_SHA256);
  });

  const source = existsSync(PODMAN_DEFAULT) ? readFileSync(PODMAN_DEFAULT) : undefined;
  const sameSource = source !== undefined && createHash("sha256").update(source).digest("hex") === PODMAN_DEFAULT_SHA256;
  test.skipIf(!sameSource)("is the podman default it names, plus io_uring and nothing else", () => {
    const base = JSON.parse(source!.toString()) as Seccomp;
    const stripped = structuredClone(profile);
    for (const r of stripped.syscalls) r.names = r.names.filter((n) => !IO_URING.includes(n));
    for (const r of base.syscalls) r.names.sort();
    for (const r of stripped.syscalls) r.names.sort();
    expect(stripped).toEqual(base);
  });
});

// ---- Dockerfile ------------------------------------------------------------------

describe("Dockerfile", () => {
  const text = read("Dockerfile").replace(/\\\n/g, " ");
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const froms = lines.filter((l) => l.startsWith("FROM "));
  const runtime = lines.slice(lines.lastIndexOf(froms.at(-1)!));
  const build = lines.slice(lines.indexOf(froms[0]!), lines.lastIndexOf(froms.at(-1)!));
  const instr = (name: string): string[] => runtime.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());

  test("multi-stage, both bases overridable by ARG", () => {
    expect(froms).toHaveLength(2);
    const preamble = lines.slice(0, lines.indexOf(froms[0]!));
    expect(preamble.some((l) => /^ARG BASE=\S*bun\S*slim/.test(l))).toBe(true);
    expect(preamble.some((l) => l.startsWith("ARG BUILD_BASE="))).toBe(true);
    expect(froms[0]).toBe("FROM ${BUILD_BASE} AS native");
    expect(froms[1]).toBe("FROM ${BASE}");
  });

  test("the build stage compiles the library with cc and liburing-dev", () => {
    const joined = build.join("\n");
    expect(joined).toMatch(/apt-get install[^\n]*\bgcc\b[^\n]*\bliburing-dev\b/);
    expect(joined).toMatch(/make -s lib/);
  });

  test("the runtime stage adds only the library and liburing's runtime library", () => {
    expect(runtime.some((l) => l.startsWith("RUN "))).toBe(false);
    expect(instr("COPY")).toContain("--from=native /out/ /app/lib/");
    expect(build.join("\n")).toMatch(/liburing\.so\.2/);
  });

  test("non-root, port 8000 exposed, SIGTERM, HEALTHCHECK without curl, entry file run directly", () => {
    const user = instr("USER")[0]!;
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(instr("EXPOSE")).toEqual(["8000"]);
    expect(instr("ENV").join(" ")).toMatch(/\bPORT=8000\b/);
    expect(instr("STOPSIGNAL")).toEqual(["SIGTERM"]);
    const hc = instr("HEALTHCHECK")[0]!;
    expect(hc).toMatch(/CMD \["bun", "\/app\/src\/cli\.ts", "--check", "\/"\]$/);
    expect(hc).not.toMatch(/curl|wget/);
    // Exec form, no `bun run`: needs no /bin/sh, and Bun itself is PID 1.
    expect(JSON.parse(instr("ENTRYPOINT")[0]!)).toEqual(["bun", "/app/src/cli.ts"]);
  });

  test(".dockerignore keeps build output and node_modules out", () => {
    const ignore = read(".dockerignore").split("\n").map((l) => l.trim());
    expect(ignore).toContain("*");
    expect(ignore).toContain("native/build/");
    expect(ignore).not.toContain("!node_modules/");
  });
});

// ---- admin listener, --check, --doctor on this host -------------------------------

function adminUrl(stdout: string): string {
  const m = /admin=(http:\/\/\S+)/.exec(stdout);
  if (!m) throw new Error(`no admin= in the startup line: ${stdout}`);
  return m[1]!;
}

describe("admin listener", () => {
  test("/healthz, /readyz and /metrics with every counter, mode and features", async () => {
    await using s = await startServer(["--mode", "batch", "--admin-port", "0"]);
    const admin = adminUrl(s.stdout());
    expect((await rawExchange(s.port, ["GET / HTTP/1.0\r\n\r\n"])).text).toBe(DEFAULT_RESPONSE);
    const health = await fetch(`${admin}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    const ready = await fetch(`${admin}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, "ready\n"]);
    const res = await fetch(`${admin}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = await res.text();
    for (const name of COUNTER_NAMES) {
      expect(metrics).toMatch(new RegExp(`^ringside_${name}(_total)? \\d+$`, "m"));
    }
    expect(metrics).toMatch(/^ringside_requests_total [1-9]\d*$/m);
    expect(metrics).toMatch(/^ringside_info\{version="[^"]+",mode="batch",features="[^"]*defer_taskrun[^"]*",degraded=""\} 1$/m);
    expect(metrics).toMatch(/^ringside_degraded 0$/m);
    for (const f of FEATURES) expect(metrics).toMatch(new RegExp(`^ringside_feature\\{feature="${f}"\\} [01]$`, "m"));
    expect(metrics).toMatch(/^process_cpu_seconds_total \d+(\.\d+)?(e-\d+)?$/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes [1-9]\d*$/m);
    expect((await fetch(`${admin}/nope`)).status).toBe(404);
    const { code } = await s.stop();
    expect(code).toBe(0);
  });

  test("/readyz turns 503 while draining", async () => {
    await using s = await startServer(["--mode", "batch", "--admin-port", "0", "--drain-timeout", "3s"]);
    const admin = adminUrl(s.stdout());
    // A request still arriving keeps the drain going until the timeout.
    const pending = rawExchange(s.port, ["GET / HTTP/1.1\r\nHost: x\r\n"], { timeoutMs: 8000 });
    await waitFor("the connection", async () => (await fetch(`${admin}/metrics`).then((r) => r.text())).match(/^ringside_active [1-9]/m));
    s.proc.kill("SIGTERM");
    const res = await waitFor("/readyz 503", async () => {
      const r = await fetch(`${admin}/readyz`).catch(() => undefined);
      return r?.status === 503 ? r : undefined;
    });
    expect(await res.text()).toBe("not ready: draining\n");
    expect(await s.proc.exited).toBe(0); // after the drain timeout cut the pending request
    await pending;
  });

  test("bad admin flags are usage errors", async () => {
    const same = await runCli(["--port", "8123", "--admin-port", "8123"]);
    expect([same.code, same.stderr]).toEqual([2, "ringside: error: --admin-port 8123 is the serving --port: pick another (or 0 for any free port)\n"]);
    const hostOnly = await runCli(["--admin-host", "127.0.0.1"]);
    expect(hostOnly.code).toBe(2);
    expect(hostOnly.stderr).toMatch(/^ringside: error: --admin-host needs --admin-port/);
  });
});

describe("--check", () => {
  test("0 for a server that answers, by URL or by path on --port; 1 when nothing listens", async () => {
    await using s = await startServer(["--mode", "batch"]);
    const ok = await runCli(["--check", `${s.url}/`]);
    expect([ok.code, ok.stdout, ok.stderr]).toEqual([0, `ringside: check ${s.url}/: ok status=200\n`, ""]);
    const byPath = await runCli(["--check", "/"], { PORT: String(s.port), HOST: "127.0.0.1" });
    expect(byPath.code).toBe(0);
    await s.stop();
    const down = await runCli(["--check", `${s.url}/`]);
    expect([down.code, down.stdout]).toEqual([1, ""]);
    expect(down.stderr).toBe(`ringside: error: check ${s.url}/ failed: ECONNREFUSED\n`);
  });

  test("5xx fails the check", async () => {
    await using s = await startServer(["--mode", "batch", "--status", "503"]);
    const r = await runCli(["--check", `${s.url}/`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`ringside: error: check ${s.url}/ failed: status 503\n`);
  });

  test("a URL that is not http:// is a usage error", async () => {
    const r = await runCli(["--check", "https://127.0.0.1/"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ringside: error: --check 'https:\/\/127\.0\.0\.1\/' is not http:\/\/: .*give http:\/\/HOST:PORT\/PATH\n$/);
  });
});

test("--doctor reports kernel, io_uring, SQPOLL, ops and the mode it would pick", async () => {
  const r = await runCli(["--doctor"]);
  const report = Object.fromEntries(r.stdout.trimEnd().split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
  expect(Object.keys(report)).toEqual([
    "kernel", "kernel.io_uring_disabled", "seccomp", "cpus", "io_uring_setup", "sqpoll", "defer_taskrun",
    "ops", "ops needed", "recommended mode", "configured mode",
  ]);
  expect(report.kernel).toMatch(/^\d+\.\d+/);
  expect(report["kernel.io_uring_disabled"]).toMatch(/^(0|1|2) \(|^absent/);
  expect(report.io_uring_setup).toMatch(/^(works|fails: E[A-Z]+)/);
  expect(report["recommended mode"]).toMatch(/^(spin|sqpoll|batch|none|fallback): /);
  expect(report["configured mode"]).toMatch(/^spin \(--mode, RINGSIDE_MODE\): (runs natively(, but (sqpoll|batch) fits better)?|fails to start)$/);
  expect(r.code).toBe(report["configured mode"]!.includes("runs natively") ? 0 : 1);
  if (report.io_uring_setup!.startsWith("works")) {
    expect(report.ops).toMatch(/^\d+ of \d+: NOP /);
    expect(report["ops needed"]).toMatch(/^all present/);
  }
  const json = await runCli(["--doctor", "--mode", "batch", "--log-format", "json"]);
  expect(JSON.parse(json.stdout)["configured mode"]).toMatch(/^batch /);
});

describe("the Bun.serve fallback", () => {
  // native/test/deny_io_uring: the seccomp filter of Docker's default profile, without a container.
  const deny = join(ROOT, "native", "build", "deny_io_uring");
  const built = Bun.spawnSync(["make", "-s", "-C", join(ROOT, "native"), "build/deny_io_uring"]).success;

  test("io_uring denied by seccomp + --fallback: serves, warns once, marks itself degraded", async () => {
    expect(built).toBe(true);
    await using proc = Bun.spawn([deny, "1", "bun", CLI, "--host", "127.0.0.1", "--port", "0", "--fallback", "--admin-port", "0"], { stdout: "pipe", stderr: "pipe" });
    const out = { text: "" };
    const reader = (async () => {
      for await (const chunk of proc.stdout) out.text += new TextDecoder().decode(chunk);
    })();
    const line = await waitFor("startup line", () => out.text.split("\n").find((l) => l.startsWith("ringside: listening on")));
    expect(line).toMatch(/ mode=fallback keep_alive=false features= degraded=io_uring_blocked admin=http:\/\/127\.0\.0\.1:\d+ /);
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line)![1]);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect([res.status, res.headers.get("content-type"), await res.text()]).toEqual([200, "text/html", "Have a nice day!\n"]);
    const metrics = await (await fetch(`${adminUrl(line)}/metrics`)).text();
    expect(metrics).toMatch(/^ringside_degraded\{reason="io_uring_blocked"\} 1$/m);
    expect(metrics).toMatch(/^ringside_requests_total 1$/m);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    await reader;
    const stderr = await new Response(proc.stderr).text();
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/^ringside: warn: io_uring is unavailable \(io_uring_setup: Operation not permitted\).*serving through Bun\.serve instead \(--fallback\)/);
    expect(out.text).toMatch(/^ringside: stopped .* requests=1 /m);
  });

  test("io_uring denied without --fallback: the error names deploy/seccomp.json and --fallback", async () => {
    expect(built).toBe(true);
    const r = await runCli([CLI, "--host", "127.0.0.1", "--port", "0"], {}, [deny, "38", "bun"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/deploy\/seccomp\.json .* or pass --fallback \(RINGSIDE_FALLBACK=1\) to serve through Bun\.serve, degraded errno=ENOSYS\n$/);
  });

  test("--doctor under that filter: setup fails, seccomp named, exit 1", async () => {
    expect(built).toBe(true);
    const r = await runCli([CLI, "--doctor"], {}, [deny, "38", "bun"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^seccomp: +filtering /m);
    expect(r.stdout).toMatch(/^io_uring_setup: +fails: ENOSYS$/m);
    expect(r.stdout).toMatch(/^recommended mode: +none: .*blocked by the seccomp profile.* allow it \(deploy\/seccomp\.json\) or pass --fallback$/m);
    expect(r.stdout).toMatch(/^configured mode: +spin .*: fails to start$/m);
  });

  // Directly, on real sockets: what the fallback serves for other configurations.
  const fallback = (args: string[]): FallbackServer => FallbackServer.start(parseConfig(["--host", "127.0.0.1", "--port", "0", ...args], {}), "io_uring_blocked");

  test("the same status, headers and body; closes like the native default; counts", async () => {
    const f = fallback(["--status", "202", "--header", "X-Served-By: ringside", "--body", "hi\n"]);
    try {
      const res = await fetch(`http://127.0.0.1:${f.port}/any`);
      expect([res.status, res.headers.get("content-type"), res.headers.get("x-served-by"), res.headers.get("connection")]).toEqual([202, "text/html", "ringside", "close"]);
      expect(await res.text()).toBe("hi\n");
      const head = await fetch(`http://127.0.0.1:${f.port}/`, { method: "HEAD" });
      expect([head.status, await head.text()]).toEqual([202, ""]);
      expect(f.counters()).toMatchObject({ requests: 2, responses: 2, state: 1 });
      expect(f.features).toEqual([]);
    } finally {
      f.destroy();
    }
  });

  test("204 has no body; stop drains to stopped", async () => {
    const f = fallback(["--status", "204", "--keep-alive"]);
    const res = await fetch(`http://127.0.0.1:${f.port}/`);
    expect([res.status, await res.text()]).toEqual([204, ""]);
    f.stop(1000);
    expect(f.state()).not.toBe("running");
    await waitFor("stopped", () => f.state() === "stopped");
    f.destroy();
  });
});
