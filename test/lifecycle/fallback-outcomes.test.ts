// The Bun.serve fallback as a test target: the same draws as one native ring
// (the same generator, seeded the same way), generated bodies, control by
// query and header with the same 400s, and the faults as Bun.serve can give
// them (an RST; a close and a hang at Bun's next timeout tick, docs/http.md).
// Started directly, on real sockets, next to the native server.
import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/config.ts";
import { FallbackServer } from "../../src/serve/fallback.ts";
import { STATUS_CODES, generatedBytes } from "../../src/serve/responses.ts";
import { rawExchange, startServer, stopClean } from "../lib/helpers.ts";
import { controlError, HOSTILE, scrapeOutcomes, seen, seenMany, tallySeen } from "../lib/outcomes.ts";

const fallback = async (args: string[]): Promise<FallbackServer> => FallbackServer.start(await parseConfig(["--host", "127.0.0.1", "--port", "0", ...args], {}), "io_uring_blocked");
const GET = (target: string, headers = ""): string => `GET ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n${headers}\r\n`;
const PATTERN = Buffer.from(generatedBytes(4096)).toString("latin1");
const bodyOf = (text: string): string => text.slice(text.indexOf("\r\n\r\n") + 4);

describe("the Bun.serve fallback as a test target", () => {
  test("the same seed draws what one native ring draws: every status and fault, counted the same", async () => {
    const N = 1000;
    const args = ["--seed", "42", "--status", "200,503@10%,429@5%", "--delay", "0,2ms@10%", "--fault", "reset@2%,close@1%"];
    await using native = await startServer(["--mode", "batch", "--rings", "1", "--admin-port", "0", ...args]);
    const nativeSeen = tallySeen(await seenMany(native.port, GET("/"), N, 16));
    const nativeOutcomes = (await scrapeOutcomes(native.startup.fields.admin!)).default!;
    await stopClean(native);
    const f = await fallback(args);
    try {
      const fallbackSeen = tallySeen(await seenMany(f.port, GET("/"), N, 16));
      const [counts] = f.routeOutcomes();
      const statuses = Object.fromEntries(STATUS_CODES.flatMap((code, i) => (counts![i] ? [[String(code), counts![i]]] : [])));
      const faults: Record<string, number> = { reset: counts![STATUS_CODES.length]!, close: counts![STATUS_CODES.length + 1]! };
      console.log(`fallback: ${JSON.stringify({ statuses, faults })}; native ${JSON.stringify(nativeOutcomes)}`);
      expect({ requests: f.routeRequests()[0], statuses, faults }).toEqual({ requests: N, statuses: nativeOutcomes.statuses, faults: nativeOutcomes.faults });
      // What the clients saw, the same way: the same codes, RSTs and EOFs.
      expect(fallbackSeen).toEqual(nativeSeen);
      expect(f.counters()).toMatchObject({ requests: N, faults_reset: faults.reset, faults_close: faults.close, responses: N - faults.reset! - faults.close! });
    } finally {
      f.destroy();
    }
  }, 60_000);

  test("generated bodies: the ring's bytes, their length for HEAD; a drawn status keeps its size, a route without a body gets its reason", async () => {
    const f = await fallback(["--size", "70", "--route", "/r=200,503@100%"]);
    try {
      const r = await rawExchange(f.port, [GET("/")]);
      expect(r.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\nContent-Length: 70\r\n\r\n/i);
      expect(bodyOf(r.text)).toBe(PATTERN.slice(0, 70));
      const head = await rawExchange(f.port, [`HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`]);
      expect(head.text).toMatch(/\r\ncontent-length: 70\r\n\r\n$/i);
      expect(bodyOf((await rawExchange(f.port, [GET("/r")])).text)).toBe("Service Unavailable\n");
    } finally {
      f.destroy();
    }
  }, 30_000);

  test("control by query and header, the query first; hostile values get the ring's 400, naming the control; off by default", async () => {
    const f = await fallback(["--control", "both", "--max-delay", "10s"]);
    try {
      const status = async (req: string) => /^HTTP\/1\.1 (\d+)/.exec((await rawExchange(f.port, [req])).text)?.[1];
      expect(await status(GET("/?status=503"))).toBe("503");
      expect(await status(GET("/", "X-Ringside-Status: 429\r\n"))).toBe("429");
      expect(await status(GET("/?status=418", "X-Ringside-Status: 429\r\n"))).toBe("418");
      expect(bodyOf((await rawExchange(f.port, [GET("/?size=9")])).text)).toBe(PATTERN.slice(0, 9));
      const t0 = performance.now();
      expect(await status(GET("/?delay=100ms"))).toBe("200");
      expect(performance.now() - t0).toBeGreaterThanOrEqual(99);
      for (const [query, key] of HOSTILE) {
        const r = await rawExchange(f.port, [GET(`/?${query}`)]);
        expect({ query, status: r.text.slice(0, 12), body: bodyOf(r.text), end: r.end }).toEqual({ query, status: "HTTP/1.1 400", body: bodyOf(controlError(key)), end: "eof" });
      }
      expect(f.counters()).toMatchObject({ control_errors: HOSTILE.length, bad_requests: HOSTILE.length, delayed: 1 });
    } finally {
      f.destroy();
    }
    const off = await fallback([]);
    try {
      expect(bodyOf((await rawExchange(off.port, [GET("/?status=503&fault=reset", "X-Ringside-Size: 3\r\n")])).text)).toBe("Have a nice day!\n");
    } finally {
      off.destroy();
    }
  }, 30_000);

  test("faults: reset an RST; close and hang an EOF with no byte (at Bun's timeout tick); counted by kind and route", async () => {
    const f = await fallback(["--header-timeout", "1s", "--route", "/reset fault=reset", "--route", "/close fault=close", "--route", "/hang fault=hang"]);
    try {
      expect(await seen(f.port, GET("/reset"))).toEqual({ fault: "reset", bytes: 0 });
      expect(await seen(f.port, GET("/close"))).toEqual({ fault: "eof", bytes: 0 });
      const t0 = performance.now();
      expect(await seen(f.port, GET("/hang"))).toEqual({ fault: "eof", bytes: 0 });
      expect(performance.now() - t0).toBeGreaterThanOrEqual(1000);
      expect(f.counters()).toMatchObject({ requests: 3, responses: 0, faults_reset: 1, faults_close: 1, faults_hang: 1, header_timeouts: 1 });
      const faults = f.routeOutcomes().map((r) => r.slice(STATUS_CODES.length));
      expect(faults).toEqual([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    } finally {
      f.destroy();
    }
  }, 30_000);
});
