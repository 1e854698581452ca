// Keep-alive (--keep-alive) and pipelining, byte for byte over raw TCP, in
// spin, sqpoll (2 rings) and batch mode. Every server is started and stopped by its own test;
// the summary line's counters are checked after a clean SIGTERM.
import { describe, expect, test } from "bun:test";
import {
  CLOSE_11,
  DEFAULT_RESPONSE,
  KEEP_10,
  KEEP_11,
  RawConn,
  headOf,
  rawExchange,
  startServer,
  stopClean,
  type Running,
} from "../lib/helpers.ts";
import { summaryCounters, waitFor } from "../lib/proc.ts";

const GET11 = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
const GET11_CLOSE = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
const GET10 = "GET / HTTP/1.0\r\n\r\n";
const GET10_KEEP = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";

/** A clean stop with all connections gone; the counters. */
async function stopAllClosed(s: Running): Promise<Record<string, number>> {
  const c = await stopClean(s);
  expect(c.active).toBe(0);
  return c;
}

/** Sends one request and reads exactly one response of known bytes. */
async function exchange(conn: RawConn, request: string, expected: string): Promise<void> {
  const before = conn.length;
  conn.write(request);
  const text = await conn.readBytes(before + expected.length);
  expect(text.slice(before)).toBe(expected);
}

