// The admin listener against the real server on this host: health, readiness
// (503 while draining), /metrics with every counter; bad admin flags.
import { describe, expect, test } from "bun:test";
import { abiDescription, enumNames } from "../../src/serve/native.ts";
import { DEFAULT_RESPONSE, rawExchange, runCli, startServer } from "../lib/helpers.ts";
import { waitFor } from "../lib/proc.ts";

describe("admin listener", () => {
  test("/healthz, /readyz and /metrics with every counter, mode and features", async () => {
    await using s = await startServer(["--mode", "batch", "--admin-port", "0"]);
    const admin = s.startup.fields.admin!;
    expect((await rawExchange(s.port, ["GET / HTTP/1.0\r\n\r\n"])).text).toBe(DEFAULT_RESPONSE);
    const health = await fetch(`${admin}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    const ready = await fetch(`${admin}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, "ready\n"]);
    const res = await fetch(`${admin}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = await res.text();
    for (const { name } of abiDescription().counters.fields) {
      expect(metrics).toMatch(new RegExp(`^ringside_${name}(_total)? \\d+$`, "m"));
    }
    expect(metrics).toMatch(/^ringside_requests_total [1-9]\d*$/m);
    expect(metrics).toMatch(/^ringside_info\{version="[^"]+",mode="batch",features="[^"]*defer_taskrun[^"]*",degraded=""\} 1$/m);
    expect(metrics).toMatch(/^ringside_degraded 0$/m);
    for (const f of enumNames(abiDescription(), "feature")) expect(metrics).toMatch(new RegExp(`^ringside_feature\\{feature="${f}"\\} [01]$`, "m"));
    expect(metrics).toMatch(/^process_cpu_seconds_total \d+(\.\d+)?(e-\d+)?$/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes [1-9]\d*$/m);
    expect((await fetch(`${admin}/nope`)).status).toBe(404);
    const { code } = await s.stop();
    expect(code).toBe(0);
  });

  test("/readyz turns 503 while draining", async () => {
    await using s = await startServer(["--mode", "batch", "--admin-port", "0", "--drain-timeout", "3s"]);
    const admin = s.startup.fields.admin!;
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
