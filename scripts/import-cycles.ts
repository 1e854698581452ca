#!/usr/bin/env bun
// `bun scripts/import-cycles.ts DIR...`: the import cycles among the .ts files
// under the given folders, or none. An edge is a relative import or re-export
// (`import ... from "./x.ts"`, `import type`, `export ... from`, `import("./x")`,
// `import "./x"`) that resolves to a file under those folders; type-only imports
// count, since a file that names another's types still depends on it. Every
// strongly connected component of two files or more (or a file importing itself)
// is a cycle: printed with one path around it, and the exit code is 1.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const IMPORT = /(?:^|[\s;])(?:import|export)\s*(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["'](\.{1,2}\/[^"']+)["']|\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name.startsWith(".")) return [];
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

/** The file a relative specifier names: as written, with .ts added, or a folder's index.ts. */
function resolveSpecifier(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  return [base, `${base}.ts`, join(base, "index.ts")].find((p) => existsSync(p) && statSync(p).isFile());
}

/** Comments removed, so that an import in a comment is no edge (strings keep their text). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

export function importGraph(dirs: readonly string[]): Map<string, string[]> {
  const files = new Set(dirs.flatMap((d) => tsFiles(resolve(d))));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const to = new Set<string>();
    for (const m of code(readFileSync(file, "utf8")).matchAll(IMPORT)) {
      const target = resolveSpecifier(file, (m[1] ?? m[2])!);
      if (target && files.has(target)) to.add(target);
    }
    graph.set(file, [...to]);
  }
  return graph;
}

/** Tarjan's strongly connected components. */
export function components(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      scc.push(w);
      if (w === v) break;
    }
    out.push(scc);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** One way around a component: from its first file back to it, through its members only. */
function cycleThrough(graph: ReadonlyMap<string, readonly string[]>, scc: readonly string[]): string[] {
  const members = new Set(scc);
  const start = scc[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x = v; x !== start; x = previous.get(x)!) path.splice(1, 0, x);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  return components(graph)
    .filter((scc) => scc.length > 1 || (graph.get(scc[0]!) ?? []).includes(scc[0]!))
    .map((scc) => cycleThrough(graph, scc));
}

if (import.meta.main) {
  const dirs = process.argv.slice(2);
  if (!dirs.length) {
    process.stderr.write("usage: bun scripts/import-cycles.ts DIR...\n");
    process.exit(2);
  }
  const graph = importGraph(dirs);
  const found = cycles(graph);
  const edges = [...graph.values()].reduce((a, to) => a + to.length, 0);
  const name = (p: string): string => relative(process.cwd(), p);
  for (const c of found) process.stdout.write(`cycle: ${c.map(name).join(" -> ")}\n`);
  process.stdout.write(`${graph.size} files, ${edges} import edges, ${found.length} cycle(s) under ${dirs.join(", ")}\n`);
  process.exit(found.length ? 1 : 0);
}
