// native/ one way: no C unit calls into a unit that calls into it, however
// far round. The graph is the real one: each .c compiled on its own, an edge
// from a unit to the unit that defines each symbol it leaves undefined (nm).
// And every such edge is one of the unit's #include lines, so that the
// includes read as the architecture (docs/architecture.md).
import { expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runToEnd } from "../lib/proc.ts";
import { ROOT } from "../lib/helpers.ts";

const NATIVE = join(ROOT, "native");
const units = readdirSync(NATIVE).filter((f) => f.endsWith(".c")).map((f) => f.slice(0, -2)).sort();

async function symbols(obj: string, which: "--defined-only" | "--undefined-only"): Promise<string[]> {
  const r = await runToEnd(["nm", which, "--format=just-symbols", obj], { timeoutMs: 10_000 });
  expect(r.code).toBe(0);
  return r.stdout.split("\n").filter(Boolean);
}

/** unit -> the units whose symbols it uses. */
async function callGraph(dir: string): Promise<Map<string, Set<string>>> {
  const definer = new Map<string, string>();
  const uses = new Map<string, string[]>();
  for (const u of units) {
    const obj = join(dir, `${u}.o`);
    const cc = await runToEnd(["cc", "-c", "-std=gnu11", "-O0", "-fPIC", "-o", obj, join(NATIVE, `${u}.c`)], { timeoutMs: 30_000 });
    expect({ unit: u, code: cc.code, stderr: cc.stderr }).toEqual({ unit: u, code: 0, stderr: "" });
    for (const s of await symbols(obj, "--defined-only")) definer.set(s, u);
    uses.set(u, await symbols(obj, "--undefined-only"));
  }
  return new Map(units.map((u) => [u, new Set(uses.get(u)!.map((s) => definer.get(s)).filter((d): d is string => d !== undefined && d !== u))]));
}

/** One path round a cycle, or undefined. */
function cycleIn(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (u: string): string[] | undefined => {
    if (state.get(u) === "open") return [...path.slice(path.indexOf(u)), u];
    if (state.get(u) === "done") return undefined;
    state.set(u, "open");
    path.push(u);
    for (const v of graph.get(u) ?? []) {
      const found = visit(v);
      if (found) return found;
    }
    path.pop();
    state.set(u, "done");
    return undefined;
  };
  for (const u of graph.keys()) {
    const found = visit(u);
    if (found) return found;
  }
  return undefined;
}

const includes = (u: string): Set<string> =>
  new Set([...readFileSync(join(NATIVE, `${u}.c`), "utf8").matchAll(/^#include "([a-z_]+)\.h"/gm)].map((m) => m[1]!));

test("native/: no C unit calls a unit that calls it, and each unit includes the header of every unit it calls", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ringside-layering-"));
  try {
    const graph = await callGraph(dir);
    expect(units.length).toBeGreaterThan(10);
    expect(cycleIn(graph)).toBeUndefined();
    // The pure units are leaves: they call no server unit.
    for (const pure of ["http", "policy", "conn"]) expect({ pure, calls: [...graph.get(pure)!].filter((u) => !["http", "policy", "conn"].includes(u)) }).toEqual({ pure, calls: [] });
    const pure = new Set(["http", "policy", "conn"]); // reached through server.h, which includes their headers
    const unincluded = [...graph].flatMap(([u, calls]) => [...calls].filter((v) => !pure.has(v) && !includes(u).has(v)).map((v) => `${u}.c calls ${v}.c`));
    expect(unincluded).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test("the cycle check finds a cycle", () => {
  expect(cycleIn(new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])]]))).toEqual(["a", "b", "c", "a"]);
  expect(cycleIn(new Map([["a", new Set(["b"])], ["b", new Set()]]))).toBeUndefined();
});
