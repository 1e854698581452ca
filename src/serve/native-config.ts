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
import { buildResponses, buildTails, statusesTable } from "./responses.ts";

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

const lengths = (parts: Record<string, Uint8Array>): Record<string, number> => Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v.length]));
const none = { list: [], pad: 0 };

/** A response as RS_OUTCOME_FIELDS takes it: prebuilt variants for its own
 * status and body, and its parts for replies put together when sent. */
function outcomeFields(response: ResponseSpec): NativeFields {
  const variants = buildResponses(response);
  const tails = buildTails(response);
  return {
    status: response.status,
    response_ptr: variants,
    response_len: lengths(variants),
    tail_ptr: tails,
    tail_len: lengths(tails),
    body_ptr: response.body,
    body_len: response.body.length,
    body_reason: 0,
    size_min: 0,
    size_max: 0,
    status_codes: none,
    status_ppm: none,
    delays_ms: none,
    delays_ppm: none,
    fault_ppm: { reset: 0, close: 0, hang: 0 },
  };
}

function routeFields(route: Route): NativeFields {
  const path = new TextEncoder().encode(route.path);
  return { path_ptr: path, path_len: path.length, prefix: route.prefix ? 1 : 0, delay_ms: route.delayMs, ...outcomeFields(route.response) };
}

/** A seed for the rings' generators: never 0. */
const randomSeed = (): number => 1 + Math.floor(Math.random() * (2 ** 52));

export function nativeFields(cfg: Config): NativeFields {
  const out: Record<string, NativeValue> = { mode: cfg.layout.mode, rings: cfg.layout.rings };
  for (const o of OPTIONS) if (o.native) out[o.native] = optionField(o, cfg.values[o.flag]);
  out.routes = cfg.routes.length;
  out.routes_ptr = cfg.routes.length ? { struct: "route", items: cfg.routes.map(routeFields) } : 0;
  const statuses = statusesTable();
  return { ...out, seed: randomSeed(), control: "off", max_delay_ms: 3_600_000, max_size: 1 << 20, statuses_ptr: statuses, statuses_len: statuses.length, ...outcomeFields(cfg.response) };
}
