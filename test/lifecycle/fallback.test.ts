// The Bun.serve fallback: with io_uring denied by a seccomp filter (no
// container needed), and directly on real sockets for other configurations.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseConfig } from "../../src/config/config.ts";
import { FallbackServer } from "../../src/serve/fallback.ts";
import { CLI, rawExchange, ROOT, runCli } from "../lib/helpers.ts";
import { parseStartup, spawnCaptured, waitFor } from "../lib/proc.ts";

describe("the Bun.serve fallback", () => {
  // native/test/deny_io_uring: the seccomp filter of Docker's default profile, without a container.
  const deny = join(ROOT, "native", "build", "deny_io_uring");
  const built = Bun.spawnSync(["make", "-s", "-C", join(ROOT, "native"), "build/deny_io_uring"]).success;

  test("io_uring denied by seccomp + --fallback: serves, warns once, marks itself degraded", async () => {
    expect(built).toBe(true);
    const child = spawnCaptured([deny, "1", "bun", CLI, "--host", "127.0.0.1", "--port", "0", "--fallback", "--admin-port", "0"]);
    await using proc = child.proc;
    const startup = await waitFor("startup line", () => parseStartup(child.stdout()));
    expect(startup.line).toMatch(/ mode=fallback rings=1 keep_alive=false features= degraded=io_uring_blocked admin=http:\/\/127\.0\.0\.1:\d+ /);
    const res = await fetch(`http://127.0.0.1:${startup.port}/`);
    expect([res.status, res.headers.get("content-type"), await res.text()]).toEqual([200, "text/html", "Have a nice day!\n"]);
    const metrics = await (await fetch(`${startup.fields.admin}/metrics`)).text();
    expect(metrics).toMatch(/^ringside_degraded\{reason="io_uring_blocked"\} 1$/m);
    expect(metrics).toMatch(/^ringside_requests_total 1$/m);
    proc.kill("SIGTERM");
    expect(await child.done).toBe(0);
    const stderr = child.stderr();
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/^ringside: warn: io_uring is unavailable \((ring 0: )?io_uring_setup: Operation not permitted\).*serving through Bun\.serve instead \(--fallback\)/);
    expect(child.stdout()).toMatch(/^ringside: stopped .* requests=1 /m);
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
    expect(r.stdout).toMatch(/^recommended mode: +none: io_uring_setup fails: ENOSYS: a seccomp profile blocks it .*; in a container run with deploy\/seccomp\.json .*, or pass --fallback$/m);
    expect(r.stdout).toMatch(/^configured mode: +batch, 2 rings \(auto: 2 CPUs, quota none; spin needs 3; 2 rings\): fails to start$/m);
  });

  // Directly, on real sockets: what the fallback serves for other configurations.
  const fallback = async (args: string[]): Promise<FallbackServer> => FallbackServer.start(await parseConfig(["--host", "127.0.0.1", "--port", "0", ...args], {}), "io_uring_blocked");

  test("the same status, headers and body; closes like the native default; counts", async () => {
    const f = await fallback(["--status", "202", "--header", "X-Served-By: ringside", "--body", "hi\n"]);
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

  test("routes and delays as the ring serves them: escapes not decoded, counted per route", async () => {
    const f = await fallback(["--preset", "default-backend", "--route", "/slow/*=200 body=slow delay=200ms", "--route", "/api/*=201"]);
    try {
      const get = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${f.port}${path}`);
        return [res.status, await res.text()];
      };
      expect(await get("/healthz?x=1")).toEqual([200, "ok"]);
      expect(await get("/nope")).toEqual([404, "default backend - 404"]);
      // Escapes are not decoded (a raw request: fetch() would normalise the path itself).
      const raw = await rawExchange(f.port, ["GET /%68ealthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"]);
      expect(raw.text).toMatch(/^HTTP\/1\.1 404 Not Found\r\n[^]*\r\n\r\ndefault backend - 404$/);
      expect(await get("/api/x")).toEqual([201, "Created\n"]);
      const t0 = performance.now();
      expect(await get("/slow/1")).toEqual([200, "slow"]);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(199);
      expect(f.routeRequests()).toEqual([2, 1, 1, 1]);
      expect(f.counters()).toMatchObject({ requests: 5, responses: 5, delayed: 1 });
    } finally {
      f.destroy();
    }
  });

  test("204 has no body; stop drains to stopped", async () => {
    const f = await fallback(["--status", "204", "--keep-alive"]);
    const res = await fetch(`http://127.0.0.1:${f.port}/`);
    expect([res.status, await res.text()]).toEqual([204, ""]);
    f.stop(1000);
    expect(f.state()).not.toBe("running");
    await waitFor("stopped", () => f.state() === "stopped");
    f.destroy();
  });
});
