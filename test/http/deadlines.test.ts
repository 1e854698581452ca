// Every state's bound against real clients, one row per state, in every mode
// with 1 and 2 rings: a client that stalls and one that trickles (a byte, or
// 1 KiB, every 100 ms: faster than any bound) is cut at the state's bound,
// the counter that explains it moves, and its slot serves the next client at
// once. Slots: one per ring, and one attacker more than there are rings, so
// that (by pigeonhole) some ring takes two: the second waits in the backlog
// and is accepted only once the first attacker's slot is free again.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_RESPONSE, RawConn, rawExchange, startServer, stopClean, waitForStats, type Running } from "../lib/helpers.ts";
import { summaryCounters, waitFor } from "../lib/proc.ts";

const BOUND_MS = 1000;
/** How far past a bound a check waits: the 100 ms sweep and a loaded 2-core machine. */
const SLACK_MS = 2500;
const EVERY_MS = 100;
const BOUNDS = ["--header-timeout", "1s", "--idle-timeout", "1s", "--send-timeout", "1s", "--linger-timeout", "1s", "--drain-timeout", "1s"];
const GET11 = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
const GET11_CLOSE = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
const BIG = 16 << 20; // more than loopback's socket buffers hold for a client that does not read
/** An attacker in a ring's backlog waits for the ones before it to be cut. */
const WAIT_TURN_MS = 15_000;
let dir = "";
let bigFile = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ringside-deadlines-"));
  bigFile = join(dir, "big.bin");
  writeFileSync(bigFile, Buffer.alloc(BIG, 0x61));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Kind = "stalls" | "trickles a byte" | "trickles 1 KiB";
const KINDS: Kind[] = ["stalls", "trickles a byte", "trickles 1 KiB"];

interface Row {
  state: string;
  args: () => string[];
  /** Brings a fresh connection into the state. */
  enter: (c: RawConn) => Promise<void>;
  /** The counter that explains the cut, by client kind. */
  counter: (k: Kind) => string;
  /** What a trickling client sends (header bytes stay valid header bytes). */
  fill: string;
}

/** Reads until the server has answered and shut its side (a lingering close). */
async function answeredThenShut(c: RawConn): Promise<void> {
  expect(await c.waitEnd(WAIT_TURN_MS)).toBe("eof");
}

const ROWS: Row[] = [
  {
    state: "reading a header",
    args: () => ["--max-header-size", "1048576"], // so that 1 KiB at a time meets the clock, not the size limit
    enter: async (c) => c.write("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "),
    counter: () => "header_timeouts",
    fill: "a",
  },
  {
    state: "reading a body",
    args: () => ["--max-body-size", "4294967295"],
    enter: async (c) => c.write("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4000000000\r\n\r\n"),
    counter: () => "header_timeouts",
    fill: "b",
  },
  {
    state: "sending to a client that does not read",
    args: () => ["--body-file", bigFile],
    enter: async (c) => {
      c.sock.pause();
      c.write(GET11);
    },
    counter: () => "send_timeouts",
    fill: "x",
  },
  {
    state: "sending the last response to a client that does not read",
    args: () => ["--body-file", bigFile],
    enter: async (c) => {
      c.sock.pause();
      c.write(GET11_CLOSE);
    },
    counter: () => "send_timeouts",
    fill: "x",
  },
  {
    state: "hanging (fault=hang: no response)",
    args: () => ["--route", "/hang=200 fault=hang@100%"],
    enter: async (c) => c.write("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n"),
    counter: () => "header_timeouts",
    fill: "h",
  },
  {
    state: "idle between keep-alive requests",
    args: () => ["--max-header-size", "1048576"],
    enter: async (c) => {
      c.write(GET11);
      await c.readBytes(DEFAULT_RESPONSE.length, WAIT_TURN_MS);
    },
    counter: (k) => (k === "stalls" ? "idle_timeouts" : "header_timeouts"), // a byte starts a request, and its clock
    fill: "a",
  },
  {
    state: "lingering after an error",
    args: () => [],
    enter: async (c) => {
      c.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])); // a TLS ClientHello
      await answeredThenShut(c);
    },
    counter: () => "linger_timeouts",
    fill: "z",
  },
  {
    state: "lingering after a chunked body",
    args: () => [],
    enter: async (c) => {
      c.write("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
      await answeredThenShut(c);
    },
    counter: () => "linger_timeouts",
    fill: "z",
  },
];

/** Writes `fill` every EVERY_MS until the server ends the connection or `stop()`. */
function trickle(c: RawConn, kind: Kind, fill: string, stopped: () => boolean): Promise<void> {
  if (kind === "stalls") return Promise.resolve();
  const chunk = kind === "trickles a byte" ? fill : fill.repeat(1024);
  return (async () => {
    while (!stopped() && c.errorCode === undefined && !c.sock.destroyed) {
      c.write(chunk);
      await Bun.sleep(EVERY_MS);
    }
  })();
}

