#!/usr/bin/env bun
// `bun run serve`: flags and env in, exit code out. 0 ok, 1 runtime failure,
// 2 bad usage; every failure a user can cause is one line, never a stack.
// Each command loads only what it needs: --help and --version the options
// table, --check a socket, --doctor the probe; serving the library and, only
// when their flags ask, the admin listener and the fallback.
import pkg from "../package.json" with { type: "json" };
import { RingsideError } from "./errors.ts";
import { Log, out } from "./log.ts";
import { usage } from "./options.ts";
import { readArgs, type Reader } from "./reader.ts";

async function checkOnly(args: Reader, log: Log): Promise<number> {
  const { check } = await import("./check.ts");
  return check(args.str("check"), { host: args.host("host"), port: args.int("port")! }, log);
}

async function run(argv: string[]): Promise<number> {
  const args = readArgs(argv, process.env);
  if (args.bool("help")) {
    out(usage(pkg.version));
    return 0;
  }
  if (args.bool("version")) {
    out(`ringside ${pkg.version}`);
    return 0;
  }
  const log = new Log(args.choice<"text" | "json">("log-format"), args.bool("quiet"));
  if (args.has("check")) return checkOnly(args, log);
  const { parseConfig } = await import("./config.ts");
  const parsing = parseConfig(argv, process.env);
  // Awaited below; handled now, so that a usage error thrown while the server
  // code loads is not first reported as an unhandled rejection, with a stack.
  parsing.catch(() => {});
  if (args.bool("doctor")) {
    const { doctor } = await import("./doctor.ts");
    return doctor(await parsing);
  }
  // The library loads while the CPU budget is read (parseConfig waits on /proc).
  const { serve, preload } = await import("./server.ts");
  preload();
  return serve(await parsing, log);
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
