// Hostile clients that hang up in every way, for the slot-reuse test and the
// churn soak: each opens a connection, misbehaves, leaves, and resolves once
// the connection is gone. One kind asks a flaky route (FLAKY_ROUTE, which the
// server must have) that resets, closes or hangs some of its requests.
import { connect } from "node:net";
import { KEEP_11, RawConn } from "./helpers.ts";

const GET11 = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

export interface GoodOutcome {
  /** Responses received whole, in order. */
  answered: number;
  /** How the server ended the connection before the client was done, or "". */
  ended: string;
  /** Bytes other than `answered` keep-alive responses arrived. */
  wrongBytes: boolean;
}

/** A well-behaved keep-alive client: `requests` requests in turn on one
 * connection, each waiting for its response; then it closes. */
export async function goodClient(port: number, requests: number): Promise<GoodOutcome> {
  using conn = await RawConn.open(port, 10_000);
  let answered = 0;
  for (let i = 0; i < requests; i++) {
    conn.write(GET11);
    try {
      await conn.readBytes((i + 1) * KEEP_11.length, 10_000);
    } catch {
      break; // no answer in time: counted as unanswered
    }
    if (conn.length < (i + 1) * KEEP_11.length) break;
    answered++;
  }
  return { answered, ended: conn.end ?? "", wrongBytes: conn.text !== KEEP_11.repeat(answered) };
}

/** Outcomes that are not `requests` whole responses on an open connection. */
export const broken = (outcomes: GoodOutcome[], requests: number): GoodOutcome[] =>
  outcomes.filter((o) => o.answered !== requests || o.ended || o.wrongBytes);

export type HostileKind =
  | "bad-then-close"
  | "bad-then-half-close"
  | "too-large-then-half-close"
  | "chunked-then-half-close"
  | "chunked-then-close"
  | "reset-mid-request"
  | "half-close-mid-header"
  | "slow-body"
  | "flaky";

/** The route "flaky" clients ask: a response (200 or 503), an RST, a close
 * without a response, or a hang until --header-timeout cuts it. Only this
 * route draws, so the seed fixes each ring's sequence: with 1988 ring 0's
 * first three flaky requests draw hang, close, reset and ring 1's reset,
 * close, hang. Five flaky requests on at most two rings draw every fault
 * (flakyRings pins them: auto picks one ring per CPU); a random seed leaves a
 * 1 in 4 chance that 13 of them never hang. */
export const FLAKY_ROUTE = ["--seed", "1988", "--route", "/flaky=200,503@20% fault=reset@25%,close@25%,hang@10%"];

/** The rings a churn server runs: two where the mode shares CPUs well, one
 * spinning ring (a second would take the clients' CPU here). */
export const flakyRings = (mode: string): string[] => ["--rings", mode === "spin" ? "1" : "2"];

/** The kinds that leave at once (or as soon as the server ends it: "flaky" but
 * when it hangs); "slow-body" waits to be cut by --header-timeout. */
export const HOSTILE_KINDS: readonly HostileKind[] = [
  "bad-then-half-close",
  "bad-then-close",
  "chunked-then-half-close",
  "too-large-then-half-close",
  "chunked-then-close",
  "reset-mid-request",
  "half-close-mid-header",
  "flaky",
];

const WHAT: Record<HostileKind, string> = {
  "bad-then-close": "garbage\r\n\r\n",
  "bad-then-half-close": "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
  "too-large-then-half-close": "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n",
  "chunked-then-half-close": "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "chunked-then-close": "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
  "reset-mid-request": "GET / HTTP/1.1\r\nHost: t\r\nX-Partial: ",
  "half-close-mid-header": "GET / HTTP/1.1\r\nHo",
  "slow-body": "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nab",
  // Waits for the server to end the connection, whatever the draw.
  flaky: "GET /flaky HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
};

/** One hostile client; resolves when its connection has closed (at most timeoutMs). */
export function hostileClient(port: number, kind: HostileKind, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => sock.destroy(), timeoutMs);
    sock.on("data", () => {});
    sock.on("error", () => {});
    sock.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    sock.on("connect", () => {
      sock.write(WHAT[kind]);
      if (kind === "reset-mid-request") sock.resetAndDestroy();
      else if (kind.endsWith("half-close") || kind === "half-close-mid-header") sock.end();
      else if (kind.endsWith("then-close")) sock.destroy();
      // slow-body and flaky: send no more; the server closes (a hang: at its header timeout).
    });
  });
}
