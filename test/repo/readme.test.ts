// The README is the front door: its flag table, commands and links must stay
// true, and docs/ must keep up with the counters the library has.
import { expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { README, withTable } from "../../scripts/readme-flags.ts";
import { abiDescription } from "../../src/serve/native.ts";

test("README's flag table is the one generated from src/config/flags.ts", async () => {
  const readme = await Bun.file(README).text();
  // If this fails: bun scripts/readme-flags.ts --write
  expect(readme).toBe(withTable(readme));
  expect(readme).toContain("<!-- flags:start -->\n| flag |");
});

test("README names the two commands and the prerequisites CI installs", async () => {
  const readme = await Bun.file(README).text();
  const install = await Bun.file(`${import.meta.dir}/../../scripts/install-prerequisites.sh`).text();
  expect(readme).toContain("    bun run serve\n    bun test\n");
  for (const pkg of ["SERVE", "TEST", "CONTAINER", "ARM64"].flatMap((v) => new RegExp(`${v}="([^"]+)"`).exec(install)![1]!.split(" "))) {
    if (pkg !== "util-linux") expect(readme).toContain(pkg);
  }
});

test("the README and docs/ link only to files that exist", async () => {
  const root = join(import.meta.dir, "..", "..");
  const pages = ["README.md", ...readdirSync(join(root, "docs")).map((f) => `docs/${f}`)];
  for (const page of pages) {
    const text = await Bun.file(join(root, page)).text();
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^https?:/.test(target!)) continue;
      expect(existsSync(join(root, dirname(page), target!)), `${page} -> ${target}`).toBe(true);
    }
  }
});

test("docs/operations.md says what every counter the library has counts", async () => {
  const ops = await Bun.file(`${import.meta.dir}/../../docs/operations.md`).text();
  for (const { name } of abiDescription().counters.fields) expect(ops).toContain(`| \`${name}\` |`);
});

test("the README stays a front door: under 150 lines, the rest in docs/", async () => {
  const lines = (await Bun.file(README).text()).trimEnd().split("\n").length;
  expect(lines).toBeLessThan(150);
});
