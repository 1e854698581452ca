// Hostile and broken clients. Each case starts its own server, sends its bad
// input over raw TCP and asserts the exact bytes the client gets and how the
// connection ends (a clean EOF, never a reset), then that the same server
// still answers a normal request, then stops it (exit 0, empty stderr) and
// checks the counters in its summary line.
//
// The table runs in spin mode in close mode and in --keep-alive mode, and a
// subset (batch: true) again in sqpoll mode with 2 rings and in batch mode.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CLOSE_11,
  DEFAULT_RESPONSE,
  KEEP_11,
  RawConn,
  errorResponse,
  headOf,
  rawExchange,
  startServer,
  stopClean,
  waitForStats,
  type Running,
} from "../lib/helpers.ts";
import { fdCount } from "../lib/proc.ts";

interface Ctx {
  /** --keep-alive given */
  ka: boolean;
}

type Counters = Record<string, number>;

interface Case {
  name: string;
  /** What the client writes, chunk by chunk. */
  send: Array<string | Uint8Array> | ((ctx: Ctx) => Array<string | Uint8Array>);
  halfClose?: boolean;
  gapMs?: number;
  /** Exactly what the client receives before the server's clean close. */
  expect: string | ((ctx: Ctx) => string);
  /** Counters the summary must show (the normal request after it included). */
  counters?: Counters | ((ctx: Ctx) => Counters);
  /** A request was read but legitimately not answered (the client left or stalled). */
  unanswered?: boolean;
  /** Also run in sqpoll and batch mode. */
  batch?: boolean;
  /** Only meaningful in one of the two connection modes. */
  only?: "ka" | "close";
  /** Replaces the default send-and-compare step. */
  run?: (s: Running, ctx: Ctx) => Promise<void>;
  extraArgs?: string[];
}

const E400 = errorResponse(400);
const E413 = errorResponse(413);
const E431 = errorResponse(431);
const E505 = errorResponse(505);

const GET10 = "GET / HTTP/1.0\r\n\r\n";
const GET11 = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
const GET11_CLOSE = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

/** The answer to an HTTP/1.1 request that says Connection: close. */
const ok11close = ({ ka }: Ctx): string => (ka ? CLOSE_11 : DEFAULT_RESPONSE);
/** The answer to a persistent HTTP/1.1 request. */
const ok11 = ({ ka }: Ctx): string => (ka ? KEEP_11 : DEFAULT_RESPONSE);

const MAX_HEADER = 1024;
const MAX_BODY = 1000;
const BASE_ARGS = [
  "--header-timeout", "1s",
  "--idle-timeout", "1s",
  "--max-header-size", String(MAX_HEADER),
  "--max-body-size", String(MAX_BODY),
];

/** Deterministic pseudo-random bytes (xorshift), first byte forced non-token. */
function noise(n: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  out[0] = 0xff;
  return out;
}

const bytes = (...parts: Array<string | number[] | Uint8Array>): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));

const CHUNKED_SMUGGLE =
  "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
  `${GET11.length.toString(16)}\r\n${GET11}\r\n0\r\n\r\n`;

const SPLIT_REQUEST = "POST /split HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

