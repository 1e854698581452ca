// The Dockerfile says what the sidecar image must be: two stages, a runtime
// stage that adds only the library, non-root, a HEALTHCHECK without curl.
import { describe, expect, test } from "bun:test";
import { readRepo } from "./helpers.ts";

describe("Dockerfile", () => {
  const text = readRepo("Dockerfile").replace(/\\\n/g, " ");
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const froms = lines.filter((l) => l.startsWith("FROM "));
  const runtime = lines.slice(lines.lastIndexOf(froms.at(-1)!));
  const build = lines.slice(lines.indexOf(froms[0]!), lines.lastIndexOf(froms.at(-1)!));
  const instr = (name: string): string[] => runtime.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());

  test("multi-stage, both bases overridable by ARG", () => {
    expect(froms).toHaveLength(2);
    const preamble = lines.slice(0, lines.indexOf(froms[0]!));
    expect(preamble.some((l) => /^ARG BASE=\S*bun\S*slim/.test(l))).toBe(true);
    expect(preamble.some((l) => l.startsWith("ARG BUILD_BASE="))).toBe(true);
    expect(froms[0]).toBe("FROM ${BUILD_BASE} AS native");
    expect(froms[1]).toBe("FROM ${BASE}");
  });

  test("the build stage compiles the library with cc and liburing-dev", () => {
    const joined = build.join("\n");
    expect(joined).toMatch(/apt-get install[^\n]*\bgcc\b[^\n]*\bliburing-dev\b/);
    expect(joined).toMatch(/make -s lib/);
  });

  test("the runtime stage adds only the library and liburing's runtime library", () => {
    expect(runtime.some((l) => l.startsWith("RUN "))).toBe(false);
    expect(instr("COPY")).toContain("--from=native /out/ /app/lib/");
    expect(build.join("\n")).toMatch(/liburing\.so\.2/);
  });

  test("non-root, port 8000 exposed, SIGTERM, HEALTHCHECK without curl, entry file run directly", () => {
    const user = instr("USER")[0]!;
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(instr("EXPOSE")).toEqual(["8000"]);
    expect(instr("ENV").join(" ")).toMatch(/\bPORT=8000\b/);
    expect(instr("STOPSIGNAL")).toEqual(["SIGTERM"]);
    const hc = instr("HEALTHCHECK")[0]!;
    expect(hc).toMatch(/CMD \["bun", "\/app\/src\/cli\.ts", "--check", "\/"\]$/);
    expect(hc).not.toMatch(/curl|wget/);
    // Exec form, no `bun run`: needs no /bin/sh, and Bun itself is PID 1.
    expect(JSON.parse(instr("ENTRYPOINT")[0]!)).toEqual(["bun", "/app/src/cli.ts"]);
  });

  test(".dockerignore keeps build output and node_modules out", () => {
    const ignore = readRepo(".dockerignore").split("\n").map((l) => l.trim());
    expect(ignore).toContain("*");
    expect(ignore).toContain("native/build/");
    expect(ignore).not.toContain("!node_modules/");
  });
});
