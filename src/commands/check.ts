// `--check URL`: one GET, exit 0 when the answer's status is below 500 and 1
// otherwise (refused, timed out, 5xx, not HTTP). Made for a container
// HEALTHCHECK: no curl in the image, no proxy env honoured, no library load,
// and Bun's own socket rather than node:net (which costs ~6 ms to load).
// A URL that is only a path ("/", "/readyz") is sent to this server's own
// --host/--port, so the check follows PORT and HOST in the environment.
import { bracketed, loopbackFor, urlOf } from "../lib/address.ts";
import { usageError } from "../lib/errors.ts";
import type { Log } from "../lib/log.ts";

export const CHECK_TIMEOUT_MS = 3000;

interface Target {
  host: string;
  port: number;
  path: string;
  href: string;
}

/** Where the check goes: url, or for a path this server's own host and port. */
export function checkTarget(url: string, own: { host: string; port: number }): Target {
  if (url.startsWith("/")) {
    const host = loopbackFor(own.host);
    return { host, port: own.port, path: url, href: urlOf(host, own.port, url) };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(`--check '${url}' is not a URL: give http://HOST:PORT/PATH or a path like /`);
  }
  if (u.protocol !== "http:") throw usageError(`--check '${url}' is not http://: the check speaks plain HTTP, give http://HOST:PORT/PATH`);
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(u.port || 80), path: `${u.pathname}${u.search}`, href: u.href };
}

/** The status code of GET target, or a one-line reason it has none. */
function fetchStatus(t: Target, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    let head = "";
    let settled = false;
    let sock: Bun.Socket | undefined;
    const done = (v: number | string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock?.terminate();
      resolve(v);
    };
    const timer = setTimeout(() => done(`no answer in ${timeoutMs} ms`), timeoutMs);
    const failed = (e: unknown): void => done((e as NodeJS.ErrnoException).code ?? String(e));
    Bun.connect({
      hostname: t.host,
      port: t.port,
      socket: {
        open(s) {
          sock = s;
          s.write(`GET ${t.path} HTTP/1.1\r\nHost: ${bracketed(t.host)}:${t.port}\r\nUser-Agent: ringside-check\r\nConnection: close\r\n\r\n`);
        },
        data(_s, chunk) {
          head += new TextDecoder("latin1").decode(chunk);
          if (!head.includes("\r\n") && head.length < 1024) return;
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
          done(m ? Number(m[1]) : `not an HTTP response: '${head.slice(0, 40)}'`);
        },
        end: () => done("closed before a status line"),
        close: () => done("closed before a status line"),
        error: (_s, e) => failed(e),
        connectError: (_s, e) => failed(e),
      },
    }).catch(failed);
  });
}

export async function check(url: string, own: { host: string; port: number }, log: Log, timeoutMs = CHECK_TIMEOUT_MS): Promise<number> {
  const target = checkTarget(url, own);
  const status = await fetchStatus(target, timeoutMs);
  if (typeof status === "number" && status < 500) {
    log.info("check", `check ${target.href}: ok`, { status });
    return 0;
  }
  const why = typeof status === "number" ? `status ${status}` : status;
  log.error("check", `check ${target.href} failed: ${why}`);
  return 1;
}
