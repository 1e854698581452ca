// Routes (--route, --routes, RINGSIDE_ROUTES) and --preset default-backend,
// byte for byte over raw TCP and with curl: exact and prefix matches, the
// query ignored, HEAD, pipelined requests to mixed routes answered in order,
// hostile paths, and the per-route counters in /metrics.
import { describe, expect, test } from "bun:test";
import { DEFAULT_RESPONSE, KEEP_11, rawExchange, RawConn, startServer, stopClean } from "../lib/helpers.ts";


const ROUTES = [
  "/healthz=200 body=ok",
  '/api/*=201 type=application/json body={"ok":true} header="Cache-Control: no-store"',
  "/api/v2/*=202 body=v2",
  '/api/exact=203 body="exact, not the prefix\\n"',
  "/empty=204",
  "/gone=410",
].flatMap((r) => ["--route", r]);

/** A route's HTTP/1.0 close response, as the server must send it. */
const close10 = (status: string, type: string, body: string, extra = ""): string =>
  `HTTP/1.0 ${status}\r\nContent-type: ${type}\r\nContent-length: ${body.length}\r\n${extra}\r\n${body}`;
const HEALTHZ = close10("200 OK", "text/plain", "ok");
const API = close10("201 Created", "application/json", '{"ok":true}', "Cache-Control: no-store\r\n");
const V2 = close10("202 Accepted", "text/plain", "v2");
const EXACT = close10("203 Non-Authoritative Information", "text/plain", "exact, not the prefix\n");
const EMPTY = "HTTP/1.0 204 No Content\r\nContent-type: text/plain\r\n\r\n";
const GONE = close10("410 Gone", "text/plain", "Gone\n");
const BAD = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nBad Request\n";

const get10 = (target: string, method = "GET"): string => `${method} ${target} HTTP/1.0\r\n\r\n`;

describe("route matching (close mode)", () => {
  const cases: Array<[string, string, string]> = [
    ["an exact route", "/healthz", HEALTHZ],
    ["an exact route, the query ignored", "/healthz?verbose=1&next=/api/x", HEALTHZ],
    ["an exact route does not match a longer path", "/healthz/", DEFAULT_RESPONSE],
    ["a prefix route", "/api/users/7", API],
    ["a prefix route, the prefix itself", "/api/", API],
    ["a prefix route needs the whole prefix", "/api", DEFAULT_RESPONSE],
    ["the longest prefix wins", "/api/v2/users", V2],
    ["an exact route beats a prefix", "/api/exact", EXACT],
    ["a path under the exact one falls back to the prefix", "/api/exact/1", API],
    ["a bodyless status", "/empty", EMPTY],
    ["the reason phrase as the default body", "/gone", GONE],
    ["an unmatched path gets the default response", "/nothing/here", DEFAULT_RESPONSE],
    ["absolute-form targets match on their path", "http://example.com/healthz?x", HEALTHZ],
    ["percent-escapes are not decoded", "/%68ealthz", DEFAULT_RESPONSE],
    ["dot segments are not resolved", "/./healthz", DEFAULT_RESPONSE],
    ["dot segments stay inside the prefix they are under", "/api/../healthz", API],
    ["a '://' in the query is not a scheme: the target is matched up to its '?'", "x?u=http://h/healthz", DEFAULT_RESPONSE],
    ["... nor in an origin-form query", "/r?u=https://h/api/x", DEFAULT_RESPONSE],
    ["... nor after a character no scheme starts with", "1http://h/healthz", DEFAULT_RESPONSE],
    ["a scheme is case-insensitive", "HTTP://h/healthz", HEALTHZ],
  ];

  test("every case, then HEAD, with its own bytes", async () => {
    await using s = await startServer(ROUTES);
    for (const [name, target, expected] of cases) {
      const r = await rawExchange(s.port, [get10(target)]);
      expect({ name, text: r.text, end: r.end }).toEqual({ name, text: expected, end: "eof" });
    }
    const head = await rawExchange(s.port, [get10("/api/x", "HEAD")]);
    expect(head.text).toBe(API.slice(0, API.indexOf("\r\n\r\n") + 4));
    const c = await stopClean(s);
    expect(c).toMatchObject({ requests: cases.length + 1, responses: cases.length + 1, bad_requests: 0 });
  });

  test("hostile paths get the documented answer and the server keeps serving", async () => {
    await using s = await startServer([...ROUTES, "--max-header-size", "1024"]);
    const long = await rawExchange(s.port, [get10(`/api/${"a".repeat(2000)}`)]);
    expect(long.text).toStartWith("HTTP/1.1 431 Request Header Fields Too Large\r\n");
    const high = await rawExchange(s.port, [Buffer.concat([Buffer.from("GET /api/"), Buffer.from([0xc3, 0xa9, 0xff]), Buffer.from(" HTTP/1.0\r\n\r\n")])]);
    expect(high.text).toBe(BAD);
    const nul = await rawExchange(s.port, ["GET /healthz\0 HTTP/1.0\r\n\r\n"]);
    expect(nul.text).toBe(BAD);
    const encoded = await rawExchange(s.port, [get10("/api/%2e%2e/%00%ff")]);
    expect(encoded.text).toBe(API);
    expect((await rawExchange(s.port, [get10("/healthz")])).text).toBe(HEALTHZ);
    const c = await stopClean(s);
    expect(c).toMatchObject({ requests: 2, bad_requests: 2, too_large: 1 });
  });
});

