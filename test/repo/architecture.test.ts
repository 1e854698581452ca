// docs/architecture.md draws the tree as it is: every file of src/, native/
// and bench/ on disk is named on it. The name is all this checks (the page
// draws each part in its own way); what a file is for is the page's to say.
import { expect, test } from "bun:test";
import { basename, join } from "node:path";
import { readRepo, ROOT } from "../lib/helpers.ts";

/** Not code: build output, prebuilt libraries, committed benchmark results, the fuzzer's seed corpus. */
const NOT_DRAWN = [/^native\/build\//, /^native\/prebuilt\//, /^bench\/results\//, /^native\/test\/corpus\//];

function filesOnDisk(folder: string): string[] {
  return [...new Bun.Glob("**/*").scanSync({ cwd: join(ROOT, folder) })].map((f) => `${folder}/${f}`).filter((f) => !NOT_DRAWN.some((re) => re.test(f))).sort();
}

const escaped = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

test("docs/architecture.md names every file of src/, native/ and bench/", () => {
  const doc = readRepo("docs/architecture.md");
  const files = ["src", "native", "bench"].flatMap(filesOnDisk);
  expect(files.length).toBeGreaterThan(50);
  // A name on its own: in a box line, a table cell, backticks or a path.
  const named = (file: string): boolean => new RegExp(`(^|[\\s\`/(|│])${escaped(basename(file))}(?=$|[\\s\`)|│:,;])`, "m").test(doc);
  expect(files.filter((f) => !named(f))).toEqual([]);
});
