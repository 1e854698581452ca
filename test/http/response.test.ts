// The response a client gets, byte for byte, over raw TCP and with curl.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, DEFAULT_RESPONSE, rawExchange, startServer } from "../lib/helpers.ts";
import { findTask, listeningPort, statusField, waitFor } from "../lib/proc.ts";

const GET = "GET / HTTP/1.0\r\n\r\n";

describe.each(["spin", "sqpoll", "batch"])("%s mode", (mode) => {
  test("default response byte for byte, then a clean close", async () => {
    await using s = await startServer(["--mode", mode]);
    for (const path of ["/", "/any/path?q=1", "*"]) {
      const r = await rawExchange(s.port, [`GET ${path} HTTP/1.0\r\n\r\n`]);
      expect(r.text).toBe(DEFAULT_RESPONSE);
      expect(r.end).toBe("eof");
    }
    const r = await rawExchange(s.port, ["POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"]);
    expect(r.text).toBe(DEFAULT_RESPONSE);
  });

  test("startup line names the URL, mode and ring features", async () => {
    await using s = await startServer(["--mode", mode]);
    const line = s.stdout().split("\n")[0]!;
    expect(line).toMatch(new RegExp(`^ringside: listening on http://127\\.0\\.0\\.1:${s.port} .*mode=${mode} `));
    expect(line).toMatch(/features=\S*fixed_files/);
    expect(line).toMatch(/kernel=\d+\.\d+/);
    if (mode === "batch") expect(line).toMatch(/features=\S*defer_taskrun/);
    else expect(line).toMatch(/features=sqpoll/);
  });
});

test("HEAD gets the headers only", async () => {
  await using s = await startServer();
  const r = await rawExchange(s.port, ["HEAD / HTTP/1.0\r\n\r\n"]);
  expect(r.text).toBe("HTTP/1.0 200 OK\r\nContent-type: text/html\r\nContent-length: 17\r\n\r\n");
  expect(r.end).toBe("eof");
});

test("custom body, status, content type and headers; length computed", async () => {
  await using s = await startServer([
    "--body", "{\"ok\":true}", "--status", "503", "--content-type", "application/json",
    "--header", "Cache-Control: no-store", "--header", "X-Served-By: ringside",
  ]);
  const r = await rawExchange(s.port, [GET]);
  expect(r.text).toBe(
    "HTTP/1.0 503 Service Unavailable\r\nContent-type: application/json\r\nContent-length: 11\r\n" +
      "Cache-Control: no-store\r\nX-Served-By: ringside\r\n\r\n{\"ok\":true}",
  );
});

test("env vars configure the response; flags override them", async () => {
  await using s = await startServer(["--status", "202"], { RINGSIDE_BODY: "from env", RINGSIDE_STATUS: "404" });
  const r = await rawExchange(s.port, [GET]);
  expect(r.text).toBe("HTTP/1.0 202 Accepted\r\nContent-type: text/html\r\nContent-length: 8\r\n\r\nfrom env");
});

test("--body-file serves a file's bytes, binary and large, unchanged", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ringside-"));
  const body = new Uint8Array(300_000).map((_, i) => (i * 7919) % 256);
  writeFileSync(join(dir, "body.bin"), body);
  await using s = await startServer(["--body-file", join(dir, "body.bin"), "--content-type", "application/octet-stream"]);
  const r = await rawExchange(s.port, [GET]);
  const head = "HTTP/1.0 200 OK\r\nContent-type: application/octet-stream\r\nContent-length: 300000\r\n\r\n";
  expect(r.data.subarray(0, head.length).toString()).toBe(head);
  expect(Buffer.compare(r.data.subarray(head.length), Buffer.from(body))).toBe(0);
});

test("204 has neither body nor Content-length", async () => {
  await using s = await startServer(["--status", "204"]);
  const r = await rawExchange(s.port, [GET]);
  expect(r.text).toBe("HTTP/1.0 204 No Content\r\nContent-type: text/html\r\n\r\n");
});

test("curl gets the canned response", async () => {
  await using s = await startServer();
  const proc = Bun.spawnSync(["curl", "-sS", "--http1.1", "-i", s.url + "/health"]);
  expect(proc.exitCode).toBe(0);
  expect(proc.stdout.toString()).toBe(DEFAULT_RESPONSE);
});

test("IPv6 loopback works", async () => {
  await using s = await startServer(["--host", "::1"]);
  expect(s.stdout()).toContain(`listening on http://[::1]:${s.port}`);
  const proc = Bun.spawnSync(["curl", "-sS", `http://[::1]:${s.port}/`]);
  expect(proc.exitCode).toBe(0);
  expect(proc.stdout.toString()).toBe("Have a nice day!\n");
});

test("--log-format json prints one JSON object per event", async () => {
  await using s = await startServer(["--log-format", "json"]);
  const start = JSON.parse(s.stdout().split("\n")[0]!) as Record<string, unknown>;
  expect(start).toMatchObject({ level: "info", event: "listening", port: s.port, mode: s.startup.mode });
  expect(start.auto).toMatch(/^\d+ CPUs?, quota /);
  const end = await s.stop();
  expect(end.code).toBe(0);
  const events = end.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { event: string }).event);
  expect(events).toEqual(["listening", "stopping", "summary"]);
});

test("--stats-interval prints a line of rates and counters per interval", async () => {
  await using s = await startServer(["--stats-interval", "100ms"]);
  await rawExchange(s.port, [GET]);
  const line = await waitFor("a stats line counting the request", () =>
    s.stdout().split("\n").find((l) => /^ringside: stats rps=\d+ accepted=1 active=0 requests=1 responses=1 /.test(l)),
  );
  expect(line).toContain("bytes_sent=81");
});

test("--quiet prints nothing on start and stop, and still serves", async () => {
  await using proc = Bun.spawn(["bun", CLI, "--host", "127.0.0.1", "--port", "0", "--quiet"], { stdout: "pipe", stderr: "pipe" });
  const port = await waitFor("the server to listen", () => listeningPort(proc.pid));
  expect((await rawExchange(port, [GET])).text).toBe(DEFAULT_RESPONSE);
  proc.kill("SIGTERM");
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ out, err, code }).toEqual({ out: "", err: "", code: 0 });
});

/** The CPUs the first thread whose name starts with `name` may run on ("1", "0-1"). */
function allowedCpus(pid: number, name: string): string {
  const task = findTask(pid, (comm) => comm.startsWith(name));
  if (!task) throw new Error(`no thread named ${name}* in ${pid}`);
  return statusField(pid, "Cpus_allowed_list", task.tid)!;
}

test.skipIf(availableParallelism() < 2)("--cpu pins the ring thread alone; --sq-cpu pins the SQPOLL thread", async () => {
  const all = allowedCpus(process.pid, "");
  {
    // The SQPOLL thread inherits its creator's mask: --cpu must not leak to it.
    await using s = await startServer(["--mode", "spin", "--cpu", "1"]);
    expect(allowedCpus(s.proc.pid, "ringside-ring")).toBe("1");
    expect(allowedCpus(s.proc.pid, "iou-sqp-")).toBe(all);
    expect((await rawExchange(s.port, [GET])).text).toBe(DEFAULT_RESPONSE);
  }
  await using s = await startServer(["--mode", "spin", "--cpu", "1", "--sq-cpu", "0"]);
  expect(allowedCpus(s.proc.pid, "ringside-ring")).toBe("1");
  expect(allowedCpus(s.proc.pid, "iou-sqp-")).toBe("0");
  expect((await rawExchange(s.port, [GET])).text).toBe(DEFAULT_RESPONSE);
});