// sqpoll with 2 rings: several rings in an SQPOLL mode (batch takes auto's, 2 on 2 CPUs).
describe.each(["spin", "sqpoll", "batch"])("%s mode", (mode) => {
  const layout = mode === "sqpoll" ? ["--mode", mode, "--rings", "2"] : ["--mode", mode];
  const start = (args: string[] = []) => startServer([...layout, "--keep-alive", ...args]);

  test("HTTP/1.1 stays open: three requests, one connection", async () => {
    await using s = await start();
    using conn = await RawConn.open(s.port);
    for (let i = 0; i < 3; i++) await exchange(conn, GET11, KEEP_11);
    expect(conn.end).toBeUndefined();
    conn.close();
    const c = await stopAllClosed(s);
    expect(c).toMatchObject({ accepted: 1, requests: 3, responses: 3 });
  });

  test("HTTP/1.1 with Connection: close gets Connection: close and EOF", async () => {
    await using s = await start();
    using conn = await RawConn.open(s.port);
    await exchange(conn, GET11, KEEP_11);
    await exchange(conn, GET11_CLOSE, CLOSE_11);
    expect(await conn.waitEnd()).toBe("eof");
    expect(conn.text).toBe(KEEP_11 + CLOSE_11);
    const c = await stopAllClosed(s);
    expect(c).toMatchObject({ accepted: 1, requests: 2, responses: 2, lingering_closes: 0 });
  });

  test("Connection token lists: close wins, case-insensitive", async () => {
    await using s = await start();
    for (const header of ["keep-alive, close", "Upgrade,  CLOSE", "close, keep-alive"]) {
      const r = await rawExchange(s.port, [`GET / HTTP/1.1\r\nHost: t\r\nConnection: ${header}\r\n\r\n`]);
      expect(r.text).toBe(CLOSE_11);
      expect(r.end).toBe("eof");
    }
    await stopAllClosed(s);
  });

  test("HTTP/1.0 closes by default, with the plain HTTP/1.0 response", async () => {
    await using s = await start();
    const r = await rawExchange(s.port, [GET10]);
    expect(r.text).toBe(DEFAULT_RESPONSE);
    expect(r.end).toBe("eof");
    await stopAllClosed(s);
  });

  test("HTTP/1.0 with Connection: keep-alive stays open and says so", async () => {
    await using s = await start();
    using conn = await RawConn.open(s.port);
    await exchange(conn, GET10_KEEP, KEEP_10);
    await exchange(conn, "GET /again HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n", KEEP_10);
    expect(conn.end).toBeUndefined();
    await exchange(conn, GET10, DEFAULT_RESPONSE);
    expect(await conn.waitEnd()).toBe("eof");
    const c = await stopAllClosed(s);
    expect(c).toMatchObject({ accepted: 1, requests: 3, responses: 3 });
  });

  test("HEAD gets the header block only, in all four variants", async () => {
    await using s = await start();
    using conn = await RawConn.open(s.port);
    await exchange(conn, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", headOf(KEEP_11));
    await exchange(conn, "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", headOf(KEEP_10));
    // The connection is still usable after a bodiless response.
    await exchange(conn, GET11, KEEP_11);
    await exchange(conn, "HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", headOf(CLOSE_11));
    expect(await conn.waitEnd()).toBe("eof");
    const r = await rawExchange(s.port, ["HEAD / HTTP/1.0\r\n\r\n"]);
    expect(r.text).toBe(headOf(DEFAULT_RESPONSE));
    expect(r.end).toBe("eof");
    const c = await stopAllClosed(s);
    expect(c).toMatchObject({ accepted: 2, requests: 5, responses: 5 });
  });

  test("without --keep-alive, HTTP/1.1 gets the HTTP/1.0 response and a close", async () => {
    await using s = await startServer(layout);
    const r = await rawExchange(s.port, [GET11]);
    expect(r.text).toBe(DEFAULT_RESPONSE);
    expect(r.end).toBe("eof");
    await stopAllClosed(s);
  });

  test("--max-requests 3: the third response says close, then EOF", async () => {
    await using s = await start(["--max-requests", "3"]);
    using conn = await RawConn.open(s.port);
    await exchange(conn, GET11, KEEP_11);
    await exchange(conn, GET11, KEEP_11);
    await exchange(conn, GET11, CLOSE_11);
    expect(await conn.waitEnd()).toBe("eof");
    // HTTP/1.0 keep-alive: the last one is a plain HTTP/1.0 response.
    using c10 = await RawConn.open(s.port);
    await exchange(c10, GET10_KEEP, KEEP_10);
    await exchange(c10, GET10_KEEP, KEEP_10);
    await exchange(c10, GET10_KEEP, DEFAULT_RESPONSE);
    expect(await c10.waitEnd()).toBe("eof");
    const c = await stopAllClosed(s);
    expect(c).toMatchObject({ accepted: 2, requests: 6, responses: 6 });
  });

  test("--max-requests 3 with 5 pipelined: 3 answered, the rest drained, clean EOF", async () => {
    await using s = await start(["--max-requests", "3"]);
    const r = await rawExchange(s.port, [GET11.repeat(5)]);
    expect(r.text).toBe(KEEP_11 + KEEP_11 + CLOSE_11);
    expect(r.end).toBe("eof");
    const c = await stopAllClosed(s);
    expect(c).toMatchObject({ requests: 3, responses: 3, lingering_closes: 1 });
  });

  test("an idle keep-alive connection is closed after --idle-timeout, counted", async () => {
    await using s = await start(["--idle-timeout", "1s", "--header-timeout", "5s"]);
    using conn = await RawConn.open(s.port);
    await exchange(conn, GET11, KEEP_11);
    // Closed by the server with nothing more sent: a clean EOF, not a reset.
    expect(await conn.waitEnd(5_000)).toBe("eof");
    expect(conn.text).toBe(KEEP_11);
    const c = await stopAllClosed(s);
    expect(c).toMatchObject({ idle_timeouts: 1, header_timeouts: 0, requests: 1, responses: 1 });
  });

  test("activity resets the idle timer: requests spaced under the timeout keep the connection", async () => {
    await using s = await start(["--idle-timeout", "1s", "--stats-interval", "100ms"]);
    using conn = await RawConn.open(s.port);
    await exchange(conn, GET11, KEEP_11);
    // Wait for a moment the server has seen (a stats tick) rather than a fixed
    // sleep; each gap stays well under the 1 s timeout.
    for (let i = 0; i < 3; i++) {
      const ticks = s.stdout().split("\n").length;
      await waitFor("two stats ticks", () => s.stdout().split("\n").length >= ticks + 2, 2_000);
      await exchange(conn, GET11, KEEP_11);
    }
    expect(conn.end).toBeUndefined();
    conn.close();
    const c = await stopAllClosed(s);
    expect(c).toMatchObject({ idle_timeouts: 0, requests: 4 });
  });

  test("pipelining: one write, answers in order, right variant for each", async () => {
    await using s = await start();
    const batch =
      GET11 +
      "HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n" +
      GET10_KEEP +
      "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world" +
      "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
      GET11_CLOSE;
    const r = await rawExchange(s.port, [batch]);
    expect(r.text).toBe(KEEP_11 + headOf(KEEP_11) + KEEP_10 + KEEP_11 + headOf(KEEP_10) + CLOSE_11);
    expect(r.end).toBe("eof");
    const c = await stopAllClosed(s);
    expect(c).toMatchObject({ accepted: 1, requests: 6, responses: 6 });
  });

  test("pipelining: 1000 requests in one write (27 KB, over the 8 KB buffer) get 1000 responses", async () => {
    await using s = await start();
    const r = await rawExchange(s.port, [GET11.repeat(999) + GET11_CLOSE]);
    expect(r.text).toBe(KEEP_11.repeat(999) + CLOSE_11);
    expect(r.end).toBe("eof");
    const c = await stopAllClosed(s);
    expect(c).toMatchObject({ requests: 1000, responses: 1000 });
  });

  test("a 600 KB body is skipped across many reads, and the next request is answered", async () => {
    await using s = await start();
    using conn = await RawConn.open(s.port);
    const size = 600_000;
    conn.write(`POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: ${size}\r\n\r\n`);
    // The body holds request-like bytes too: none of them may be answered.
    const body = Buffer.alloc(size, GET11);
    for (let i = 0; i < size; i += 65_536) conn.write(body.subarray(i, i + 65_536));
    conn.write(GET11_CLOSE);
    expect(await conn.waitEnd(10_000)).toBe("eof");
    expect(conn.text).toBe(KEEP_11 + CLOSE_11);
    const c = await stopAllClosed(s);
    expect(c).toMatchObject({ requests: 2, responses: 2, bad_requests: 0 });
  });

  test("SIGTERM: idle keep-alive connections are closed at once, the server exits 0", async () => {
    await using s = await start(["--drain-timeout", "30s", "--idle-timeout", "60s"]);
    using idle = await RawConn.open(s.port);
    await exchange(idle, GET11, KEEP_11);
    const stopped = s.stop();
    // Closed by the drain, long before either timeout.
    expect(await idle.waitEnd(10_000)).toBe("eof");
    expect(idle.text).toBe(KEEP_11);
    const { code, stdout, stderr } = await stopped;
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(summaryCounters(stdout)).toMatchObject({ active: 0, requests: 1, responses: 1, idle_timeouts: 0 });
  });

  test("pipelining: requests split across writes are answered as they complete", async () => {
    await using s = await start();
    using conn = await RawConn.open(s.port);
    // One and a half requests, then the rest: the first is answered at once.
    const two = GET11 + GET11;
    const cut = GET11.length + 7;
    conn.write(two.slice(0, cut));
    expect(await conn.readBytes(KEEP_11.length)).toBe(KEEP_11);
    conn.write(two.slice(cut));
    expect(await conn.readBytes(2 * KEEP_11.length)).toBe(KEEP_11 + KEEP_11);
    conn.close();
    await stopAllClosed(s);
  });
});
