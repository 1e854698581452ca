// Generated bodies (--size, a route's size=): cut from one shared buffer of
// printable lines, N bytes or drawn per request from N to M. Every response
// says its exact length and carries exactly that many bytes, HEAD the length
// alone, pipelined responses each their own; a drawn status keeps the size.
import { describe, expect, test } from "bun:test";
import { generatedBytes } from "../../src/serve/responses.ts";
import { RawConn, startServer, stopClean } from "../lib/helpers.ts";
import { seen } from "../lib/outcomes.ts";
import { waitFor } from "../lib/proc.ts";

const PATTERN = Buffer.from(generatedBytes(4096)).toString("latin1");
const GET11 = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;

interface Parsed {
  status: number;
  head: string;
  length: number | undefined;
  body: string;
}

/** The whole responses at the start of `text`, each framed by its Content-length (none for a HEAD's, by `isHead`). */
function parse(text: string, isHead: (i: number) => boolean = () => false): { responses: Parsed[]; rest: string } {
  const responses: Parsed[] = [];
  let at = 0;
  for (;;) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    const head = text.slice(at, end + 4);
    const length = /\r\nContent-length: (\d+)\r\n/.exec(head)?.[1];
    const n = isHead(responses.length) || length === undefined ? 0 : Number(length);
    if (text.length < end + 4 + n) break;
    responses.push({ status: Number(head.slice(9, 12)), head, length: length === undefined ? undefined : Number(length), body: text.slice(end + 4, end + 4 + n) });
    at = end + 4 + n;
  }
  return { responses, rest: text.slice(at) };
}

/** Waits for `count` whole responses on the connection; they and nothing else must be there. */
async function responses(conn: RawConn, count: number, isHead?: (i: number) => boolean): Promise<Parsed[]> {
  const p = await waitFor(`${count} responses (have ${JSON.stringify(conn.text.slice(-300))})`, () => {
    const r = parse(conn.text, isHead);
    return r.responses.length >= count && r;
  });
  expect(p.responses.length).toBe(count);
  expect(p.rest).toBe("");
  return p.responses;
}

describe.each(["spin", "sqpoll", "batch"])("%s mode", (mode) => {
  test("--size N-M: 40 responses in turn, each its drawn length, exactly that many bytes of the pattern, in range", async () => {
    await using s = await startServer(["--mode", mode, "--keep-alive", "--size", "100-2000", "--seed", "9"]);
    using conn = await RawConn.open(s.port);
    let got: Parsed[] = [];
    for (let i = 0; i < 40; i++) {
      conn.write(GET11("/"));
      got = await responses(conn, i + 1);
    }
    const lengths = got.map((r) => r.length!);
    expect(lengths.every((n) => n >= 100 && n <= 2000)).toBe(true);
    expect(new Set(lengths).size).toBeGreaterThan(30); // drawn, not fixed
    for (const r of got) {
      expect(r.head).toStartWith("HTTP/1.1 200 OK\r\nContent-type: text/html\r\nContent-length: ");
      expect(r.body).toBe(PATTERN.slice(0, r.length));
    }
    conn.close();
    expect(await stopClean(s)).toMatchObject({ requests: 40, responses: 40 });
  }, 30_000);

  test("a route's size=1024: exact bytes; HEAD says 1024 and sends none; pipelined requests each get their own", async () => {
    await using s = await startServer(["--mode", mode, "--keep-alive", "--route", "/kib size=1024 type=application/octet-stream", "--route", "/r size=1-64"]);
    const one = await seen(s.port, "GET /kib HTTP/1.0\r\n\r\n");
    expect(one).toEqual({ status: 200, bytes: expect.any(Number), text: `HTTP/1.0 200 OK\r\nContent-type: application/octet-stream\r\nContent-length: 1024\r\n\r\n${PATTERN.slice(0, 1024)}` });
    const head = await seen(s.port, "HEAD /kib HTTP/1.0\r\n\r\n");
    expect("text" in head && head.text).toBe("HTTP/1.0 200 OK\r\nContent-type: application/octet-stream\r\nContent-length: 1024\r\n\r\n");
    using conn = await RawConn.open(s.port);
    const paths = ["/r", "/kib", "/r", "/", "/r", "/r", "/kib", "/r"];
    conn.write(paths.map(GET11).join("") + "HEAD /r HTTP/1.1\r\nHost: t\r\n\r\n");
    const got = await responses(conn, paths.length + 1, (i) => i === paths.length);
    expect(got[paths.length]!.body).toBe("");
    expect(got[paths.length]!.length! >= 1 && got[paths.length]!.length! <= 64).toBe(true);
    paths.forEach((p, i) => {
      const r = got[i]!;
      if (p === "/kib") expect(r.length).toBe(1024);
      else if (p === "/") expect(r.body).toBe("Have a nice day!\n");
      else expect(r.length! >= 1 && r.length! <= 64).toBe(true);
      if (p !== "/") expect(r.body).toBe(PATTERN.slice(0, r.length));
    });
    conn.close();
    await stopClean(s);
  }, 30_000);

  test("a drawn status keeps the generated size; a drawn 204 has no body, a drawn 205 says 0", async () => {
    await using s = await startServer(["--mode", mode, "--keep-alive", "--seed", "3", "--route", "/s=200,503@30%,204@20%,205@20% size=64"]);
    using conn = await RawConn.open(s.port);
    conn.write(GET11("/s").repeat(30));
    const got = await responses(conn, 30);
    const byStatus = new Map(got.map((r) => [r.status, r]));
    expect([...byStatus.keys()].sort()).toEqual([200, 204, 205, 503]);
    expect(byStatus.get(503)!.head).toBe("HTTP/1.1 503 Service Unavailable\r\nContent-type: text/plain\r\nContent-length: 64\r\n\r\n");
    expect(byStatus.get(503)!.body).toBe(PATTERN.slice(0, 64));
    expect(byStatus.get(204)!.head).toBe("HTTP/1.1 204 No Content\r\nContent-type: text/plain\r\n\r\n");
    expect(byStatus.get(205)!.head).toBe("HTTP/1.1 205 Reset Content\r\nContent-type: text/plain\r\nContent-length: 0\r\n\r\n");
    conn.close();
    await stopClean(s);
  }, 30_000);
});

