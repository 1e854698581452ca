// The README is the front door: its flag table and commands must stay true.
import { expect, test } from "bun:test";
import { README, withTable } from "../scripts/readme-flags.ts";

test("README's flag table is the one generated from src/options.ts", async () => {
  const readme = await Bun.file(README).text();
  // If this fails: bun scripts/readme-flags.ts --write
  expect(readme).toBe(withTable(readme));
  expect(readme).toContain("<!-- flags:start -->\n| flag |");
});

test("README names the two commands and the prerequisites CI installs", async () => {
  const readme = await Bun.file(README).text();
  const install = await Bun.file(`${import.meta.dir}/../scripts/install-prerequisites.sh`).text();
  expect(readme).toContain("    bun run serve\n    bun test\n");
  for (const pkg of ["SERVE", "TEST", "CONTAINER"].flatMap((v) => new RegExp(`${v}="([^"]+)"`).exec(install)![1]!.split(" "))) {
    if (pkg !== "util-linux") expect(readme).toContain(pkg);
  }
});
