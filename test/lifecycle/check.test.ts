// --check: the HEALTHCHECK command, against the real server on this host.
import { describe, expect, test } from "bun:test";
import { runCli, startServer } from "../lib/helpers.ts";

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
