// The Dockerfile says what the sidecar image must be: the library built in
// one stage, a root filesystem of only what runs put together in another,
// an empty runtime image that copies it in; non-root, a HEALTHCHECK without
// curl.
import { describe, expect, test } from "bun:test";
import { readRepo } from "../lib/helpers.ts";

describe("Dockerfile", () => {
  const text = readRepo("Dockerfile").replace(/\\\n/g, " ");
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const froms = lines.filter((l) => l.startsWith("FROM "));
  const runtime = lines.slice(lines.lastIndexOf(froms.at(-1)!));
  const build = lines.slice(lines.indexOf(froms[0]!), lines.lastIndexOf(froms.at(-1)!));
  const instr = (name: string): string[] => runtime.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());

  test("multi-stage, both bases overridable by ARG, an empty runtime image", () => {
    expect(froms).toHaveLength(3);
    const preamble = lines.slice(0, lines.indexOf(froms[0]!));
    expect(preamble.some((l) => /^ARG BASE=\S*bun\S*slim/.test(l))).toBe(true);
    expect(preamble.some((l) => l.startsWith("ARG BUILD_BASE="))).toBe(true);
    expect(froms).toEqual(["FROM ${BUILD_BASE} AS native", "FROM ${BASE} AS rootfs", "FROM scratch"]);
  });

  test("the build stage compiles the library with cc and liburing-dev", () => {
    const joined = build.join("\n");
    expect(joined).toMatch(/apt-get install[^\n]*\bgcc\b[^\n]*\bliburing-dev\b/);
    expect(joined).toMatch(/make -s lib/);
  });

  test("the runtime holds only what runs: Bun with its shared objects, the library and liburing, the bundled app", () => {
    expect(runtime.some((l) => l.startsWith("RUN "))).toBe(false);
    expect(instr("COPY")).toEqual(["--from=rootfs /rootfs/ /"]);
    const joined = build.join("\n");
    expect(joined).toMatch(/liburing\.so\.2/);
    expect(joined).toContain("COPY --from=native /out/ /rootfs/app/lib/");
    expect(joined).toMatch(/bun build src\/cli\.ts --target bun --minify --outfile \/rootfs\/app\/ringside\.js/);
    expect(joined).toMatch(/ldd \/rootfs\/usr\/local\/bin\/bun/);
  });

  test("non-root, port 8000 exposed, SIGTERM, HEALTHCHECK without curl, entry file run directly", () => {
    const user = instr("USER")[0]!;
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(instr("EXPOSE")).toEqual(["8000"]);
    expect(instr("ENV").join(" ")).toMatch(/\bPORT=8000\b/);
    expect(instr("STOPSIGNAL")).toEqual(["SIGTERM"]);
    const hc = instr("HEALTHCHECK")[0]!;
    expect(hc).toMatch(/CMD \["bun", "\/app\/ringside\.js", "--check", "\/"\]$/);
    expect(hc).not.toMatch(/curl|wget/);
    // Exec form, no `bun run`: needs no /bin/sh, and Bun itself is PID 1.
    expect(JSON.parse(instr("ENTRYPOINT")[0]!)).toEqual(["bun", "/app/ringside.js"]);
  });

  test(".dockerignore keeps build output and node_modules out", () => {
    const ignore = readRepo(".dockerignore").split("\n").map((l) => l.trim());
    expect(ignore).toContain("*");
    expect(ignore).toContain("native/build/");
    expect(ignore).not.toContain("!node_modules/");
  });
});
