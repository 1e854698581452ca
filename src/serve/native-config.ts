// A Config as struct rs_config by field name, for native.ts to encode: every
// option with a `native` column (its parsed value, or the library constant
// it stands for), the layout, the seed, the routes as struct rs_route, and
// each response's prebuilt variants, parts and weights (in parts per million).
import type { Config } from "../config/config.ts";
import { OPTIONS, type FlagName, type FlagValues, type OptionSpec } from "../config/flags.ts";
import type { Outcome, Weighted } from "../config/outcomes.ts";
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

/** Weights as the library's lists take them: values and parts per million, the rest 0 (unused). */
const weights = (list: readonly Weighted[]): { values: NativeList; ppm: NativeList } => ({
  values: { list: list.map((w) => w.value), pad: 0 },
  ppm: { list: list.map((w) => w.ppm), pad: 0 },
});

/** A response as RS_OUTCOME_FIELDS takes it: prebuilt variants for its own
 * status and body, its parts for replies put together when sent, and what is
 * drawn for it per request. */
function outcomeFields(response: ResponseSpec, outcome: Outcome): NativeFields {
  const variants = buildResponses(response);
  const tails = buildTails(response);
  const statuses = weights(outcome.statuses);
  const delays = weights(outcome.delays);
  return {
    status: response.status,
    delay_ms: outcome.delayMs,
    response_ptr: variants,
    response_len: lengths(variants),
    tail_ptr: tails,
    tail_len: lengths(tails),
    body_ptr: response.body,
    body_len: response.body.length,
    body_reason: outcome.bodyReason ? 1 : 0,
    size_min: outcome.size?.min ?? 0,
    size_max: outcome.size?.max ?? 0,
    status_codes: statuses.values,
    status_ppm: statuses.ppm,
    delays_ms: delays.values,
    delays_ppm: delays.ppm,
    fault_ppm: { ...outcome.faults },
  };
}

function routeFields(route: Route): NativeFields {
  const path = new TextEncoder().encode(route.path);
  return { path_ptr: path, path_len: path.length, prefix: route.prefix ? 1 : 0, ...outcomeFields(route.response, route.outcome) };
}

export function nativeFields(cfg: Config): NativeFields {
  const out: Record<string, NativeValue> = { mode: cfg.layout.mode, rings: cfg.layout.rings };
  for (const o of OPTIONS) if (o.native) out[o.native] = optionField(o, cfg.values[o.flag]);
  out.routes = cfg.routes.length;
  out.routes_ptr = cfg.routes.length ? { struct: "route", items: cfg.routes.map(routeFields) } : 0;
  const statuses = statusesTable();
  return { ...out, seed: cfg.seed, statuses_ptr: statuses, statuses_len: statuses.length, ...outcomeFields(cfg.response, cfg.outcome) };
}
