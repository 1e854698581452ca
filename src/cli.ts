#!/usr/bin/env bun
// `bun run serve`: flags and env in, exit code out. 0 ok, 1 runtime failure,
// 2 bad usage; every failure a user can cause is one line, never a stack.
// Each command loads only what it needs: --help and --version no server
// code, --check no library.
import pkg from "../package.json" with { type: "json" };
import { parseConfig, readArgs } from "./config.ts";
import { RingsideError } from "./errors.ts";
import { Log } from "./log.ts";
import { usage } from "./options.ts";

async function run(argv: string[], log: Log): Promise<number> {
  const args = readArgs(argv, process.env);
  if (args.bool("help")) {
    process.stdout.write(usage(pkg.version) + "\n");
    return 0;
  }
  if (args.bool("version")) {
    process.stdout.write(`ringside ${pkg.version}\n`);
    return 0;
  }
  const cfg = parseConfig(argv, process.env);
  log = new Log(cfg.logFormat, cfg.quiet);
  if (args.has("check")) {
    const { check } = await import("./check.ts");
    return check(args.str("check"), cfg, log);
  }
  if (args.bool("doctor")) {
    const { doctor } = await import("./doctor.ts");
    return doctor(cfg);
  }
  const { serve } = await import("./server.ts");
  return serve(cfg, log);
}

async function main(argv: string[]): Promise<number> {
  const log = new Log(argv.includes("json") ? "json" : "text", false);
  try {
    return await run(argv, log);
  } catch (e) {
    if (e instanceof RingsideError) {
      log.error(e.code, e.message, e.errno ? { errno: e.errno } : {});
      return e.code === "usage" ? 2 : 1;
    }
    throw e;
  }
}

process.exit(await main(process.argv.slice(2)));
