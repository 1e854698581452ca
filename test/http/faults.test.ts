// Faults as a client sees them: fault=reset an RST (ECONNRESET, no byte),
// fault=close an EOF with no byte, fault=hang no byte until --header-timeout
// cuts the connection. A fault acts after the responses queued before it on
// the connection (pipelining keeps order) and is counted by kind and route.
import { describe, expect, test } from "bun:test";
import { KEEP_11, RawConn, startServer, stopClean, type Running } from "../lib/helpers.ts";
import { scrapeOutcomes, seen } from "../lib/outcomes.ts";

const ROUTES = ["--route", "/reset fault=reset", "--route", "/close fault=close", "--route", "/hang fault=hang"];
const GET11 = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;

/** An RST where the kernel runs socket commands through the ring (sock_cmd, 6.7+); else a plain close. */
const resetSeenAs = (s: Running): "reset" | "eof" => (s.startup.fields.features?.split(",").includes("sock_cmd") ? "reset" : "eof");

describe.each(["spin", "sqpoll", "batch"])("%s mode", (mode) => {
  test("reset, close and hang on a connection of their own: what the client gets, and the counters", async () => {
    await using s = await startServer(["--mode", mode, "--keep-alive", "--header-timeout", "1s", "--admin-port", "0", ...ROUTES]);
    expect(await seen(s.port, GET11("/reset"))).toEqual({ fault: resetSeenAs(s), bytes: 0 });
    expect(await seen(s.port, GET11("/close"))).toEqual({ fault: "eof", bytes: 0 });
    const t0 = performance.now();
    expect(await seen(s.port, GET11("/hang"))).toEqual({ fault: "eof", bytes: 0 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(900); // cut at the 1 s header timeout, not before
    const o = await scrapeOutcomes(s.startup.fields.admin!);
    expect([o["/reset"]!.faults, o["/close"]!.faults, o["/hang"]!.faults]).toEqual([{ reset: 1 }, { close: 1 }, { hang: 1 }]);
    const c = await stopClean(s);
    expect(c).toMatchObject({ requests: 3, responses: 0, faults_reset: 1, faults_close: 1, faults_hang: 1, header_timeouts: 1, active: 0 });
  }, 30_000);

  test("pipelined: the responses queued before a fault are sent whole, then the fault; nothing after it is answered", async () => {
    await using s = await startServer(["--mode", mode, "--keep-alive", "--header-timeout", "1s", ...ROUTES]);
    for (const fault of ["reset", "close", "hang"] as const) {
      using conn = await RawConn.open(s.port);
      conn.write(GET11("/") + GET11("/") + GET11(`/${fault}`) + GET11("/"));
      const end = await conn.waitEnd(5_000);
      expect({ fault, text: conn.text, end }).toEqual({ fault, text: KEEP_11.repeat(2), end: fault === "reset" ? resetSeenAs(s) : "eof" });
    }
    const c = await stopClean(s);
    // The requests after a fault were never framed.
    expect(c).toMatchObject({ requests: 9, responses: 6, faults_reset: 1, faults_close: 1, faults_hang: 1, active: 0 });
  }, 30_000);

  test("a hanging connection reads and discards what the client sends, and is still cut at the header timeout", async () => {
    await using s = await startServer(["--mode", mode, "--keep-alive", "--header-timeout", "1s", ...ROUTES]);
    using conn = await RawConn.open(s.port);
    conn.write(GET11("/hang"));
    for (let i = 0; i < 5; i++) {
      await Bun.sleep(100);
      conn.write(GET11("/"));
    }
    expect(await conn.waitEnd(5_000)).toBe("eof");
    expect(conn.length).toBe(0);
    expect(await stopClean(s)).toMatchObject({ requests: 1, faults_hang: 1, header_timeouts: 1, active: 0 });
  }, 30_000);
});
