// A body file that is not a regular file, or too big, is refused at once
// with one line naming the flag (or the route) and the path: a FIFO would
// wait for a writer for ever, /dev/zero would fill the memory. Each run has
// a deadline far below forever; a start that hangs fails it.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/config.ts";
import { CLI } from "../lib/helpers.ts";
import { runToEnd } from "../lib/proc.ts";

const DIR = mkdtempSync(join(tmpdir(), "ringside-body-file-"));
afterAll(() => rmSync(DIR, { recursive: true }));
const FIFO = join(DIR, "fifo");
expect(Bun.spawnSync(["mkfifo", FIFO]).exitCode).toBe(0);
const ROUTES = join(DIR, "routes.json");
writeFileSync(ROUTES, JSON.stringify([{ path: "/ok", body: "ok" }, { path: "/fifo", "body-file": FIFO }]));
const MIB = 1024 * 1024;
/** Sparse: a file of that size that takes no disk. */
function sized(name: string, bytes: number): string {
  const path = join(DIR, name);
  writeFileSync(path, "");
  truncateSync(path, bytes);
  return path;
}

/** The CLI with these flags, killed if it has not exited in 10 s. */
async function refused(args: string[]): Promise<string> {
  const r = await runToEnd(["bun", CLI, "--host", "127.0.0.1", "--port", "0", ...args], { timeoutMs: 10_000 });
  expect({ timedOut: r.timedOut, code: r.code, stdout: r.stdout }).toEqual({ timedOut: false, code: 2, stdout: "" });
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  return r.stderr;
}

describe("not a regular file", () => {
  test.each([
    ["--body-file, a FIFO", ["--body-file", FIFO], `--body-file '${FIFO}' is not a regular file (a FIFO): give a file`],
    ["--body-file, /dev/zero", ["--body-file", "/dev/zero"], "--body-file '/dev/zero' is not a regular file (a character device): give a file"],
    ["--body-file, a directory", ["--body-file", DIR], `--body-file '${DIR}' is not a regular file (a directory): give a file`],
    ["a --route's body-file, /dev/zero", ["--route", "/z body-file=/dev/zero"], "--route '/z body-file=/dev/zero': body-file '/dev/zero' is not a regular file (a character device): give a file"],
    ["a routes file's body-file, a FIFO", ["--routes", ROUTES], `--routes '${ROUTES}': route 2: body-file '${FIFO}' is not a regular file (a FIFO): give a file`],
  ])("%s: one line naming it, exit 2", async (_name, args, message) => {
    expect(await refused(args)).toBe(`ringside: error: ${message}\n`);
  }, 20_000);
});

describe("64 MiB at most", () => {
  test("a body file over the limit is refused naming the limit", async () => {
    const big = sized("big.bin", 64 * MIB + 1);
    expect(await refused(["--body-file", big])).toBe(`ringside: error: --body-file '${big}' is over the 64 MiB limit (67108865 bytes): give a smaller file\n`);
    expect(await refused(["--route", `/big body-file=${big}`])).toBe(`ringside: error: --route '/big body-file=${big}': body-file '${big}' is over the 64 MiB limit (67108865 bytes): give a smaller file\n`);
  }, 30_000);

  test("a body file of exactly 64 MiB is read whole", async () => {
    const cfg = await parseConfig(["--body-file", sized("limit.bin", 64 * MIB)], {});
    expect(cfg.response.body.length).toBe(64 * MIB);
  });
});
