// A Config as struct rs_config by field name, for native.ts to encode: every
// option with a `native` column (its parsed value, or the library constant
// it stands for), the layout, the routes as struct rs_route, and each
// response's prebuilt variants.
import type { Config } from "../config/config.ts";
import { OPTIONS, type FlagName, type FlagValues, type OptionSpec } from "../config/flags.ts";
import type { ResponseSpec } from "../config/response.ts";
import type { Route } from "../config/routes.ts";
import { usageError } from "../lib/errors.ts";
import type { NativeFields, NativeList, NativeScalar, NativeValue } from "./native.ts";
import { buildResponses } from "./responses.ts";

const isNumbers = (v: unknown): v is readonly number[] => Array.isArray(v) && v.every((x) => typeof x === "number");

/** One option's parsed value as its rs_config field takes it. */
function optionField(o: OptionSpec, value: FlagValues[FlagName]): NativeScalar | NativeList {
  const unset = o.nativeUnset === undefined ? undefined : { constant: o.nativeUnset };
  if (typeof value === "boolean") return value ? 1 : 0;
  if (o.kind === "cpus" && unset) return { list: isNumbers(value) ? value : [], pad: unset };
  if (value === undefined) {
    if (!unset) throw usageError(`--${o.flag} has no value and no default`);
    return unset;
  }
  if (o.forever && value === o.forever.word) return { constant: o.forever.constant };
  if (typeof value === "number" || typeof value === "string") return value;
  throw usageError(`--${o.flag} has no rs_config value`);
}

/** A response's prebuilt variants, as response_ptr and response_len take them. */
function variantFields(response: ResponseSpec): { response_ptr: NativeValue; response_len: NativeValue } {
  const variants = buildResponses(response);
  return { response_ptr: variants, response_len: Object.fromEntries(Object.entries(variants).map(([k, v]) => [k, v.length])) };
}

function routeFields(route: Route): NativeFields {
  const path = new TextEncoder().encode(route.path);
  return { path_ptr: path, path_len: path.length, prefix: route.prefix ? 1 : 0, delay_ms: route.delayMs, ...variantFields(route.response) };
}

export function nativeFields(cfg: Config): NativeFields {
  const out: Record<string, NativeValue> = { mode: cfg.layout.mode, rings: cfg.layout.rings };
  for (const o of OPTIONS) if (o.native) out[o.native] = optionField(o, cfg.values[o.flag]);
  out.routes = cfg.routes.length;
  out.routes_ptr = cfg.routes.length ? { struct: "route", items: cfg.routes.map(routeFields) } : 0;
  return { ...out, ...variantFields(cfg.response) };
}
