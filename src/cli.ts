#!/usr/bin/env bun
// `bun run serve`: flags and env in, exit code out. 0 ok, 1 runtime failure,
// 2 bad usage; every failure a user can cause is one line, never a stack.
import pkg from "../package.json" with { type: "json" };
import { parseConfig } from "./config.ts";
import { Log } from "./log.ts";
import { RingsideError } from "./native.ts";
import { usage } from "./options.ts";
import { serve } from "./server.ts";
import { check } from "./check.ts";
import { doctor } from "./doctor.ts";

async function main(argv: string[]): Promise<number> {
  let log = new Log(argv.includes("json") ? "json" : "text", false);
  try {
    const cfg = parseConfig(argv, process.env);
    if (cfg.help) {
      process.stdout.write(usage(pkg.version) + "\n");
      return 0;
    }
    if (cfg.version) {
      process.stdout.write(`ringside ${pkg.version}\n`);
      return 0;
    }
    log = new Log(cfg.logFormat, cfg.quiet);
    if (cfg.check !== undefined) return await check(cfg.check, cfg, log);
    if (cfg.doctor) return doctor(cfg);
    return await serve(cfg, log);
  } catch (e) {
    if (e instanceof RingsideError) {
      log.error(e.code, e.message, e.errno ? { errno: e.errno } : {});
      return e.code === "usage" ? 2 : 1;
    }
    throw e;
  }
}

process.exit(await main(process.argv.slice(2)));
