// The sidecar image's size. A full run builds it as test/container.test.ts
// does: the local base images from deploy/build-base-image.sh (cached, keyed by
// content), then `podman build` of the Dockerfile, whose cached layers make a
// rebuild quick; a quick run only reads the size of an existing
// localhost/ringside:test. Nothing here fails the run: podman missing or a
// failed build is a note in the report.
import { join } from "node:path";
import { softLimit, type Finished } from "../../test/lib/proc.ts";
import { hostNet } from "./netns.ts";
import { run } from "./proc.ts";
import { ROOT } from "./servers.ts";

/** The sidecar image's size, or why there is none. */
export interface ImageSize {
  tag: string;
  /** podman image inspect .Size, bytes; absent when not measured. */
  bytes?: number;
  /** Built in this run (full), or an existing image read (quick). */
  built: boolean;
  /** The image's creation time (an existing image may come from another tree). */
  created?: string;
  /** Seconds the base images and the build took. */
  buildS?: number;
  /** How it was made, or why it was not measured. */
  note: string;
}

// Debian's podman: crun rejects hybrid cgroups here, and there is no systemd.
const PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"];
const BENCH_TAG = "localhost/ringside:bench";
const TEST_TAG = "localhost/ringside:test";
/** The bases take minutes only when their cached root filesystems are gone (mmdebstrap); the build, with cached layers, seconds. */
const BASE_TIMEOUT_MS = 10 * 60_000;
const BUILD_TIMEOUT_MS = 10 * 60_000;

export interface Inspected {
  id: string;
  bytes: number;
  created: string;
}

/** `podman image inspect TAG`'s JSON: the first image's id, size and creation time. */
export function parseInspect(stdout: string): Inspected | undefined {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  const first: unknown = Array.isArray(json) ? json[0] : undefined;
  if (!first || typeof first !== "object") return undefined;
  const o = first as Record<string, unknown>;
  if (typeof o.Id !== "string" || typeof o.Size !== "number") return undefined;
  return { id: o.Id, bytes: o.Size, created: typeof o.Created === "string" ? o.Created : "" };
}

/** deploy/build-base-image.sh's output: the BASE= and BUILD_BASE= lines. */
export function parseBaseImages(stdout: string): { base: string; buildBase: string } | undefined {
  const vars = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const m = /^(BASE|BUILD_BASE)=(\S+)$/.exec(line.trim());
    if (m) vars.set(m[1]!, m[2]!);
  }
  const base = vars.get("BASE");
  const buildBase = vars.get("BUILD_BASE");
  return base && buildBase ? { base, buildBase } : undefined;
}

const podman = (args: string[], timeoutMs = 60_000): Promise<Finished> => run(hostNet([...PODMAN, ...args]), timeoutMs);

async function inspect(tag: string): Promise<Inspected | undefined> {
  const r = await podman(["image", "inspect", tag]);
  return r.code === 0 ? parseInspect(r.stdout) : undefined;
}

/** --ulimit at or under the harness's soft limits (podman fails to raise them). */
function ulimits(): string[] {
  const nofile = Math.min(softLimit("Max open files"), 65536);
  const nproc = Math.min(softLimit("Max processes"), 4096);
  return ["--ulimit", `nofile=${nofile}:${nofile}`, "--ulimit", `nproc=${nproc}:${nproc}`];
}

/** Why a step failed, in one line. */
function failure(what: string, r: Finished, timeoutMs: number): string {
  if (r.timedOut) return `${what} timed out after ${timeoutMs / 60_000} min`;
  const last = (r.stderr.trim() || r.stdout.trim()).split("\n").at(-1) ?? "";
  return `${what} exited ${r.code}: ${last.slice(0, 300)}`;
}

async function buildImage(): Promise<ImageSize> {
  const t0 = performance.now();
  const notBuilt = (note: string): ImageSize => ({ tag: BENCH_TAG, built: false, note: `not measured: ${note}` });
  const base = await run(hostNet([join(ROOT, "deploy", "build-base-image.sh")]), BASE_TIMEOUT_MS, { cwd: ROOT });
  if (base.code !== 0 || base.timedOut) return notBuilt(failure("deploy/build-base-image.sh", base, BASE_TIMEOUT_MS));
  const bases = parseBaseImages(base.stdout);
  if (!bases) return notBuilt("deploy/build-base-image.sh printed no BASE= and BUILD_BASE= lines");
  const before = await inspect(BENCH_TAG);
  const args = ["build", "--format", "docker", "--pull=never", ...ulimits(), "--build-arg", `BASE=${bases.base}`, "--build-arg", `BUILD_BASE=${bases.buildBase}`, "-t", BENCH_TAG, ROOT];
  const b = await podman(args, BUILD_TIMEOUT_MS);
  if (b.code !== 0 || b.timedOut) return notBuilt(failure("podman build", b, BUILD_TIMEOUT_MS));
  const img = await inspect(BENCH_TAG);
  if (!img) return notBuilt(`podman image inspect ${BENCH_TAG} failed after the build`);
  // Best effort: the image this build replaced (podman refuses while another tag holds it).
  if (before && before.id !== img.id) await podman(["rmi", before.id]);
  const buildS = Math.round((performance.now() - t0) / 100) / 10;
  return { tag: BENCH_TAG, bytes: img.bytes, built: true, created: img.created, buildS, note: `built in this run: podman build --format docker on ${bases.base} and ${bases.buildBase}` };
}

async function existingImage(): Promise<ImageSize> {
  const img = await inspect(TEST_TAG);
  if (!img) return { tag: TEST_TAG, built: false, note: `not measured: quick runs build no image, and there is no ${TEST_TAG} (bun test test/container.test.ts builds it)` };
  return { tag: TEST_TAG, bytes: img.bytes, built: false, created: img.created, note: `an existing ${TEST_TAG} (not built by this run: it may come from another tree)` };
}

/** The image's size: built here (full run) or read from an existing one (quick). */
export async function imageSize(build: boolean): Promise<ImageSize> {
  const tag = build ? BENCH_TAG : TEST_TAG;
  if (!Bun.which("podman")) return { tag, built: false, note: "not measured: podman is not installed (apt-get install podman runc)" };
  return build ? buildImage() : existingImage();
}
