// Every option's value, parsed once: its flag, else its env var, else the
// preset's default (--preset), else the table's. What comes out is typed
// (FlagValues) and range-checked; nothing after this reads argv or env.
// Light on purpose: --check reads its flags here and loads nothing heavier.
import type { Argv } from "./argv.ts";
import { OPTIONS, spec, type FlagName, type FlagSpec, type FlagValues, type ListItem, type OptionSpec } from "./flags.ts";
import { PRESETS } from "./presets.ts";
import { parseValue } from "./values.ts";

export type Env = Readonly<Record<string, string | undefined>>;

export interface Flags {
  readonly values: FlagValues;
  /** The options given by flag or env var (not defaulted). */
  readonly given: ReadonlySet<FlagName>;
}

type Value = FlagValues[FlagName];

/** A repeatable option's lines, each with its source: "--route", or
 * "RINGSIDE_ROUTES line 2" (blank lines are skipped but counted). */
function listOf(o: OptionSpec, lines: readonly string[], fromEnv: boolean): ListItem[] {
  return lines.flatMap((text, i) => {
    if (!fromEnv) return [{ text, source: `--${o.flag}` }];
    return text.trim() ? [{ text, source: `${o.env} line ${i + 1}` }] : [];
  });
}

function readOne(o: FlagSpec, argv: Argv, env: Env, presetDefault: string | undefined): { value: Value; given: boolean } {
  const arg = argv[o.flag];
  if (arg !== undefined) {
    if (Array.isArray(arg)) return { value: listOf(o, arg, false), given: true };
    return { value: arg === true ? true : parseValue(o, arg, `--${o.flag}`), given: true };
  }
  const text = o.env === undefined ? undefined : env[o.env];
  if (text !== undefined && text !== "") {
    if (o.kind === "list") return { value: listOf(o, text.split("\n"), true), given: true };
    return { value: parseValue(o, text, `${o.env} (--${o.flag})`), given: true };
  }
  if (o.kind === "list") return { value: [], given: false };
  if (o.kind === "bool") return { value: false, given: false };
  const def = presetDefault ?? o.def;
  return { value: def === undefined ? undefined : parseValue(o, def, `--${o.flag}`), given: false };
}

/** argv (as readArgv gave it) and env, every option parsed. */
export function readFlags(argv: Argv, env: Env): Flags {
  const values: Partial<Record<FlagName, Value>> = {};
  const given = new Set<FlagName>();
  const read = (o: FlagSpec, presetDefault?: string): void => {
    const r = readOne(o, argv, env, presetDefault);
    values[o.flag] = r.value;
    if (r.given) given.add(o.flag);
  };
  // The preset first: its defaults are the other options'.
  const preset = spec("preset");
  read(preset);
  const defaults = PRESETS[values.preset as FlagValues["preset"]].defaults;
  for (const o of OPTIONS) if (o !== preset) read(o, defaults[o.flag]);
  // Each value has the type its option's kind parses into (parseValue, listOf).
  return { values: values as FlagValues, given };
}
