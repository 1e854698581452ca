// Which libringside.so to load; native.ts dlopens what this finds. In order:
//
//   1. RINGSIDE_LIB, as given (the image sets it).
//   2. In a checkout: native/build/, rebuilt by make when older than native/'s
//      sources, so a developer always runs the sources as they are.
//   3. The library the package ships for this platform and architecture
//      (native/prebuilt/linux-x64/, linux-arm64/): an installed package runs
//      it and never compiles, whatever tools the machine has.
//   4. A build from source into native/build/ when make and cc are here: an
//      architecture the package has no library for, a prebuilt library this
//      system cannot load (native.ts asks for it then), or a checkout's
//      native/build/ that is current.
//   5. One line naming what to install.
//
// A checkout is any tree not under node_modules/ (bun add, bun add -g and bunx
// all install there; a `bun link`ed checkout resolves to its real path). The
// cost on the serving path: a regular expression and a stat or two in a
// package, today's ~30 stats of the sources in a checkout.
import { RingsideError } from "../lib/errors.ts";
import { mtime, newest } from "../lib/mtime.ts";

/** native/, beside src/: this file is src/serve/locate.ts, or part of dist/ringside.js (src/entry.ts). */
const NATIVE_DIR = `${import.meta.dir.replace(/\/(?:src\/serve|dist)$/, "")}/native`;
const BUILT = `${NATIVE_DIR}/build/libringside.so`;
/** As Bun names them, and as scripts/build-prebuilt.sh names the folders. */
const PLATFORM = `${process.platform}-${process.arch}`;
const PREBUILT = `${NATIVE_DIR}/prebuilt/${PLATFORM}/libringside.so`;
const SHIPPED = ["linux-x64", "linux-arm64"];
const INSTALLED = /[\\/]node_modules[\\/]/.test(import.meta.dir);

/** Where a library came from: the user's, built here from native/, or the package's. */
export type Source = "RINGSIDE_LIB" | "built" | "prebuilt";
export interface Found {
  path: string;
  source: Source;
}

/** The newest of native/'s sources: about 30 stats, 0.03 ms. */
const newestSource = (): number => newest(NATIVE_DIR, "*.{c,h}", [`${NATIVE_DIR}/Makefile`]);

const isCurrent = (): boolean => {
  const built = mtime(BUILT);
  return built > 0 && built >= newestSource();
};
const canBuild = (): boolean => Bun.which("make") !== null && Bun.which(process.env.CC ?? "cc") !== null;

function buildHint(output: string): string {
  if (/liburing\.h/.test(output)) return "liburing headers missing: apt-get install liburing-dev";
  if (/-luring/.test(output)) return "liburing missing: apt-get install liburing-dev";
  return output.trim().split("\n").slice(-3).join(" | ");
}

/** Runs make for native/build/libringside.so; the failure as one line. */
function build(): string {
  const result = Bun.spawnSync(["make", "-s", "-C", NATIVE_DIR, "lib"], { stderr: "pipe", stdout: "pipe" });
  if (!result.success) throw new RingsideError("build", `building native/ failed: ${buildHint(result.stderr.toString() + result.stdout.toString())}`);
  return BUILT;
}

function nothingToLoad(): RingsideError {
  if (!INSTALLED) return new RingsideError("build", "cannot build native/: no C compiler or make; apt-get install gcc make liburing-dev");
  return new RingsideError("build", `ringside ships libraries for ${SHIPPED.join(" and ")}, not ${PLATFORM}, and cannot build one here: apt-get install gcc make liburing-dev`);
}

/** The library to load, built first when that is the way to it. */
export function findLibrary(): Found {
  const override = process.env.RINGSIDE_LIB;
  if (override) {
    if (!mtime(override)) throw new RingsideError("load", `RINGSIDE_LIB=${override} does not exist; unset it to use the library ringside finds or builds`);
    return { path: override, source: "RINGSIDE_LIB" };
  }
  if (!INSTALLED) {
    const current = isCurrent();
    if (current || canBuild()) return { path: current ? BUILT : build(), source: "built" };
  }
  if (mtime(PREBUILT)) return { path: PREBUILT, source: "prebuilt" };
  if (isCurrent()) return { path: BUILT, source: "built" };
  if (canBuild()) return { path: build(), source: "built" };
  throw nothingToLoad();
}

/** A dlopen failure as what to install. The prebuilt libraries need glibc
 * 2.34 and liburing 2.2 (scripts/build-prebuilt.sh prints both). */
export function loadError(found: Found, dlerror: string): RingsideError {
  const what = found.source === "prebuilt" ? `the prebuilt ${PLATFORM} library` : found.path;
  const version = /version `(GLIBC|LIBURING)_([\d.]+)' not found/.exec(dlerror);
  let why: string;
  if (/liburing\.so\.2: cannot open shared object file/.test(dlerror)) {
    why = "liburing is not installed: apt-get install liburing2";
  } else if (version) {
    const [, lib, needed] = version;
    const [name, distros] = lib === "GLIBC" ? ["glibc", "Debian 12, Ubuntu 22.04"] : ["liburing", "Debian 12, Ubuntu 24.04"];
    why = `this system's ${name} is older than ${needed}: run ${distros} or newer, or build from source (apt-get install gcc make liburing-dev)`;
  } else {
    why = `${dlerror.replace(/^Failed to open library "[^"]*": /, "")} (liburing.so.2 missing? apt-get install liburing2)`;
  }
  return new RingsideError("load", `cannot load ${what}: ${why}`);
}

/** A prebuilt library this system could not load: built from source instead
 * when make and cc are here, else the load error as it is. */
export function buildInstead(failed: RingsideError): Found {
  if (!canBuild()) throw failed;
  if (isCurrent()) return { path: BUILT, source: "built" };
  try {
    return { path: build(), source: "built" };
  } catch (e) {
    const why = e instanceof RingsideError ? e.message : String(e);
    throw new RingsideError("load", `${failed.message}; ${why}`);
  }
}
