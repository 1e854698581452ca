// argv as the flag table describes it: --flag VALUE, --flag=VALUE, bare
// booleans, repeatable lists. Strict: an unknown flag, a missing value or a
// stray word is a one-line usage error. Values stay text here; read.ts
// parses them. (node:util's parseArgs does the same but costs ~5 MB of
// resident memory to load; this is what ringside needs.)
import { usageError } from "../lib/errors.ts";
import { OPTIONS, type FlagName, type FlagSpec } from "./flags.ts";

/** What argv gave a flag: its text, true for a boolean, every value of a list. */
type ArgValue = string | true | string[];
export type Argv = Partial<Record<FlagName, ArgValue>>;

function take(name: string): FlagSpec {
  const o = OPTIONS.find((x) => x.flag === name);
  if (!o) throw usageError(`Unknown option '--${name}'; see --help`);
  return o;
}

function store(values: Argv, o: FlagSpec, v: string | true): void {
  const before = values[o.flag];
  if (o.kind === "list") values[o.flag] = [...(Array.isArray(before) ? before : []), String(v)];
  else values[o.flag] = v;
}

/** The flags given in argv, by flag name. */
export function readArgv(argv: readonly string[]): Argv {
  const values: Argv = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--") || arg === "--") {
      const word = arg === "--" ? argv[i + 1] : arg;
      if (word === undefined) continue;
      throw usageError(arg.startsWith("-") && arg !== "--" ? `Unknown option '${arg}'; see --help` : `Unexpected argument '${word}'; see --help`);
    }
    const eq = arg.indexOf("=");
    const o = take(eq < 0 ? arg.slice(2) : arg.slice(2, eq));
    if (o.kind === "bool") {
      if (eq >= 0) throw usageError(`--${o.flag} takes no value; see --help`);
      store(values, o, true);
      continue;
    }
    if (eq >= 0) {
      store(values, o, arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined) throw usageError(`--${o.flag} needs a value; see --help`);
    if (next.startsWith("-")) throw usageError(`--${o.flag} value starts with '-': write --${o.flag}=VALUE`);
    store(values, o, next);
    i++;
  }
  return values;
}
