// Input lands in a ring of provided buffers (2 KiB each): a request bigger
// than one, requests that straddle two, and a ring too small for what the
// clients send at once (the receive waits for a buffer to come back, counted
// in buffer_shortages) must all be answered in full, in order, in every mode.
import { describe, expect, test } from "bun:test";
import { DEFAULT_RESPONSE, KEEP_11, RawConn, rawExchange, startServer, stopClean } from "../lib/helpers.ts";

const GET11 = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

/** Sends `request` on a fresh keep-alive connection and reads `want` bytes. */
async function exchange(port: number, request: string, want: number): Promise<string> {
  using conn = await RawConn.open(port, 10_000);
  conn.write(request);
  return await conn.readBytes(want, 20_000);
}

describe.each(["spin", "batch"])("%s mode", (mode) => {
  test("a header block of 6 KiB spans three buffers; 150 pipelined requests span two", async () => {
    await using s = await startServer(["--mode", mode, "--rings", "1", "--keep-alive"]);
    const big = `GET / HTTP/1.1\r\nHost: t\r\nX-Pad: ${"p".repeat(6000)}\r\n\r\n`;
    expect(await exchange(s.port, big + GET11, 2 * KEEP_11.length)).toBe(KEEP_11 + KEEP_11);
    expect(await exchange(s.port, GET11.repeat(150), 150 * KEEP_11.length)).toBe(KEEP_11.repeat(150));
    expect(await stopClean(s)).toMatchObject({ requests: 152, responses: 152, buffer_shortages: 0 });
  });

  test("a ring of 2 buffers under 32 clients sending bodies and pipelined requests at once: all answered, shortage counted", async () => {
    await using s = await startServer(["--mode", mode, "--rings", "1", "--keep-alive", "--recv-buffers", "2"]);
    const body = "b".repeat(100_000);
    const request = `POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n${body}` + GET11.repeat(20);
    const answers = await Promise.all(Array.from({ length: 32 }, () => exchange(s.port, request, 21 * KEEP_11.length)));
    for (const a of answers) expect(a).toBe(KEEP_11.repeat(21));
    const c = await stopClean(s);
    expect(c).toMatchObject({ requests: 32 * 21, responses: 32 * 21, recv_errors: 0, client_resets: 0 });
    expect(c.buffer_shortages).toBeGreaterThan(0);
    console.log(`${mode}, keep-alive: ${c.buffer_shortages} buffer shortages over ${c.requests} requests`);
  }, 60_000);

  test("close mode, one read at a time: a ring of 2 buffers under 32 clients sending bodies at once", async () => {
    await using s = await startServer(["--mode", mode, "--rings", "1", "--recv-buffers", "2"]);
    const request = `POST / HTTP/1.0\r\nContent-Length: 100000\r\n\r\n${"b".repeat(100_000)}`;
    const answers = await Promise.all(Array.from({ length: 32 }, () => rawExchange(s.port, [request], { timeoutMs: 20_000 })));
    for (const a of answers) expect({ text: a.text, end: a.end }).toEqual({ text: DEFAULT_RESPONSE, end: "eof" });
    const c = await stopClean(s);
    expect(c).toMatchObject({ requests: 32, responses: 32, recv_errors: 0, client_resets: 0 });
    console.log(`${mode}, close: ${c.buffer_shortages} buffer shortages over ${c.requests} requests`);
  }, 60_000);
});
