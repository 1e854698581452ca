#!/usr/bin/env bun
// The CLI, run as it is or bundled (src/entry.ts, which `bun run serve` runs;
// the image): flags and env in, exit code out. 0 ok, 1 runtime failure, 2 bad
// usage; every failure a user can cause is one line, never a stack.
// Each command loads only what it needs: --help the flag table, --version
// nothing more, --check a socket, --doctor the config and the probe; serving
// the config and the library and, only when their flags ask, the admin
// listener and the fallback.
import pkg from "../package.json" with { type: "json" };
import { readArgv } from "./config/argv.ts";
import { readFlags } from "./config/read.ts";
import { RingsideError } from "./lib/errors.ts";
import { Log, out } from "./lib/log.ts";

async function run(argv: string[]): Promise<number> {
  const given = readArgv(argv);
  if (given.help) {
    const { usage } = await import("./commands/help.ts");
    out(usage(pkg.version));
    return 0;
  }
  if (given.version) {
    out(`ringside ${pkg.version}`);
    return 0;
  }
  const flags = readFlags(given, process.env);
  const v = flags.values;
  const log = new Log(v["log-format"], v.quiet);
  if (v.check !== undefined) {
    const { check } = await import("./commands/check.ts");
    return check(v.check, { host: v.host, port: v.port }, log);
  }
  const { configOf } = await import("./config/config.ts");
  const configuring = configOf(flags, process.env);
  // Awaited below; handled now, so that a usage error thrown while the server
  // code loads is not first reported as an unhandled rejection, with a stack.
  configuring.catch(() => {});
  if (v.doctor) {
    const { doctor } = await import("./commands/doctor.ts");
    return doctor(await configuring);
  }
  // The library loads while the CPU budget is read (configOf waits on /proc).
  const { serve, preload } = await import("./serve/server.ts");
  preload();
  return serve(await configuring, log);
}

async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (e) {
    if (e instanceof RingsideError) {
      const log = new Log(argv.includes("json") ? "json" : "text", false);
      log.error(e.code, e.message, e.errno ? { errno: e.errno } : {});
      return e.code === "usage" ? 2 : 1;
    }
    throw e;
  }
}

process.exit(await main(process.argv.slice(2)));
