// argv + env -> a validated Config for serving (and --doctor): the response,
// the layout (--mode/--rings auto against the CPU budget), the combinations
// of flags that cannot go together. The native half (struct rs_config, by
// field name) comes straight from the options table's `native` column.
import { cpus } from "node:os";
import { pickLayout, readBudget, type ModeName } from "./budget.ts";
import { usageError } from "./errors.ts";
import type { NativeFields, NativeValue } from "./native.ts";
import { OPTIONS } from "./options.ts";
import { PRESETS, type Preset } from "./presets.ts";
import { readArgs, spec, type Reader } from "./reader.ts";
import { REASONS } from "./reasons.ts";
import { bodyless, buildResponses, DEFAULT_BODY, validateContentType, validateHeader, type ResponseSpec } from "./response.ts";
import { checkDistinctRoutes, parseRouteText, readRoutesFile, resolveRoute, type Route } from "./routes.ts";

export type { ModeName };

export interface Config {
  /** struct rs_config by field name, for src/native.ts to encode. */
  native: NativeFields;
  host: string;
  port: number;
  /** The mode and ring count in use (resolved when auto), and why. */
  mode: ModeName;
  rings: number;
  layoutWhy: string;
  keepAlive: boolean;
  maxBodyBytes: number;
  idleTimeoutMs: number;
  /** --sq-cpu / --cpu lists, undefined when not pinned. */
  sqCpus?: number[];
  ringCpus?: number[];
  /** The default response: every path no route matches. */
  response: ResponseSpec;
  /** --delay: the default response's, and every route's without its own. */
  delayMs: number;
  /** --route, --routes and the preset's, in the order the library gets them. */
  routes: Route[];
  drainTimeoutMs: number;
  statsIntervalMs: number;
  logFormat: "text" | "json";
  quiet: boolean;
  /** --fallback: Bun.serve stands in when io_uring is blocked (src/fallback.ts). */
  fallback: boolean;
  /** --admin-port/--admin-host: /healthz, /readyz, /metrics (src/admin.ts); off when undefined. */
  admin?: { host: string; port: number };
}

async function readBody(r: Reader, fallback: string): Promise<{ body: Uint8Array; explicit: boolean }> {
  if (r.has("body") && r.has("body-file")) throw usageError("--body and --body-file conflict: give one of them");
  if (r.has("body-file")) {
    const path = r.str("body-file");
    try {
      return { body: await Bun.file(path).bytes(), explicit: true };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
      throw usageError(`--body-file '${path}' cannot be read (${code}): give a readable file`);
    }
  }
  return { body: new TextEncoder().encode(r.has("body") ? r.str("body") : fallback), explicit: r.has("body") };
}