const CASES: Case[] = [
  // ---- nothing, or not HTTP at all -------------------------------------
  {
    name: "empty connection, half-closed at once: clean close, no bytes",
    send: [],
    halfClose: true,
    expect: "",
    counters: { client_eof_early: 1, requests: 1 },
    batch: true,
  },
  {
    name: "empty connection left open: closed at the header timeout",
    send: [],
    expect: "",
    counters: { header_timeouts: 1 },
    batch: true,
  },
  { name: "garbage text line", send: ["hello world\r\n\r\n"], expect: E400, counters: { bad_requests: 1 }, batch: true },
  {
    name: "a method-like word and EOF: clean close, no bytes",
    send: ["xyzzy"],
    halfClose: true,
    expect: "",
    counters: { client_eof_early: 1 },
  },
  {
    name: "binary: a TLS ClientHello",
    send: [bytes([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03], noise(160))],
    expect: E400,
    counters: { bad_requests: 1 },
    batch: true,
  },
  { name: "binary: 64 KiB of noise, drained before the close", send: [noise(65536)], expect: E400, counters: { bad_requests: 1, lingering_closes: 1 }, batch: true },
  { name: "NUL bytes only", send: [new Uint8Array(64)], expect: E400, counters: { bad_requests: 1 } },
  { name: "NUL in the request target", send: [bytes("GET /a", [0], "b HTTP/1.1\r\nHost: t\r\n\r\n")], expect: E400, counters: { bad_requests: 1 } },
  { name: "NUL in a header value", send: [bytes("GET / HTTP/1.1\r\nHost: t", [0], "\r\n\r\n")], expect: E400, counters: { bad_requests: 1 } },
  { name: "request line without a version", send: ["GET /\r\n\r\n"], expect: E400, counters: { bad_requests: 1 }, batch: true },
  { name: "HTTP/0.9 simple request", send: ["GET /index.html\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "HTTP/2 connection preface: 505", send: ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"], expect: E505, counters: { bad_requests: 1 }, batch: true },
  { name: "HTTP/2.0 request line: 505", send: ["GET / HTTP/2.0\r\nHost: t\r\n\r\n"], expect: E505, counters: { bad_requests: 1 } },
  { name: "HTTP/0.9 version token: 505", send: ["GET / HTTP/0.9\r\n\r\n"], expect: E505, counters: { bad_requests: 1 } },
  { name: "lowercase http/1.1", send: ["GET / http/1.1\r\nHost: t\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "double space in the request line", send: ["GET  / HTTP/1.1\r\nHost: t\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "tab as a separator in the request line", send: ["GET\t/ HTTP/1.1\r\nHost: t\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "a non-token byte in the method", send: ["G(T / HTTP/1.1\r\nHost: t\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "a non-ASCII byte in the target", send: [bytes("GET /caf", [0xe9], " HTTP/1.0\r\n\r\n")], expect: E400, counters: { bad_requests: 1 } },

  // ---- header block ----------------------------------------------------
  { name: "HTTP/1.1 without Host", send: ["GET / HTTP/1.1\r\nConnection: close\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "two Host headers", send: ["GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "header line without a colon", send: ["GET / HTTP/1.1\r\nHost: t\r\nNoColonHere\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "space before the colon", send: ["GET / HTTP/1.1\r\nHost : t\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "obs-fold continuation line", send: ["GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n  2\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "CR without LF", send: ["GET / HTTP/1.1\rHost: t\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "bare LF line endings are accepted", send: ["GET / HTTP/1.1\nHost: t\nConnection: close\n\n"], expect: ok11close, batch: true },
  { name: "mixed CRLF and bare LF", send: ["GET / HTTP/1.1\r\nHost: t\nConnection: close\r\n\n"], expect: ok11close },
  { name: "empty lines before the request line are skipped", send: ["\r\n\n\r\n" + GET10], expect: DEFAULT_RESPONSE },
  { name: "obs-text in a header value is allowed", send: [bytes("GET / HTTP/1.1\r\nHost: t\r\nX-Name: caf", [0xe9], "\r\nConnection: close\r\n\r\n")], expect: ok11close },
  { name: "absolute-form target", send: ["GET http://example.com/x?y=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"], expect: ok11close },
  { name: "OPTIONS * is served", send: ["OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"], expect: ok11close },
  { name: "an unknown method, HTTP/1.9, is served as HTTP/1.1", send: ["PURGE * HTTP/1.9\r\nHost: t\r\nConnection: close\r\n\r\n"], expect: ok11close },
  {
    name: "huge header block: 431",
    send: [`GET / HTTP/1.1\r\nHost: t\r\nX-Big: ${"a".repeat(2 * MAX_HEADER)}\r\n\r\n`],
    expect: E431,
    counters: { too_large: 1, lingering_closes: 1 },
    batch: true,
  },
  { name: "huge request line: 431", send: [`GET /${"a".repeat(2 * MAX_HEADER)} HTTP/1.1\r\nHost: t\r\n\r\n`], expect: E431, counters: { too_large: 1 } },
  { name: "many small headers over the limit: 431", send: ["GET / HTTP/1.1\r\nHost: t\r\n" + "X-A: b\r\n".repeat(200) + "\r\n"], expect: E431, counters: { too_large: 1 } },
  {
    name: "header block exactly at the limit is served",
    send: () => {
      const head = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Pad: ";
      return [head + "p".repeat(MAX_HEADER - head.length - 4) + "\r\n\r\n"];
    },
    expect: ok11close,
  },

  // ---- bodies ----------------------------------------------------------
  { name: "Content-Length body in the same write", send: ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"], expect: ok11close, batch: true },
  { name: "Content-Length body in later writes", send: ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nConnection: close\r\n\r\n", "hello", "world"], gapMs: 20, expect: ok11close },
  {
    name: "a body that looks like a request is skipped, never answered",
    send: [`POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ${GET11.length}\r\n\r\n${GET11}${GET11_CLOSE}`],
    expect: ({ ka }) => (ka ? KEEP_11 + CLOSE_11 : DEFAULT_RESPONSE),
    counters: ({ ka }) => ({ requests: ka ? 3 : 2 }),
    batch: true,
  },
  {
    name: "chunked body: answered with a close, drained, never read as a request",
    send: [CHUNKED_SMUGGLE],
    expect: ok11close,
    counters: { requests: 2, lingering_closes: 1, bad_requests: 0 },
    batch: true,
  },
  {
    name: "chunked body arriving after the response: drained until EOF",
    run: async (s, ctx) => {
      using conn = await RawConn.open(s.port);
      conn.write("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
      await conn.readBytes(ok11close(ctx).length);
      // The server has shut its write side; it still reads what we send.
      conn.write(`${GET11.length.toString(16)}\r\n${GET11}\r\n`);
      conn.write("0\r\n\r\n");
      expect(await conn.waitEnd()).toBe("eof");
      expect(conn.text).toBe(ok11close(ctx));
    },
    send: [],
    expect: "",
    counters: { requests: 2, lingering_closes: 1 },
  },
  { name: "chunked in HTTP/1.0 is a 400", send: ["POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "Transfer-Encoding not ending in chunked", send: ["POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  {
    name: "Content-Length and Transfer-Encoding together (smuggling)",
    send: ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
    expect: E400,
    counters: { bad_requests: 1 },
    batch: true,
  },
  {
    name: "conflicting Content-Length headers",
    send: ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"],
    expect: E400,
    counters: { bad_requests: 1 },
    batch: true,
  },
  { name: "repeated identical Content-Length is one length", send: ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"], expect: ok11close },
  { name: "Content-Length as a list", send: ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 5\r\n\r\nhello"], expect: E400, counters: { bad_requests: 1 } },
  { name: "negative Content-Length", send: ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "Content-Length of 20 digits", send: ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 18446744073709551616\r\n\r\n"], expect: E400, counters: { bad_requests: 1 } },
  { name: "huge body declared: 413 before any body byte", send: [`POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`], expect: E413, counters: { too_large: 1 }, batch: true },
  {
    name: "huge body sent anyway: 413, drained, clean EOF",
    send: [`POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 262144\r\n\r\n`, noise(262144)],
    expect: E413,
    counters: { too_large: 1, lingering_closes: 1 },
  },
  { name: "body exactly at --max-body-size is served", send: [`POST / HTTP/1.1\r\nHost: t\r\nContent-Length: ${MAX_BODY}\r\nConnection: close\r\n\r\n${"b".repeat(MAX_BODY)}`], expect: ok11close },
  { name: "Expect: 100-continue with the body sent anyway", send: ["PUT / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", "abc"], gapMs: 20, expect: ok11close },

  // ---- framing across reads, pipelining ---------------------------------
  {
    name: "1 byte at a time",
    send: GET11_CLOSE.split(""),
    gapMs: 2,
    expect: ok11close,
    batch: true,
  },
  {
    name: "a request split at every byte offset",
    send: [],
    expect: "",
    counters: { requests: SPLIT_REQUEST.length },
    run: async (s, ctx) => {
      const offsets = Array.from({ length: SPLIT_REQUEST.length - 1 }, (_, i) => i + 1);
      // Eight connections at a time; each writes two pieces with a pause between.
      for (let i = 0; i < offsets.length; i += 8) {
        const results = await Promise.all(
          offsets.slice(i, i + 8).map((at) => rawExchange(s.port, [SPLIT_REQUEST.slice(0, at), SPLIT_REQUEST.slice(at)], { gapMs: 5 }).then((r) => ({ at, r }))),
        );
        for (const { at, r } of results) {
          expect({ at, text: r.text, end: r.end }).toEqual({ at, text: ok11close(ctx), end: "eof" });
        }
      }
    },
    batch: true,
  },
  {
    name: "100 pipelined requests in one write",
    send: [GET11.repeat(99) + GET11_CLOSE],
    expect: ({ ka }) => (ka ? KEEP_11.repeat(99) + CLOSE_11 : DEFAULT_RESPONSE),
    counters: ({ ka }) => (ka ? { requests: 101, responses: 101 } : { requests: 2, responses: 2, lingering_closes: 1 }),
    batch: true,
  },
  {
    name: "pipelined HEAD, GET and POSTs with bodies",
    send: [
      "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" +
        GET11 +
        "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" +
        "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n" +
        "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" +
        "POST /c HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\nConnection: close\r\n\r\nxyzzy!",
    ],
    expect: ({ ka }) =>
      ka ? headOf(KEEP_11) + KEEP_11 + KEEP_11 + KEEP_11 + headOf(KEEP_11) + CLOSE_11 : headOf(DEFAULT_RESPONSE),
    counters: ({ ka }) => ({ requests: ka ? 7 : 2 }),
    batch: true,
  },
  {
    name: "a valid request followed by garbage in the same write",
    send: [GET11 + "\x00\x01\x02garbage"],
    expect: ({ ka }) => (ka ? KEEP_11 + E400 : DEFAULT_RESPONSE),
    counters: ({ ka }) => ({ requests: 2, bad_requests: ka ? 1 : 0, lingering_closes: 1 }),
  },

  {
    name: "40 pipelined requests, then garbage: all 40 answered, then 400",
    send: [GET11.repeat(40) + "BREW /pot HTCPCP/1.0\r\n\r\n"],
    expect: ({ ka }) => (ka ? KEEP_11.repeat(40) + E400 : DEFAULT_RESPONSE),
    counters: ({ ka }) => ({ requests: ka ? 41 : 2, bad_requests: ka ? 1 : 0 }),
  },
  {
    name: "a valid request, then one whose header block is too large",
    send: [GET11 + `GET / HTTP/1.1\r\nHost: t\r\nX-Big: ${"a".repeat(2 * MAX_HEADER)}\r\n\r\n`],
    expect: ({ ka }) => (ka ? KEEP_11 + E431 : DEFAULT_RESPONSE),
    counters: ({ ka }) => ({ requests: 2, too_large: ka ? 1 : 0 }),
  },

  // ---- clients that leave -------------------------------------------------
  { name: "half-close after a complete request", send: [GET11], halfClose: true, expect: ok11, counters: { client_eof_early: 0 }, batch: true },
  {
    name: "half-close in the middle of the header",
    send: ["GET / HTTP/1.1\r\nHo"],
    halfClose: true,
    expect: "",
    counters: { client_eof_early: 1 },
  },
  {
    name: "half-close in the middle of a body",
    send: ["POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"],
    halfClose: true,
    expect: "",
    counters: { client_eof_early: 1 },
    unanswered: true,
  },
  {
    name: "reset (RST) in the middle of the header",
    send: [],
    expect: "",
    counters: { client_resets: 1 },
    run: async (s) => {
      const conn = await RawConn.open(s.port);
      conn.write("GET / HTTP/1.1\r\nHost: t\r\nX-Partial: ");
      await waitForStats(s, "the partial header read", (c) => c.accepted === 1);
      conn.reset();
    },
    extraArgs: ["--stats-interval", "50ms"],
    batch: true,
  },

  // ---- slow clients -----------------------------------------------------
  {
    name: "slowloris: header dribbled, then stalled: closed at the header timeout",
    send: ["GET / HTTP/1.1\r\n", "Host: t\r\n", "X-A: 1\r\n"],
    gapMs: 200,
    expect: "",
    counters: { header_timeouts: 1, requests: 1 },
    batch: true,
  },
  {
    name: "slow body: the header timeout covers the body too",
    // A byte every 300 ms: each within the timeout, the whole well over it.
    send: ({ ka }) => [...(ka ? [GET11] : []), "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n", ..."0123456789".split("")],
    gapMs: 300,
    expect: ({ ka }) => (ka ? KEEP_11 : ""),
    counters: { header_timeouts: 1 },
    unanswered: true,
  },
  {
    name: "idle keep-alive connection: closed at the idle timeout",
    send: [GET11],
    expect: KEEP_11,
    counters: { idle_timeouts: 1, header_timeouts: 0 },
    only: "ka",
    batch: true,
  },
];

/** Runs one case against a fresh server; returns after checking everything. */
async function runCase(layout: string[], ctx: Ctx, c: Case): Promise<void> {
  await using s = await startServer([...layout, ...(ctx.ka ? ["--keep-alive"] : []), ...BASE_ARGS, ...(c.extraArgs ?? [])]);
  if (c.run) {
    await c.run(s, ctx);
  } else {
    const chunks = typeof c.send === "function" ? c.send(ctx) : c.send;
    const r = await rawExchange(s.port, chunks, { halfClose: c.halfClose, gapMs: c.gapMs, timeoutMs: 8_000 });
    const want = typeof c.expect === "function" ? c.expect(ctx) : c.expect;
    expect(r.text).toBe(want);
    expect(r.end).toBe("eof");
  }
  // The same server still answers a normal request, byte for byte.
  const normal = await rawExchange(s.port, [ctx.ka ? GET11_CLOSE : GET10]);
  expect(normal.text).toBe(ctx.ka ? CLOSE_11 : DEFAULT_RESPONSE);
  expect(normal.end).toBe("eof");

  const got = await stopClean(s);
  expect(got.active).toBe(0);
  expect(got.recv_errors).toBe(0);
  expect(got.send_errors).toBe(0);
  expect(got.accept_errors).toBe(0);
  expect(got.accept_backoffs).toBe(0);
  // Nothing lost: every request read was answered (errors answer too).
  if (!c.unanswered) expect(got.responses).toBe(got.requests! + got.bad_requests! + got.too_large!);
  // Counters of the case plus the normal request made after it.
  expect(got).toMatchObject(typeof c.counters === "function" ? c.counters(ctx) : (c.counters ?? {}));
}

// Every mode; sqpoll with 2 rings, so that several rings meet hostile
// clients in an SQPOLL mode too (batch takes auto's rings: 2 on 2 CPUs).
const LAYOUTS = { spin: ["--mode", "spin"], sqpoll: ["--mode", "sqpoll", "--rings", "2"], batch: ["--mode", "batch"] } as const;
const CONFIGS: Array<{ mode: keyof typeof LAYOUTS; ka: boolean }> = (["spin", "sqpoll", "batch"] as const).flatMap((mode) => [
  { mode, ka: false },
  { mode, ka: true },
]);

describe.each(CONFIGS)("$mode mode, keep-alive $ka", ({ mode, ka }) => {
  const cases = CASES.filter((c) => (mode === "spin" || c.batch) && (!c.only || c.only === (ka ? "ka" : "close")));
  test.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    await runCase([...LAYOUTS[mode]], { ka }, c);
  });
});

// ---- cases that need their own server setup ---------------------------------

describe.each(CONFIGS)("$mode mode, keep-alive $ka", ({ mode, ka }) => {
  test("reset mid-response: a client RSTs during a 16 MiB response; counted, the server serves on", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ringside-hostile-"));
    try {
      const size = 16 << 20;
      writeFileSync(join(dir, "big.bin"), noise(size, 7));
      await using s = await startServer([...LAYOUTS[mode], ...(ka ? ["--keep-alive"] : []), "--body-file", join(dir, "big.bin"), "--content-type", "application/octet-stream", "--stats-interval", "50ms"]);
      const conn = await RawConn.open(s.port);
      // Not reading: the receive window stays small, so 16 MiB cannot all be
      // in flight, and the server is still sending when the reset comes.
      conn.sock.pause();
      conn.write(ka ? GET11 : GET10);
      // Read, and (16 MiB against a closed window) not yet answered.
      await waitForStats(s, "the request read", (c) => c.requests === 1);
      conn.reset();

      const normal = await rawExchange(s.port, [ka ? GET11_CLOSE : GET10], { timeoutMs: 20_000 });
      const head = `HTTP/1.${ka ? "1" : "0"} 200 OK\r\nContent-type: application/octet-stream\r\nContent-length: ${size}\r\n${ka ? "Connection: close\r\n" : ""}\r\n`;
      expect(normal.data.subarray(0, head.length).toString("latin1")).toBe(head);
      expect(normal.data.length).toBe(head.length + size);
      expect(normal.end).toBe("eof");

      expect(await stopClean(s)).toMatchObject({ accepted: 2, active: 0, requests: 2, responses: 1, client_resets: 1, send_errors: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("more clients than --max-connections wait in the backlog and are all served; no leak", async () => {
    const max = 4;
    // One ring: with several, the kernel's hash decides which ring's share of the table a client meets.
    await using s = await startServer(["--mode", mode, "--rings", "1", ...(ka ? ["--keep-alive"] : []), "--max-connections", String(max), "--header-timeout", "20s", "--stats-interval", "50ms"]);
    const pid = s.proc.pid;
    await waitForStats(s, "first stats line", () => true);
    const baseFds = fdCount(pid);

    // Fill every slot with a client that holds its connection open.
    const holders = await Promise.all(Array.from({ length: max }, () => RawConn.open(s.port)));
    for (const h of holders) h.write(ka ? GET11 : "GET / HTTP/1.1\r\n");
    if (ka) for (const h of holders) expect(await h.readBytes(KEEP_11.length)).toBe(KEEP_11);
    await waitForStats(s, `${max} active`, (c) => c.active === max);

    // Three times as many more: they connect (the kernel completes the
    // handshake into the listen backlog) and send a request.
    const waiting = await Promise.all(Array.from({ length: 3 * max }, () => RawConn.open(s.port)));
    for (const w of waiting) w.write(GET11_CLOSE);
    // Two stats lines printed after all of that: none of them was accepted.
    await waitForStats(s, "a later tick", () => true);
    const mid = await waitForStats(s, "another tick", () => true);
    expect(mid).toMatchObject({ accepted: max, active: max, accept_backoffs: 0 });
    expect(waiting.map((w) => w.length)).toEqual(waiting.map(() => 0));
    expect(waiting.map((w) => w.end)).toEqual(waiting.map(() => undefined));

    // The holders finish and leave: every waiting client is served.
    for (const h of holders) h.write(ka ? GET11_CLOSE : "Host: t\r\n\r\n");
    for (const h of holders) {
      expect(await h.waitEnd()).toBe("eof");
      expect(h.text).toBe(ka ? KEEP_11 + CLOSE_11 : DEFAULT_RESPONSE);
    }
    for (const w of waiting) {
      expect(await w.waitEnd(10_000)).toBe("eof");
      expect(w.text).toBe(ka ? CLOSE_11 : DEFAULT_RESPONSE);
    }
    await waitForStats(s, "0 active", (c) => c.active === 0 && c.accepted === 4 * max);
    expect(fdCount(pid)).toBe(baseFds);

    const n = 4 * max;
    expect(await stopClean(s)).toMatchObject({
      accepted: n, active: 0, requests: ka ? n + max : n, responses: ka ? n + max : n,
      accept_backoffs: 0, accept_errors: 0, client_eof_early: 0,
    });
  });
});

test("the table has at least 40 cases", () => {
  expect(CASES.length).toBeGreaterThanOrEqual(40);
});
