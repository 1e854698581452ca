// deploy/seccomp.json is the runtime default plus io_uring, and says where it came from.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { readRepo } from "../lib/helpers.ts";

interface SeccompRule { names: string[]; action: string; args?: unknown[]; includes?: Record<string, unknown>; excludes?: Record<string, unknown> }
interface Seccomp { defaultAction: string; syscalls: SeccompRule[] }

const IO_URING = ["io_uring_enter", "io_uring_register", "io_uring_setup"];
const PODMAN_DEFAULT = "/usr/share/containers/seccomp.json";
const PODMAN_DEFAULT_SHA256 = "cc374cf23846ce1f62f4dc807a8e2b8673c783c6f56cb475467621035d281e6c";

describe("deploy/seccomp.json", () => {
  const profile = JSON.parse(readRepo("deploy/seccomp.json")) as Seccomp;

  test("denies by default and allows the three io_uring calls unconditionally", () => {
    expect(profile.defaultAction).toBe("SCMP_ACT_ERRNO");
    const main = profile.syscalls.filter(
      (r) => r.action === "SCMP_ACT_ALLOW" && !r.args?.length && !Object.keys(r.includes ?? {}).length && !Object.keys(r.excludes ?? {}).length,
    );
    for (const name of IO_URING) expect(main.some((r) => r.names.includes(name)), name).toBe(true);
  });

  test("its provenance note names the source and its hash", () => {
    const note = readRepo("deploy/seccomp.md");
    expect(note).toContain(PODMAN_DEFAULT);
    expect(note).toContain(PODMAN_DEFAULT_SHA256);
  });

  const source = existsSync(PODMAN_DEFAULT) ? readFileSync(PODMAN_DEFAULT) : undefined;
  const sameSource = source !== undefined && createHash("sha256").update(source).digest("hex") === PODMAN_DEFAULT_SHA256;
  test.skipIf(!sameSource)("is the podman default it names, plus io_uring and nothing else", () => {
    const base = JSON.parse(source!.toString()) as Seccomp;
    const stripped = structuredClone(profile);
    for (const r of stripped.syscalls) r.names = r.names.filter((n) => !IO_URING.includes(n));
    for (const r of base.syscalls) r.names.sort();
    for (const r of stripped.syscalls) r.names.sort();
    expect(stripped).toEqual(base);
  });
});