async function responseSpec(r: Reader, preset: Preset): Promise<ResponseSpec> {
  const status = r.int("status")!;
  const reason = REASONS[status];
  if (!reason) throw usageError(`--status ${status} has no standard reason phrase: use a registered code from 200 to 599`);
  const { body, explicit } = await readBody(r, preset.body ?? DEFAULT_BODY);
  if (bodyless(status) && explicit && body.length) throw usageError(`--status ${status} responses carry no body: drop --body/--body-file`);
  const contentType = validateContentType(r.str("content-type"));
  const headers = r.list("header").map((h) => validateHeader(h));
  return { status, reason, contentType, headers, body: bodyless(status) ? new Uint8Array(0) : body };
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

/** Every option with a `native` field, the layout, and the prebuilt response variants. */
function nativeFields(r: Reader, layout: { mode: ModeName; rings: number }, response: ResponseSpec, routes: Route[]): NativeFields {
  const out: Record<string, NativeValue> = { mode: layout.mode, rings: layout.rings };
  for (const o of OPTIONS) if (o.native) out[o.native] = r.native(o);
  out.routes = routes.length;
  out.routes_ptr = routes.length ? { struct: "route", items: routes.map(routeFields) } : 0;
  return { ...out, ...variantFields(response) };
}

/** The preset's routes (unless a route of the same path replaces one), the
 * --routes file's, then the --route ones, each checked. */
async function readRoutes(r: Reader, preset: Preset, response: ResponseSpec, delayMs: number): Promise<Route[]> {
  const given = [
    ...(r.has("routes") ? await readRoutesFile(r.str("routes")) : []),
    ...r.list("route").map((text) => ({ input: parseRouteText(text, `--route '${text}'`), what: `--route '${text}'` })),
  ];
  const shared = { headers: response.headers, delayMs, maxDelayMs: spec("delay").max! };
  const routes = await Promise.all(given.map(({ input, what }) => resolveRoute(input, what, shared)));
  const presetRoutes = await Promise.all(preset.routes.map((text) => resolveRoute(parseRouteText(text, `--preset route '${text}'`), `--preset route '${text}'`, shared)));
  const replaced = (p: Route) => routes.some((u) => u.path === p.path && u.prefix === p.prefix);
  const all = [...presetRoutes.filter((p) => !replaced(p)), ...routes];
  const max = spec("route").max!;
  if (all.length > max) throw usageError(`${all.length} routes (--route, --routes and the preset's): ${max} at most`);
  checkDistinctRoutes(all);
  return all;
}

function adminAddress(r: Reader, host: string, port: number): Config["admin"] {
  if (!r.has("admin-port")) {
    if (r.has("admin-host")) throw usageError("--admin-host needs --admin-port: give the port too");
    return undefined;
  }
  const adminPort = r.int("admin-port")!;
  if (adminPort !== 0 && adminPort === port) throw usageError(`--admin-port ${adminPort} is the serving --port: pick another (or 0 for any free port)`);
  return { host: r.has("admin-host") ? r.host("admin-host") : host, port: adminPort };
}

/** --rings: a count, or auto (which a --cpu list turns into its length). */
function ringsWanted(r: Reader, ringCpus?: number[]): number | "auto" {
  const rings = r.countOrAuto("rings", 256);
  return rings === "auto" ? (ringCpus?.length ?? "auto") : rings;
}

/** Mode and rings, with --mode/--rings auto resolved against the CPU budget. */
async function layoutOf(r: Reader, env: Record<string, string | undefined>, ringCpus?: number[]) {
  const mode = r.choice<ModeName | "auto">("mode");
  const rings = ringsWanted(r, ringCpus);
  return mode === "auto" || rings === "auto" ? pickLayout(await readBudget(env), mode, rings) : { mode, rings, why: "" };
}

function checkCpus(layout: { rings: number }, sqCpus?: number[], ringCpus?: number[]): void {
  for (const [flag, list] of [["sq-cpu", sqCpus], ["cpu", ringCpus]] as const) {
    const bad = list?.find((c) => c >= cpus().length);
    if (bad !== undefined) throw usageError(`--${flag} ${bad}: this machine has CPUs 0-${cpus().length - 1}`);
    if (list && list.length !== layout.rings) throw usageError(`--${flag} lists ${list.length} CPU${list.length === 1 ? "" : "s"} for ${layout.rings} ring${layout.rings === 1 ? "" : "s"}: give one per ring`);
  }
}

function checkCombinations(r: Reader, layout: { mode: ModeName; rings: number; why: string }, keepAlive: boolean): void {
  const picked = layout.why ? ` (auto: ${layout.why})` : "";
  if (layout.mode === "batch" && r.has("sq-cpu")) throw usageError(`--sq-cpu pins SQPOLL threads, which --mode batch does not have${picked}: drop --sq-cpu or give --mode spin or sqpoll`);
  if (layout.mode !== "spin" && r.has("spin-budget")) throw usageError(`--spin-budget applies to --mode spin only, not ${layout.mode}${picked}: drop one of them`);
  if (!keepAlive && r.has("max-requests")) throw usageError("--max-requests needs --keep-alive: without it every connection serves one request");
  if (r.int("max-connections")! < layout.rings) throw usageError(`--max-connections ${r.int("max-connections")} is fewer than the ${layout.rings} rings: give at least one connection per ring`);
}

/** The parsed flags and env: only what `serve` (and --check, --doctor) need. */

export async function parseConfig(argv: string[], env: Record<string, string | undefined>): Promise<Config> {
  const r = readArgs(argv, env);
  const host = r.host("host");
  const port = r.int("port")!;
  const keepAlive = r.bool("keep-alive");
  const sqCpus = r.cpus("sq-cpu");
  const ringCpus = r.cpus("cpu");
  const layout = await layoutOf(r, env, ringCpus);
  const preset = PRESETS[r.choice<string>("preset")]!;
  const rp = r.withDefaults(preset.defaults);
  const response = await responseSpec(rp, preset);
  const delayMs = r.ms("delay");
  const routes = await readRoutes(rp, preset, response, delayMs);
  // Every value parses before any combination is judged.
  const native = nativeFields(rp, layout, response, routes);
  checkCombinations(r, layout, keepAlive);
  checkCpus(layout, sqCpus, ringCpus);
  return {
    native,
    host,
    port,
    mode: layout.mode,
    rings: layout.rings,
    layoutWhy: layout.why,
    keepAlive,
    maxBodyBytes: r.int("max-body-size")!,
    idleTimeoutMs: r.ms("idle-timeout"),
    sqCpus,
    ringCpus,
    response,
    delayMs,
    routes,
    drainTimeoutMs: r.ms("drain-timeout"),
    statsIntervalMs: r.ms("stats-interval"),
    logFormat: r.choice<"text" | "json">("log-format"),
    quiet: r.bool("quiet"),
    fallback: r.bool("fallback"),
    admin: adminAddress(r, host, port),
  };
}