/** One attacker: connects, enters the state, then stalls or trickles. */
async function attacker(port: number, row: Row, kind: Kind, stopped: () => boolean): Promise<RawConn> {
  const c = await RawConn.open(port, 5_000, true);
  c.sock.on("error", () => {}); // writes after the cut fail: that is the point
  await row.enter(c);
  void trickle(c, kind, row.fill, stopped);
  return c;
}

/** The next client, once the attackers are cut: served at once. */
async function nextClientServed(s: Running): Promise<void> {
  const r = await rawExchange(s.port, [GET11_CLOSE], { timeoutMs: 3 * SLACK_MS });
  const head = r.text.slice(0, r.text.indexOf("\r\n\r\n") + 4);
  const length = Number(/Content-length: (\d+)/.exec(head)?.[1]);
  // Small values only: a failure must not print 32 MiB.
  expect({ end: r.end, ok: /^HTTP\/1\.[01] 200 OK\r\n/.test(head), whole: r.data.length === head.length + length }).toEqual({ end: "eof", ok: true, whole: true });
}

const LAYOUTS = (["spin", "sqpoll", "batch"] as const).flatMap((mode) => [1, 2].map((rings) => ({ mode, rings })));

/** Short spin and SQPOLL idle: a dozen servers share 2 CPUs here. */
const layoutArgs = (mode: string, rings: number): string[] =>
  ["--mode", mode, "--rings", String(rings), "--max-connections", String(rings), ...(mode === "spin" ? ["--spin-budget", "10ms"] : []), ...(mode !== "batch" ? ["--sq-idle", "10ms"] : [])];