describe.each(["batch", "sqpoll", "spin"])("%s mode, keep-alive", (mode) => {
  test("pipelined requests to mixed routes are answered in order, each with its own bytes", async () => {
    await using s = await startServer(["--mode", mode, "--rings", "1", "--keep-alive", ...ROUTES]);
    using conn = await RawConn.open(s.port);
    const req = (path: string, method = "GET") => `${method} ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;
    const keep = (r: string) => r.replace("HTTP/1.0", "HTTP/1.1");
    const expected = [keep(API), KEEP_11, keep(HEALTHZ), keep(EMPTY), keep(V2), keep(API).slice(0, keep(API).indexOf("\r\n\r\n") + 4), keep(HEALTHZ)];
    conn.write(req("/api/1") + req("/") + req("/healthz?a") + req("/empty") + req("/api/v2/x") + req("/api/2", "HEAD") + req("/healthz"));
    const want = expected.join("");
    expect(await conn.readBytes(want.length)).toBe(want);
    // The connection stays open for more.
    conn.write(req("/gone"));
    expect((await conn.readBytes(want.length + keep(GONE).length)).slice(want.length)).toBe(keep(GONE));
    expect(conn.end).toBeUndefined();
    conn.close();
    const c = await stopClean(s);
    expect(c).toMatchObject({ requests: 8, responses: 8 });
  });
});

describe("--preset default-backend: the ingress default-backend contract", () => {
  const curl = async (url: string, ...args: string[]) => {
    const p = Bun.spawn(["curl", "-s", "-w", "\n%{http_code}", ...args, url], { stdout: "pipe" });
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    const cut = out.lastIndexOf("\n");
    return { body: out.slice(0, cut), status: Number(out.slice(cut + 1)) };
  };

  test("404 on any path, 200 ok on /healthz, on the same port", async () => {
    await using s = await startServer(["--preset", "default-backend", "--keep-alive"]);
    for (const path of ["/", "/index.html", "/some/deep/path?x=1", "/healthz/", "/HEALTHZ"]) {
      expect(await curl(`${s.url}${path}`)).toEqual({ body: "default backend - 404", status: 404 });
    }
    expect(await curl(`${s.url}/healthz`)).toEqual({ body: "ok", status: 200 });
    expect(await curl(`${s.url}/healthz?probe=kubelet`)).toEqual({ body: "ok", status: 200 });
    expect((await curl(`${s.url}/x`, "-X", "POST", "-d", "payload")).status).toBe(404);
    const head = Bun.spawnSync(["curl", "-sI", `${s.url}/healthz`]).stdout.toString();
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\nContent-type: text\/plain\r\nContent-length: 2\r\n/);
    // The container HEALTHCHECK's own check passes against it.
    const check = Bun.spawnSync(["bun", "src/cli.ts", "--check", `${s.url}/healthz`]);
    expect(check.exitCode).toBe(0);
    await stopClean(s);
  });

  test("flags given still win over the preset, and a /healthz route replaces its own", async () => {
    await using s = await startServer(["--preset", "default-backend", "--body", "nothing here", "--status", "410", "--route", "/healthz=200 body=fine"]);
    expect((await rawExchange(s.port, [get10("/x")])).text).toBe(close10("410 Gone", "text/plain", "nothing here"));
    expect((await rawExchange(s.port, [get10("/healthz")])).text).toBe(close10("200 OK", "text/plain", "fine"));
    await stopClean(s);
  });
});

describe("route sources and counters", () => {
  test("RINGSIDE_ROUTES (one route a line) and a --routes JSON file, counted per route in /metrics", async () => {
    const file = `/tmp/ringside-routes-${process.pid}.json`;
    await Bun.write(file, JSON.stringify([{ path: "/a", status: 200, body: "from the file", header: ["X-From: file"] }, { path: "/b/*", status: "503", delay: "1ms" }]));
    await using s = await startServer(["--routes", file, "--admin-port", "0"], { RINGSIDE_ROUTES: "/c=200 body=c\n\n/d=200 body=d\n" });
    expect((await rawExchange(s.port, [get10("/a")])).text).toBe(close10("200 OK", "text/plain", "from the file", "X-From: file\r\n"));
    expect((await rawExchange(s.port, [get10("/b/1")])).text).toBe(close10("503 Service Unavailable", "text/plain", "Service Unavailable\n"));
    for (const path of ["/c", "/c", "/d", "/zzz"]) await rawExchange(s.port, [get10(path)]);
    const metrics = await (await fetch(`${s.startup.fields.admin}/metrics`)).text();
    const byRoute: Record<string, number> = Object.fromEntries([...metrics.matchAll(/^ringside_route_requests_total\{route="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    expect(byRoute).toEqual({ default: 1, "/a": 1, "/b/*": 1, "/c": 2, "/d": 1 });
    const total = Number(/^ringside_requests_total (\d+)$/m.exec(metrics)![1]);
    expect(Object.values(byRoute).reduce((a, b) => a + b, 0)).toBe(total);
    await stopClean(s);
  });
});
