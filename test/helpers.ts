// Shared by the tests: start the real CLI on port 0, talk to it over raw TCP,
// wait for conditions with deadlines (never fixed sleeps).
import { connect, type Socket } from "node:net";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..");
export const CLI = join(ROOT, "src", "cli.ts");
export const DEFAULT_RESPONSE =
  "HTTP/1.0 200 OK\r\nContent-type: text/html\r\nContent-length: 17\r\n\r\nHave a nice day!\n";

export interface Running {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  url: string;
  /** stdout seen so far (the startup line and anything after it). */
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM, wait for exit; returns exit code and all output. */
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; stdout: string; stderr: string }>;
  [Symbol.asyncDispose]: () => Promise<void>;
}

async function collect(stream: ReadableStream<Uint8Array>, into: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) into.text += decoder.decode(chunk, { stream: true });
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(10);
  }
}

/** Starts `bun src/cli.ts` on 127.0.0.1 port 0 and waits for its startup line. */
export async function startServer(args: string[] = [], env: Record<string, string> = {}): Promise<Running> {
  const proc = Bun.spawn(["bun", CLI, "--host", "127.0.0.1", "--port", "0", ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  const out = { text: "" };
  const err = { text: "" };
  const done = Promise.all([collect(proc.stdout, out), collect(proc.stderr, err)]);
  const port = await waitFor(`startup line (stderr: ${err.text})`, () => {
    const m = /listening on http:\/\/(?:\[[^\]]*\]|[^\s:"]+):(\d+)/.exec(out.text);
    if (m) return Number(m[1]);
    if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}: ${err.text}`);
    return undefined;
  });
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (proc.exitCode === null) proc.kill(signal);
    const code = await proc.exited;
    await done;
    return { code, stdout: out.text, stderr: err.text };
  };
  return {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    stdout: () => out.text,
    stderr: () => err.text,
    stop,
    [Symbol.asyncDispose]: async () => {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** Runs the CLI to completion (for usage errors and start failures). */
export async function runCli(args: string[], env: Record<string, string> = {}, cmd: string[] = ["bun", CLI]) {
  await using proc = Bun.spawn([...cmd, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

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

/** The server's counters, from its /proc-visible summary line after stop. */
export function summaryCounters(stdout: string): Record<string, number> {
  const line = stdout.split("\n").find((l) => l.startsWith("ringside: stopped")) ?? "";
  return Object.fromEntries([...line.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

/** Threads of a process by name, from /proc. */
export async function threadId(pid: number, comm: string): Promise<number> {
  const { readdirSync, readFileSync } = await import("node:fs");
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim() === comm) return Number(tid);
  }
  throw new Error(`no thread named ${comm} in ${pid}`);
}
