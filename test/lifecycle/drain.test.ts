// The drain (SIGTERM/SIGINT) is a state every connection passes through, with
// one rule: the next response to start is the connection's last (it says
// Connection: close and a close follows; a delayed one included). A response
// already being written is finished as it began; a connection that goes idle
// during the drain is closed at that moment; the process exits once the last
// connection is gone, not at the deadline.
// Each case uses a drain timeout far longer than the test's own deadlines, so
// only a server that closes on time can pass.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLOSE_11, KEEP_11, RawConn, startServer, waitForStats, type Running } from "../lib/helpers.ts";
import { summaryCounters, waitFor, within } from "../lib/proc.ts";

const GET11 = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
const LONG_DRAIN = ["--drain-timeout", "60s", "--idle-timeout", "60s", "--header-timeout", "60s"];
/** Well under the drain timeout: the server must be gone by then. */
const EXIT_DEADLINE_MS = 10_000;

/** An 8 MiB body file: more than a client that does not read takes at once. */
async function withBigBody(fn: (file: string, size: number) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ringside-drain-"));
  try {
    const size = 8 << 20;
    writeFileSync(join(dir, "big.bin"), Buffer.alloc(size, "x"));
    await fn(join(dir, "big.bin"), size);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function start(mode: string, extra: string[] = []): Promise<Running> {
  return startServer(["--mode", mode, "--keep-alive", "--stats-interval", "50ms", "--admin-port", "0", ...LONG_DRAIN, ...extra]);
}

type Stopped = ReturnType<Running["stop"]>;

/** Sends SIGTERM and waits until the ring says it is draining (/readyz 503).
 * The exit is wrapped: an async function would flatten the promise and wait. */
async function beginDrain(s: Running): Promise<{ exited: Stopped }> {
  const admin = s.startup.fields.admin!;
  const exited = s.stop();
  await waitFor("the ring to drain", async () => (await fetch(`${admin}/readyz`)).status === 503);
  return { exited };
}

/** The process exits 0 long before the drain timeout; its summary counters. */
async function exitsSoon({ exited }: { exited: Stopped }): Promise<Record<string, number>> {
  const end = await within("the process to exit before the drain timeout", exited, EXIT_DEADLINE_MS);
  expect({ code: end.code, stderr: end.stderr }).toEqual({ code: 0, stderr: "" });
  return summaryCounters(end.stdout);
}

describe.each(["spin", "sqpoll", "batch"])("%s mode", (mode) => {
  test("a body that completes during the drain gets Connection: close, then EOF", async () => {
    await using s = await start(mode);
    using conn = await RawConn.open(s.port);
    conn.write("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n");
    await waitForStats(s, "the header block read", (c) => c.requests === 1);
    const stopped = await beginDrain(s);
    conn.write("hello");
    expect(await conn.waitEnd(EXIT_DEADLINE_MS)).toBe("eof");
    expect(conn.text).toBe(CLOSE_11);
    expect(await exitsSoon(stopped)).toMatchObject({ active: 0, requests: 1, responses: 1 });
  });

  test("a request completed during the drain: answered with Connection: close, then EOF", async () => {
    await using s = await start(mode);
    using conn = await RawConn.open(s.port);
    conn.write(GET11.slice(0, 10));
    await waitForStats(s, "the connection accepted", (c) => c.accepted === 1);
    const stopped = await beginDrain(s);
    // The rest of this request and a pipelined second one: only the first is answered.
    conn.write(GET11.slice(10) + GET11);
    expect(await conn.waitEnd(EXIT_DEADLINE_MS)).toBe("eof");
    expect(conn.text).toBe(CLOSE_11);
    expect(await exitsSoon(stopped)).toMatchObject({ active: 0, responses: 1 });
  });

  test("a large response in progress at the signal is finished, then the idle connection closes", async () => {
    await withBigBody(async (file, size) => {
      await using s = await start(mode, ["--body-file", file]);
      using conn = await RawConn.open(s.port);
      conn.sock.pause(); // the response cannot all be sent until we read
      conn.write(GET11);
      await waitForStats(s, "the request read", (c) => c.requests === 1);
      const stopped = await beginDrain(s);
      conn.sock.resume();
      expect(await conn.waitEnd(EXIT_DEADLINE_MS)).toBe("eof");
      const head = `HTTP/1.1 200 OK\r\nContent-type: text/html\r\nContent-length: ${size}\r\n\r\n`;
      expect(conn.text.slice(0, head.length)).toBe(head);
      expect(conn.length).toBe(head.length + size);
      expect(await exitsSoon(stopped)).toMatchObject({ active: 0, requests: 1, responses: 1 });
    });
  });

  test("a delayed response queued before the signal is the last: Connection: close, the request pipelined behind it unanswered, a clean EOF", async () => {
    await using s = await start(mode, ["--route", "/slow=200 body=slow delay=700ms"]);
    using conn = await RawConn.open(s.port);
    conn.write("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    await waitForStats(s, "the response held back", (c) => c.delayed === 1);
    conn.write(GET11); // held behind the delayed response
    const stopped = await beginDrain(s);
    expect(await conn.waitEnd(EXIT_DEADLINE_MS)).toBe("eof");
    expect(conn.text).toBe("HTTP/1.1 200 OK\r\nContent-type: text/plain\r\nContent-length: 4\r\nConnection: close\r\n\r\nslow");
    expect(await exitsSoon(stopped)).toMatchObject({ active: 0, requests: 1, responses: 1, delayed: 1, delayed_cut: 0, lingering_closes: 1 });
  });

  test("a response being written at the signal is finished as it began; the request held behind it is answered last, with Connection: close", async () => {
    await withBigBody(async (file, size) => {
      await using s = await start(mode, ["--body-file", file]);
      using conn = await RawConn.open(s.port);
      conn.sock.pause();
      conn.write(GET11);
      await waitForStats(s, "the first request read", (c) => c.requests === 1);
      conn.write(GET11); // held: the first response is still being written
      const stopped = await beginDrain(s);
      conn.sock.resume();
      expect(await conn.waitEnd(EXIT_DEADLINE_MS)).toBe("eof");
      const keep = `HTTP/1.1 200 OK\r\nContent-type: text/html\r\nContent-length: ${size}\r\n\r\n`;
      const last = `HTTP/1.1 200 OK\r\nContent-type: text/html\r\nContent-length: ${size}\r\nConnection: close\r\n\r\n`;
      expect(conn.text.slice(0, keep.length)).toBe(keep);
      expect(conn.text.slice(keep.length + size, keep.length + size + last.length)).toBe(last);
      expect(conn.length).toBe(keep.length + last.length + 2 * size);
      expect(await exitsSoon(stopped)).toMatchObject({ active: 0, requests: 2, responses: 2 });
    });
  });

  test("an idle keep-alive connection is closed at the signal, with no bytes", async () => {
    await using s = await start(mode);
    using conn = await RawConn.open(s.port);
    conn.write(GET11);
    expect(await conn.readBytes(KEEP_11.length)).toBe(KEEP_11);
    const stopped = await beginDrain(s);
    expect(await conn.waitEnd(EXIT_DEADLINE_MS)).toBe("eof");
    expect(conn.text).toBe(KEEP_11);
    expect(await exitsSoon(stopped)).toMatchObject({ active: 0, requests: 1, responses: 1, idle_timeouts: 0 });
  });
});
