// Many real HTTP/1.0 clients: every one gets the whole response, none is
// reset, and the server's counters agree with what the clients saw.
import { describe, expect, test } from "bun:test";
import { startServer } from "../lib/helpers.ts";
import { summaryCounters } from "../lib/proc.ts";

interface AbResult { complete: number; failed: number; non2xx: number; exceptions: number; bodyBytes: number }

/** ApacheBench: HTTP/1.0, one connection per request, reads each to EOF. */
async function ab(url: string, n: number, c: number): Promise<AbResult> {
  await using proc = Bun.spawn(["ab", "-q", "-r", "-s", "10", "-n", String(n), "-c", String(c), `${url}/`], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect(err).not.toMatch(/apr_socket|Connection reset/);
  expect(code).toBe(0);
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  return {
    complete: num(/Complete requests:\s+(\d+)/),
    failed: num(/Failed requests:\s+(\d+)/),
    non2xx: num(/Non-2xx responses:\s+(\d+)/),
    exceptions: num(/Exceptions:\s+(\d+)/),
    bodyBytes: num(/HTML transferred:\s+(\d+)/),
  };
}

describe.each(["spin", "sqpoll", "batch"])("%s mode", (mode) => {
  test("1,000 sequential and 200 concurrent connections, nothing lost", async () => {
    await using s = await startServer(["--mode", mode, "--max-connections", "256"]);
    try {
      const seq = await ab(s.url, 1000, 1);
      expect(seq).toEqual({ complete: 1000, failed: 0, non2xx: 0, exceptions: 0, bodyBytes: 17_000 });
      const conc = await ab(s.url, 2000, 200);
      expect(conc).toEqual({ complete: 2000, failed: 0, non2xx: 0, exceptions: 0, bodyBytes: 34_000 });
    } finally {
      const { code, stdout } = await s.stop();
      expect(code).toBe(0);
      const c = summaryCounters(stdout);
      expect(c).toMatchObject({ requests: 3000, responses: 3000, bytes_sent: 3000 * 81, active: 0 });
      // ab opens a few spare connections at the end and closes them unused.
      expect(c.accepted).toBe(3000 + c.client_eof_early!);
      expect(c).toMatchObject({ bad_requests: 0, recv_errors: 0, send_errors: 0, client_resets: 0, cq_overflow: 0 });
    }
  });
});

test("200 concurrent curl clients each get the exact body", async () => {
  await using s = await startServer();
  const urls = Array.from({ length: 200 }, (_, i) => `${s.url}/client/${i}`);
  await using proc = Bun.spawn(["curl", "-sS", "--no-progress-meter", "--http1.0", "--parallel", "--parallel-max", "200", "-w", "%{http_code}\\n", ...urls], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect(err).toBe("");
  expect(code).toBe(0);
  // Parallel transfers interleave their output lines; count them instead.
  const lines = out.trimEnd().split("\n").sort();
  expect(lines).toEqual([...Array(200).fill("200"), ...Array(200).fill("Have a nice day!")]);
});
