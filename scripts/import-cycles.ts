// Import cycles between the .ts files under the folders given: an edge for
// every relative `import ... from`, `import type`, `export ... from`, bare
// `import "..."` and `import("...")` with a literal path; the strongly
// connected components of that graph (Tarjan); one cycle printed for each
// component of more than one file (or a file that imports itself).
//
//   bun scripts/import-cycles.ts src test bench    exit 0: none; exit 1: each cycle on a line
//
// Type-only imports count: a file that needs another's types depends on it
// as much as one that calls it. The TypeScript parser reads the imports, so
// that comments, strings and regular expressions cannot fake or hide one.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

export type ImportKind = "static" | "type" | "dynamic";
export interface Edge {
  /** The module specifier as written ("./flags.ts", "bun:ffi"). */
  specifier: string;
  kind: ImportKind;
  /** The .ts file it names, when it is a relative import of one. */
  file?: string;
}

/** The relative path's file: as written, or with .ts added, or its index.ts. */
function resolveTs(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, join(base, "index.ts")]) {
    if (candidate.endsWith(".ts") && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

const literal = (node: ts.Node | undefined): string | undefined => (node && ts.isStringLiteral(node) ? node.text : undefined);

/** Every import of one file. */
export function importsOf(file: string): Edge[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ESNext, false, ts.ScriptKind.TS);
  const edges: Edge[] = [];
  const add = (specifier: string | undefined, kind: ImportKind): void => {
    if (specifier !== undefined) edges.push({ specifier, kind, file: resolveTs(file, specifier) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!clause.namedBindings && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(literal(node.moduleSpecifier), typeOnly ? "type" : "static");
    } else if (ts.isExportDeclaration(node)) {
      add(literal(node.moduleSpecifier), node.isTypeOnly ? "type" : "static");
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(literal(node.arguments[0]), "dynamic");
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(literal(node.argument.literal), "type");
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** The .ts files under these folders (hidden ones and node_modules left out). */
export function tsFiles(folders: readonly string[]): string[] {
  return folders.flatMap((folder) => [...new Bun.Glob("**/*.ts").scanSync({ cwd: folder, absolute: true })].filter((f) => !f.includes("/node_modules/"))).sort();
}

/** file -> the files of the set it imports (any kind). */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const inSet = new Set(files);
  return new Map(files.map((f) => [f, [...new Set(importsOf(f).flatMap((e) => (e.file && inSet.has(e.file) ? [e.file] : [])))]]));
}

/** Tarjan's strongly connected components, each as a list of files. */
export function components(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    out.push(component);
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return out;
}

/** One cycle through a component's first file: the shortest way back to it. */
function cycleIn(graph: ReadonlyMap<string, readonly string[]>, component: readonly string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  const from = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(from.get(path[0]!)!);
        return [...path, start];
      }
      if (!from.has(w)) {
        from.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Every import cycle between the .ts files under these folders, each as
 * files from one back to itself ([a, b, a]). */
export function importCycles(folders: readonly string[]): string[][] {
  const graph = importGraph(tsFiles(folders));
  return components(graph)
    .filter((c) => c.length > 1 || (graph.get(c[0]!) ?? []).includes(c[0]!))
    .map((c) => cycleIn(graph, c));
}

if (import.meta.main) {
  const folders = process.argv.slice(2);
  if (!folders.length) {
    console.error("usage: bun scripts/import-cycles.ts FOLDER...");
    process.exit(2);
  }
  const cwd = process.cwd();
  const files = tsFiles(folders);
  const cycles = importCycles(folders);
  for (const c of cycles) console.log(`import cycle: ${c.map((f) => relative(cwd, f)).join(" -> ")}`);
  console.log(`${files.length} files under ${folders.join(", ")}: ${cycles.length ? `${cycles.length} import cycle${cycles.length === 1 ? "" : "s"}` : "no import cycle"}`);
  process.exit(cycles.length ? 1 : 0);
}
