// The import graph of src/, test/ and bench/: no file imports a file that
// imports it (scripts/import-cycles.ts, which is itself checked on a cycle it
// must find), and the light commands stay light: what --help, --version and
// --check load never reaches the serving path or bun:ffi.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { importCycles, importsOf } from "../../scripts/import-cycles.ts";
import { ROOT, runCli } from "../lib/helpers.ts";

const SCRIPT = join(ROOT, "scripts", "import-cycles.ts");

test("no import cycle in src/, test/ or bench/", () => {
  expect(importCycles(["src", "test", "bench"].map((d) => join(ROOT, d)))).toEqual([]);
});

// As a command, the way CI or a person runs it; a fresh Bun loads the TypeScript parser.
test("the checker finds a cycle of any length, through type-only and dynamic imports too", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ringside-cycles-"));
  try {
    writeFileSync(join(dir, "a.ts"), 'import { b } from "./b.ts";\nexport const a = () => b;\n');
    writeFileSync(join(dir, "b.ts"), 'import type { C } from "./c.ts";\n// import { a } from "./a.ts" (a comment is no import)\nexport const b = (c?: C) => c;\n');
    writeFileSync(join(dir, "c.ts"), 'export type C = number;\nexport const load = () => import("./a.ts");\n');
    writeFileSync(join(dir, "d.ts"), 'export * from "./a.ts";\n');
    const r = await runCli([SCRIPT, dir], {}, ["bun"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: "" });
    const shown = (f: string) => relative(process.cwd(), join(dir, f));
    expect(r.stdout).toBe(`import cycle: ${["a.ts", "b.ts", "c.ts", "a.ts"].map(shown).join(" -> ")}\n4 files under ${dir}: 1 import cycle\n`);
  } finally {
    rmSync(dir, { recursive: true });
  }
}, 30_000);

/** The files a file loads when it starts, and the modules it names: its
 * static imports, transitively (type-only imports are erased, dynamic ones
 * wait for the branch that needs them). */
function loadedAtStart(entry: string): { files: Set<string>; modules: Set<string> } {
  const files = new Set<string>();
  const modules = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const e of importsOf(file)) {
      if (e.kind !== "static") continue;
      if (e.file) visit(e.file);
      else modules.add(e.specifier);
    }
  };
  visit(join(ROOT, "src", entry));
  return { files, modules };
}

test("the entry (entry.ts) loads nothing but its freshness check before the CLI", () => {
  const { files, modules } = loadedAtStart("entry.ts");
  expect([...files].map((f) => relative(join(ROOT, "src"), f)).sort()).toEqual(["entry.ts", "lib/mtime.ts"]);
  expect([...modules]).toEqual([]);
});

test.each([
  ["--help and --version (cli.ts itself)", "cli.ts"],
  ["--help's text", "commands/help.ts"],
  ["--check", "commands/check.ts"],
])("%s: no serving code, no bun:ffi", (_name, entry) => {
  const { files, modules } = loadedAtStart(entry);
  const loaded = [...files].map((f) => relative(join(ROOT, "src"), f));
  expect(loaded.filter((f) => f.startsWith("serve/"))).toEqual([]);
  expect([...modules].filter((m) => m === "bun:ffi")).toEqual([]);
  expect(loaded).not.toContain("config/config.ts");
});
