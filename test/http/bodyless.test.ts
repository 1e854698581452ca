// Statuses that carry no content (RFC 9110 15.3.5, 15.3.6, 15.4.5): 204 and
// 304 are sent with no Content-length and no body, 205 with Content-length: 0
// and no body (as nginx sends it), for GET and HEAD, in close and keep-alive
// mode; a keep-alive connection stays usable after each (a stray body byte
// would be read as the start of the next response). The Bun.serve fallback
// frames them the same. (Statuses below 200 are not accepted by the flags.)
import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/config.ts";
import { FallbackServer } from "../../src/serve/fallback.ts";
import { rawExchange, RawConn, startServer, stopClean } from "../lib/helpers.ts";

const ROUTES = ["--route", "/204=204", "--route", "/205=205", "--route", "/304=304", "--route", "/200=200 body=ok"];
const REASON: Record<string, string> = { "204": "No Content", "205": "Reset Content", "304": "Not Modified", "200": "OK" };

/** The exact response of a route here; `type` is the default response's. */
function expected(version: "1.0" | "1.1", path: string, method: "GET" | "HEAD", type = "text/plain"): string {
  const status = path.slice(1);
  const length = status === "204" || status === "304" ? "" : status === "205" ? "Content-length: 0\r\n" : "Content-length: 2\r\n";
  const body = status === "200" && method === "GET" ? "ok" : "";
  return `HTTP/${version} ${status} ${REASON[status]}\r\nContent-type: ${type}\r\n${length}\r\n${body}`;
}

describe("close mode", () => {
  test("204, 205 and 304 by route, and 205 as the default response, GET and HEAD: exact bytes, then EOF", async () => {
    await using s = await startServer([...ROUTES, "--status", "205"]);
    for (const path of ["/204", "/205", "/304", "/200"]) {
      for (const method of ["GET", "HEAD"] as const) {
        const r = await rawExchange(s.port, [`${method} ${path} HTTP/1.0\r\n\r\n`]);
        expect({ path, method, text: r.text, end: r.end }).toEqual({ path, method, text: expected("1.0", path, method), end: "eof" });
      }
    }
    const def = await rawExchange(s.port, ["GET / HTTP/1.0\r\n\r\n"]);
    expect(def.text).toBe("HTTP/1.0 205 Reset Content\r\nContent-type: text/html\r\nContent-length: 0\r\n\r\n");
    expect(await stopClean(s)).toMatchObject({ requests: 9, responses: 9 });
  });
});

describe.each(["batch", "sqpoll", "spin"])("%s mode, keep-alive", (mode) => {
  test("one connection: each bodyless response, GET and HEAD, then the next request is answered", async () => {
    await using s = await startServer(["--mode", mode, "--rings", "1", "--keep-alive", ...ROUTES]);
    using conn = await RawConn.open(s.port);
    let want = "";
    for (const path of ["/204", "/205", "/304"]) {
      for (const method of ["GET", "HEAD"] as const) {
        for (const next of [`${method} ${path}`, "GET /200"]) {
          const [m, p] = next.split(" ") as ["GET" | "HEAD", string];
          conn.write(`${next} HTTP/1.1\r\nHost: t\r\n\r\n`);
          want += expected("1.1", p, m);
          expect(await conn.readBytes(want.length)).toBe(want);
        }
      }
    }
    expect(conn.end).toBeUndefined();
    conn.close();
    expect(await stopClean(s)).toMatchObject({ requests: 12, responses: 12 });
  });
});

test("curl reuses the connection after a 205 and a 204", async () => {
  await using s = await startServer(["--keep-alive", ...ROUTES]);
  const urls = ["/205", "/200", "/204", "/200"].map((p) => `${s.url}${p}`);
  const curl = Bun.spawnSync(["curl", "-sS", "--http1.1", ...urls.flatMap((u) => ["-o", "/dev/null", "-w", "%{http_code} %{num_connects} %{size_download}\\n", u])]);
  expect({ code: curl.exitCode, stderr: curl.stderr.toString() }).toEqual({ code: 0, stderr: "" });
  expect(curl.stdout.toString()).toBe("205 1 0\n200 0 2\n204 0 0\n200 0 2\n");
  await stopClean(s);
});

describe("the Bun.serve fallback frames them the same", () => {
  /** Status line, header names (lowercased) and body of each response in `text`, in order. */
  function responses(text: string, methods: readonly string[]): Array<{ status: string; length?: string; body: string }> {
    const out: Array<{ status: string; length?: string; body: string }> = [];
    let at = 0;
    for (const method of methods) {
      const end = text.indexOf("\r\n\r\n", at);
      if (end < 0) break;
      const lines = text.slice(at, end).split("\r\n");
      const length = lines.find((l) => /^content-length:/i.test(l))?.split(":")[1]!.trim();
      const n = method === "HEAD" ? 0 : Number(length ?? 0);
      out.push({ status: lines[0]!.split(" ")[1]!, ...(length === undefined ? {} : { length }), body: text.slice(end + 4, end + 4 + n) });
      at = end + 4 + n;
    }
    expect(text.slice(at)).toBe(""); // nothing after the last response: no stray body
    return out;
  }

  test.each([["close", []], ["keep-alive", ["--keep-alive"]]] as const)("%s: 204/304 no Content-Length, 205 Content-Length: 0, no body; the connection goes on", async (_name, flags) => {
    const f = FallbackServer.start(await parseConfig(["--host", "127.0.0.1", "--port", "0", ...flags, ...ROUTES], {}), "io_uring_blocked");
    try {
      using conn = await RawConn.open(f.port);
      const sent: string[] = [];
      for (const path of ["/204", "/205", "/304"]) {
        for (const method of ["GET", "HEAD"]) {
          // Keep-alive: every request on this one connection; close mode: the last only.
          if (flags.length === 0 && sent.length) continue;
          conn.write(`${method} ${path} HTTP/1.1\r\nHost: t\r\n\r\n`);
          sent.push(method);
          await conn.readBytes(conn.length + 1);
        }
      }
      conn.write(`GET /200 HTTP/1.1\r\nHost: t\r\n\r\n`);
      sent.push("GET");
      await conn.readBytes(conn.length + 1);
      const got = responses(conn.text, sent);
      if (flags.length) {
        expect(got).toEqual([
          { status: "204", body: "" }, { status: "204", body: "" },
          { status: "205", length: "0", body: "" }, { status: "205", length: "0", body: "" },
          { status: "304", body: "" }, { status: "304", body: "" },
          { status: "200", length: "2", body: "ok" },
        ]);
      } else {
        expect(got).toEqual([{ status: "204", body: "" }]);
      }
    } finally {
      f.destroy();
    }
  });
});