describe.each(LAYOUTS)("$mode mode, $rings ring(s)", ({ mode, rings }) => {
  const attackers = rings + 1;

  /** One server, its attackers of one kind, then the next client. */
  async function cutAndReused(row: Row, kind: Kind): Promise<void> {
    await using s = await startServer([...layoutArgs(mode, rings), "--keep-alive", ...BOUNDS, ...row.args(), "--stats-interval", "50ms"]);
    let stopped = false;
    const conns: RawConn[] = [];
    try {
      // All at once: the ones a full ring cannot take wait in its backlog.
      const opening = Array.from({ length: attackers }, () => attacker(s.port, row, kind, () => stopped).then((c) => conns.push(c)));
      const counter = row.counter(kind);
      const c = await waitForStats(s, `${kind}: ${attackers} cut by ${counter}`, (x) => x[counter]! >= attackers, attackers * (BOUND_MS + SLACK_MS));
      await Promise.all(opening);
      expect({ kind, cut: c[counter], accepted: c.accepted }).toEqual({ kind, cut: attackers, accepted: attackers });
      await waitForStats(s, "every slot free", (x) => x.active === 0, SLACK_MS);
      await nextClientServed(s);
    } finally {
      stopped = true;
      for (const c of conns) c.close();
    }
    expect(await stopClean(s)).toMatchObject({ accepted: attackers + 1, active: 0 });
  }

  test.each(ROWS.map((r) => [r.state, r] as const))("%s: clients that stall, trickle a byte and trickle 1 KiB are cut at the bound; their slots serve the next client at once", async (_state, row) => {
    await Promise.all(KINDS.map((kind) => cutAndReused(row, kind)));
  }, 60_000);

  test("sending to a client that reads slowly (a chunk every 100 ms) is cut at the send bound", async () => {
    await using s = await startServer([...layoutArgs(mode, rings), "--keep-alive", ...BOUNDS, "--body-file", bigFile, "--stats-interval", "50ms"]);
    const c = await RawConn.open(s.port, 5_000, true);
    c.sock.on("error", () => {});
    c.sock.on("data", () => {
      c.sock.pause();
      setTimeout(() => c.sock.resume(), EVERY_MS);
    });
    c.write(GET11);
    await waitForStats(s, "cut by send_timeouts", (x) => x.send_timeouts === 1, BOUND_MS + SLACK_MS);
    c.sock.resume();
    c.sock.removeAllListeners("data");
    expect(await c.waitEnd(SLACK_MS)).not.toBe("timeout");
    expect(c.length).toBeLessThan(BIG);
    await nextClientServed(s);
    c.close();
    expect(await stopClean(s)).toMatchObject({ send_timeouts: 1, active: 0 });
  }, 30_000);

  describe("holding a delayed response", () => {
    const ROUTES = ["--route", "/slow=200 delay=1s", "--route", "/long=200 delay=60m"];

    async function heldBack(kind: Kind): Promise<void> {
      await using s = await startServer([...layoutArgs(mode, rings), ...BOUNDS, ...ROUTES, "--stats-interval", "50ms"]);
      const c = await RawConn.open(s.port, 5_000, true);
      c.sock.on("error", () => {});
      let stopped = false;
      const sent = Date.now();
      c.write("GET /slow HTTP/1.0\r\n\r\n");
      void trickle(c, kind, "x", () => stopped);
      const want = "HTTP/1.0 200 OK\r\n";
      await waitFor("the delayed response", () => c.text.includes("OK\n") || undefined, BOUND_MS + SLACK_MS);
      const waited = Date.now() - sent;
      expect(c.text).toStartWith(want);
      expect(waited).toBeGreaterThanOrEqual(BOUND_MS - 50); // held back, not dropped
      // Input during the delay is never answered: the close lingers (a clean
      // EOF, not a reset), and a client that keeps sending is cut by it.
      expect(await c.waitEnd(BOUND_MS + SLACK_MS)).toBe("eof");
      stopped = true;
      const counter = kind === "stalls" ? "delayed" : "linger_timeouts";
      await waitForStats(s, `${counter} moved`, (x) => x[counter]! >= 1 && x.active === 0, BOUND_MS + SLACK_MS);
      await nextClientServed(s);
      c.close();
      expect(await stopClean(s)).toMatchObject({ delayed: 1, delayed_cut: 0 });
    }

    test("the response goes at its delay while the client stalls or trickles; then the next state's bound", async () => {
      await Promise.all(KINDS.map(heldBack));
    }, 30_000);

    test.each([
      ["resets", "keep-alive"],
      ["resets", "close"],
      ["closes", "keep-alive"],
      ["closes", "close"],
    ] as const)("a client that %s during a 60 min delay frees its slot at once (%s mode); counted as cut", async (how, conn) => {
      await using s = await startServer([...layoutArgs(mode, rings), ...BOUNDS, ...ROUTES, ...(conn === "keep-alive" ? ["--keep-alive"] : []), "--stats-interval", "50ms"]);
      // One more hit-and-run client than there are slots: some ring takes two.
      for (let i = 1; i <= attackers; i++) {
        const c = await RawConn.open(s.port, 5_000, true);
        c.sock.on("error", () => {});
        c.write(conn === "keep-alive" ? "GET /long HTTP/1.1\r\nHost: t\r\n\r\n" : "GET /long HTTP/1.0\r\n\r\n");
        await waitForStats(s, `client ${i} held back`, (x) => x.delayed === i, SLACK_MS);
        if (how === "resets") c.reset();
        else c.close();
        await waitForStats(s, `client ${i}'s slot free`, (x) => x.delayed_cut === i && x.active === 0, SLACK_MS);
      }
      await nextClientServed(s);
      expect(await stopClean(s)).toMatchObject({ delayed: attackers, delayed_cut: attackers, responses: 1, active: 0 });
    }, 30_000);
  });

  describe("draining after SIGTERM", () => {
    async function drainCuts(kind: Kind): Promise<void> {
      await using s = await startServer([...layoutArgs(mode, rings), "--keep-alive", ...BOUNDS, "--header-timeout", "60s", "--max-header-size", "1048576", "--stats-interval", "50ms"]);
      const c = await RawConn.open(s.port, 5_000, true);
      c.sock.on("error", () => {});
      let stopped = false;
      c.write("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
      void trickle(c, kind, "a", () => stopped);
      await waitForStats(s, "the client in", (x) => x.active === 1);
      s.proc.kill("SIGTERM");
      const exited = await Promise.race([s.proc.exited, Bun.sleep(BOUND_MS + SLACK_MS).then(() => "still running")]);
      stopped = true;
      c.close();
      expect(exited).toBe(0);
      const { stdout, stderr } = await s.stop();
      expect(stderr).toBe("");
      expect(summaryCounters(stdout)).toMatchObject({ drain_timeouts: 1, header_timeouts: 0, active: 0 });
    }

    test("a request still arriving from a client that stalls or trickles is cut at --drain-timeout", async () => {
      await Promise.all(KINDS.map(drainCuts));
    }, 30_000);

    test("a delayed response longer than the drain is cut at --drain-timeout and counted", async () => {
      await using s = await startServer([...layoutArgs(mode, rings), "--keep-alive", ...BOUNDS, "--route", "/long=200 delay=60m", "--stats-interval", "50ms"]);
      const c = await RawConn.open(s.port, 5_000, true);
      c.sock.on("error", () => {});
      c.write("GET /long HTTP/1.1\r\nHost: t\r\n\r\n");
      await waitForStats(s, "held back", (x) => x.delayed === 1);
      s.proc.kill("SIGTERM");
      const exited = await Promise.race([s.proc.exited, Bun.sleep(BOUND_MS + SLACK_MS).then(() => "still running")]);
      c.close();
      expect(exited).toBe(0);
      const { stdout } = await s.stop();
      expect(summaryCounters(stdout)).toMatchObject({ drain_timeouts: 1, delayed: 1, delayed_cut: 1, responses: 0 });
    }, 30_000);
  });
});
