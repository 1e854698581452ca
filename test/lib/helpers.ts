// Shared by the tests: start the real CLI on port 0, talk to it over raw TCP,
// and the exact responses it should send. Waiting, /proc and the parsing of the server's
// lines live in ./proc.ts (shared with bench/).
import { expect } from "bun:test";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { lastStats, parseStartup, runToEnd, spawnCaptured, summaryCounters, waitFor, type Piped, type Startup } from "./proc.ts";

export const ROOT = join(import.meta.dir, "..", "..");
export const CLI = join(ROOT, "src", "cli.ts");
export const DEFAULT_RESPONSE =
  "HTTP/1.0 200 OK\r\nContent-type: text/html\r\nContent-length: 17\r\n\r\nHave a nice day!\n";

export interface Running {
  proc: Piped;
  port: number;
  url: string;
  /** The startup line's fields (mode, features, admin URL ...). */
  startup: Startup;
  /** stdout seen so far (the startup line and anything after it). */
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM, wait for exit; returns exit code and all output. */
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; stdout: string; stderr: string }>;
  [Symbol.asyncDispose]: () => Promise<void>;
}

/** Starts `bun src/cli.ts` on 127.0.0.1 port 0 and waits for its startup line. */
export async function startServer(args: string[] = [], env: Record<string, string> = {}): Promise<Running> {
  const child = spawnCaptured(["bun", CLI, "--host", "127.0.0.1", "--port", "0", ...args], { env });
  const { proc } = child;
  let startup: Startup;
  try {
    startup = await waitFor("the startup line", () => {
      const s = parseStartup(child.stdout());
      if (!s && proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}: ${child.stderr()}`);
      return s;
    });
  } catch (e) {
    // Not yet the caller's to dispose of: a server that never said it serves must not outlive the test.
    proc.kill("SIGKILL");
    await proc.exited;
    throw e;
  }
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (proc.exitCode === null) proc.kill(signal);
    const code = await child.done;
    return { code, stdout: child.stdout(), stderr: child.stderr() };
  };
  return {
    proc,
    port: startup.port,
    url: `http://127.0.0.1:${startup.port}`,
    startup,
    stdout: child.stdout,
    stderr: child.stderr,
    stop,
    [Symbol.asyncDispose]: async () => {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** Runs the CLI to completion (for usage errors and start failures). */
export async function runCli(args: string[], env: Record<string, string> = {}, cmd: string[] = ["bun", CLI]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await runToEnd([...cmd, ...args], { env });
  return { code, stdout, stderr };
}

/** A file of the repository, as text. */
export const readRepo = (rel: string): string => readFileSync(join(ROOT, rel), "utf8");

export interface RawResult {
  data: Buffer;
  text: string;
  /** "eof" when the server closed cleanly, "reset" on ECONNRESET, "timeout" if neither came. */
  end: "eof" | "reset" | "timeout";
}

/**
 * Writes `chunks` (with optional pauses between them) and reads to EOF.
 * halfClose: shut our write side after the last chunk.
 */
export function rawExchange(port: number, chunks: Array<string | Uint8Array>, opts: { halfClose?: boolean; gapMs?: number; timeoutMs?: number } = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let settled = false;
    const sock: Socket = connect({ host: "127.0.0.1", port });
    const finish = (end: RawResult["end"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      const data = Buffer.concat(parts);
      resolve({ data, text: data.toString("latin1"), end });
    };
    const timer = setTimeout(() => finish("timeout"), opts.timeoutMs ?? 10_000);
    sock.on("data", (d: Buffer) => parts.push(d));
    sock.on("end", () => finish("eof"));
    sock.on("error", (e: NodeJS.ErrnoException) => finish(e.code === "ECONNRESET" ? "reset" : "eof"));
    sock.on("connect", async () => {
      for (const [i, c] of chunks.entries()) {
        if (i && opts.gapMs) await Bun.sleep(opts.gapMs);
        if (sock.destroyed) return;
        sock.write(c);
      }
      if (opts.halfClose) sock.end();
    });
  });
}

/** SIGTERM the server and assert a clean stop (exit 0, nothing on stderr); its counters. */
export async function stopClean(s: Running): Promise<Record<string, number>> {
  const { code, stdout, stderr } = await s.stop();
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  return summaryCounters(stdout);
}

/** One raw TCP connection kept open across several exchanges. */
export class RawConn {
  private parts: Buffer[] = [];
  private received = 0;
  /** How the server ended the connection, once it has. */
  end: "eof" | "reset" | undefined;
  errorCode: string | undefined;

  private constructor(readonly sock: Socket) {
    sock.on("data", (d: Buffer) => {
      this.parts.push(d);
      this.received += d.length;
    });
    sock.on("end", () => {
      this.end ??= "eof";
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      this.errorCode = e.code;
      this.end ??= e.code === "ECONNRESET" ? "reset" : "eof";
    });
  }

  /** allowHalfOpen: keep writing after the server's FIN (as a lingering client does). */
  static open(port: number, timeoutMs = 5_000, allowHalfOpen = false): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: "127.0.0.1", port, allowHalfOpen });
      const conn = new RawConn(sock);
      const timer = setTimeout(() => reject(new Error(`connect to ${port} timed out`)), timeoutMs);
      sock.once("connect", () => {
        clearTimeout(timer);
        resolve(conn);
      });
      sock.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** Everything received so far. */
  get data(): Buffer {
    if (this.parts.length > 1) this.parts = [Buffer.concat(this.parts)];
    return this.parts[0] ?? Buffer.alloc(0);
  }

  get text(): string {
    return this.data.toString("latin1");
  }

  get length(): number {
    return this.received;
  }

  write(chunk: string | Uint8Array): void {
    this.sock.write(chunk);
  }

  /** Waits until `n` bytes in all have arrived; returns them (latin1). */
  async readBytes(n: number, timeoutMs = 5_000): Promise<string> {
    await waitFor(`${n} bytes (have ${this.received}: ${JSON.stringify(this.text.slice(-200))})`, () => this.received >= n || this.end !== undefined, timeoutMs);
    return this.text;
  }

  /** Waits for the server to end the connection. */
  async waitEnd(timeoutMs = 5_000): Promise<"eof" | "reset" | "timeout"> {
    try {
      return await waitFor("the server to close", () => this.end, timeoutMs);
    } catch {
      return "timeout";
    }
  }

  /** Shuts our write side (FIN), keeps reading. */
  halfClose(): void {
    this.sock.end();
  }

  /** Closes with RST (SO_LINGER 0). */
  reset(): void {
    this.sock.resetAndDestroy();
  }

  close(): void {
    this.sock.destroy();
  }

  [Symbol.dispose](): void {
    this.sock.destroy();
  }
}

/** Waits for a stats line (needs --stats-interval) that satisfies `ok`; returns it. */
export async function waitForStats(s: Running, what: string, ok: (c: Record<string, number>) => boolean, timeoutMs = 10_000): Promise<Record<string, number>> {
  const before = s.stdout().length;
  // Only lines printed after this call: an older line may predate the condition.
  try {
    return await waitFor(`stats: ${what}`, () => {
      const c = lastStats(s.stdout().slice(before));
      return c && ok(c) ? c : undefined;
    }, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message} (last stats: ${JSON.stringify(lastStats(s.stdout()))})`);
  }
}

/** The default response's variants under --keep-alive. */
export const KEEP_11 = "HTTP/1.1 200 OK\r\nContent-type: text/html\r\nContent-length: 17\r\n\r\nHave a nice day!\n";
export const CLOSE_11 = "HTTP/1.1 200 OK\r\nContent-type: text/html\r\nContent-length: 17\r\nConnection: close\r\n\r\nHave a nice day!\n";
export const KEEP_10 = "HTTP/1.0 200 OK\r\nContent-type: text/html\r\nContent-length: 17\r\nConnection: keep-alive\r\n\r\nHave a nice day!\n";
/** The header block only, as HEAD gets it. */
export const headOf = (response: string): string => response.slice(0, response.indexOf("\r\n\r\n") + 4);

/** The error responses, exactly as native/setup.c builds them. */
export function errorResponse(code: 400 | 413 | 431 | 505): string {
  const reason = {
    400: "Bad Request",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    505: "HTTP Version Not Supported",
  }[code];
  return `HTTP/1.1 ${code} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length + 1}\r\nConnection: close\r\n\r\n${reason}\n`;
}

