// Per-request control (--control query|header|both): a request chooses its
// status, delay, size and fault by query (?status=503) or header
// (X-Ringside-Status: 503), in fortio's syntax, the query over the header,
// bounded by --max-delay and --max-size. Off by default: a default backend
// cannot be steered. A value that cannot be read is a 400 naming the control.
import { describe, expect, test } from "bun:test";
import { DEFAULT_RESPONSE, rawExchange, startServer, stopClean } from "../lib/helpers.ts";
import { controlError, HOSTILE, seen } from "../lib/outcomes.ts";

const GET = (target: string, headers = ""): string => `GET ${target} HTTP/1.0\r\n${headers}\r\n`;
const text = async (port: number, req: string): Promise<string> => (await rawExchange(port, [req])).text;
const PATTERN = "ringside generated body 0123456789abcdefghijklmnopqrstuvwxyz\n";

describe.each(["spin", "sqpoll", "batch"])("%s mode", (mode) => {
  test("--control query: status, size, delay and fault by query; the last of a key wins; weights of 0 never draw", async () => {
    await using s = await startServer(["--mode", mode, "--control", "query", "--route", "/r=201"]);
    expect(await text(s.port, GET("/?status=503"))).toBe("HTTP/1.0 503 Service Unavailable\r\nContent-type: text/html\r\nContent-length: 17\r\n\r\nHave a nice day!\n");
    // A route without a body of its own: a status asked for brings its reason phrase.
    expect(await text(s.port, GET("/r?x=1&status=429&y"))).toBe("HTTP/1.0 429 Too Many Requests\r\nContent-type: text/plain\r\nContent-length: 18\r\n\r\nToo Many Requests\n");
    expect(await text(s.port, GET("/r?status=205"))).toBe("HTTP/1.0 205 Reset Content\r\nContent-type: text/plain\r\nContent-length: 0\r\n\r\n");
    expect(await text(s.port, `HEAD /r?status=404&size=10 HTTP/1.0\r\n\r\n`)).toBe("HTTP/1.0 404 Not Found\r\nContent-type: text/plain\r\nContent-length: 10\r\n\r\n");
    expect(await text(s.port, GET("/?size=70"))).toBe(`HTTP/1.0 200 OK\r\nContent-type: text/html\r\nContent-length: 70\r\n\r\n${PATTERN}${PATTERN.slice(0, 9)}`);
    expect(await text(s.port, GET("/?status=503&status=200"))).toBe(DEFAULT_RESPONSE);
    expect(await text(s.port, GET("/?status=503:0"))).toBe(DEFAULT_RESPONSE);
    const t0 = performance.now();
    expect(await text(s.port, GET("/?delay=150ms"))).toBe(DEFAULT_RESPONSE);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
    expect(await seen(s.port, GET("/?fault=close"))).toEqual({ fault: "eof", bytes: 0 });
    expect((await seen(s.port, GET("/r?fault=reset:100")) as { bytes: number }).bytes).toBe(0);
    // The header is not read in query mode.
    expect(await text(s.port, GET("/", "X-Ringside-Status: 503\r\n"))).toBe(DEFAULT_RESPONSE);
    expect(await stopClean(s)).toMatchObject({ requests: 11, responses: 9, delayed: 1, faults_close: 1, faults_reset: 1, control_errors: 0 });
  }, 30_000);

  test("--control header: X-Ringside-* (any case; the last of a name wins); the query is not read", async () => {
    await using s = await startServer(["--mode", mode, "--control", "header"]);
    expect(await text(s.port, GET("/", "x-ringside-status: 502\r\n"))).toStartWith("HTTP/1.0 502 Bad Gateway\r\n");
    expect(await text(s.port, GET("/", "X-Ringside-Size: 5\r\nX-Ringside-Status: 503\r\nX-RINGSIDE-STATUS: 504\r\n"))).toBe("HTTP/1.0 504 Gateway Timeout\r\nContent-type: text/html\r\nContent-length: 5\r\n\r\nrings");
    expect(await seen(s.port, GET("/", "X-Ringside-Fault: close\r\n"))).toEqual({ fault: "eof", bytes: 0 });
    expect(await text(s.port, GET("/?status=503"))).toBe(DEFAULT_RESPONSE);
    await stopClean(s);
  }, 30_000);

  test("--control both: the query's value over the header's", async () => {
    await using s = await startServer(["--mode", mode, "--control", "both"]);
    expect(await text(s.port, GET("/?status=418", "X-Ringside-Status: 503\r\n"))).toStartWith("HTTP/1.0 418 I'm a Teapot\r\n");
    expect(await text(s.port, GET("/", "X-Ringside-Status: 503\r\n"))).toStartWith("HTTP/1.0 503 ");
    await stopClean(s);
  }, 30_000);

  test("hostile values: huge sizes and delays, malformed lists, weights over 100%, unknown statuses: a 400 naming the control, counted", async () => {
    await using s = await startServer(["--mode", mode, "--control", "both", "--max-delay", "10s"]);
    for (const [query, key] of HOSTILE) {
      const r = await rawExchange(s.port, [GET(`/?${query}`)]);
      expect({ query, text: r.text, end: r.end }).toEqual({ query, text: controlError(key), end: "eof" });
    }
    const h = await rawExchange(s.port, [GET("/", "X-Ringside-Delay: 1h\r\n")]);
    expect(h.text).toBe(controlError("delay"));
    const c = await stopClean(s);
    expect(c).toMatchObject({ requests: 0, control_errors: HOSTILE.length + 1, bad_requests: HOSTILE.length + 1, responses: HOSTILE.length + 1 });
  }, 30_000);
});

test("off by default: queries and headers are not read, every hostile value too; a default backend cannot be steered", async () => {
  for (const args of [[], ["--preset", "default-backend"]]) {
    await using s = await startServer(["--mode", "batch", ...args]);
    const plain = await text(s.port, GET("/"));
    for (const [query] of [...HOSTILE, ["status=503&delay=5s&size=99&fault=reset"]]) {
      expect(await text(s.port, GET(`/?${query}`, "X-Ringside-Fault: reset\r\nX-Ringside-Status: 503\r\n"))).toBe(plain);
    }
    expect(s.startup.line).not.toMatch(/ control=/);
    expect(await stopClean(s)).toMatchObject({ control_errors: 0, bad_requests: 0, faults_reset: 0 });
  }
}, 30_000);
