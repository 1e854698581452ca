#!/usr/bin/env bun
// What `bun run serve` runs: the CLI (cli.ts) as one
// prebuilt file, dist/ringside.js, when that is newer than every file of
// src/ and package.json: one module to load instead of some thirty TypeScript
// files to transpile (median cold start to the first 200 on a 2-vCPU VM: 69 ms
// instead of 77, this check included; `bun dist/ringside.js` alone: 63). When
// src/ changed it builds that file again first (a child `bun build`, so that the
// bundler's memory never becomes the server's), as native/ is rebuilt when
// stale; where it cannot (a read-only install) it runs src/cli.ts as it is.
// Either way the same code.
import { mtime, newest } from "./lib/mtime.ts";

const ROOT = `${import.meta.dir}/..`;
const BUNDLE = `${ROOT}/dist/ringside.js`;

/** dist/ringside.js, built again unless it is newer than src/ and package.json; false when it cannot be. */
async function bundle(): Promise<boolean> {
  const built = mtime(BUNDLE);
  if (built && built >= newest(import.meta.dir, "**/*.ts", [`${ROOT}/package.json`])) return true;
  // Another start may build at the same time: each writes a file of its own, and renames it over.
  const tmp = `${BUNDLE}.${process.pid}.tmp`;
  const r = Bun.spawnSync([process.execPath, "build", `${import.meta.dir}/cli.ts`, "--target", "bun", "--outfile", tmp], { stdout: "ignore", stderr: "ignore", timeout: 60_000 });
  if (!r.success) return false;
  const { renameSync, rmSync } = await import("node:fs");
  try {
    renameSync(tmp, BUNDLE);
    return true;
  } catch {
    rmSync(tmp, { force: true });
    return false;
  }
}

await ((await bundle()) ? import(BUNDLE) : import("./cli.ts"));
