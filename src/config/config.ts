// Flags to the one validated Config that serving and --doctor run on: the
// default response, the routes, the layout (--mode/--rings auto against the
// CPU budget), the admin address, and the combinations of flags that cannot
// go together. Every value was parsed once by read.ts; here they are judged
// together, and the files they name and the CPU budget are read.
import { usageError } from "../lib/errors.ts";
import { nodeOs } from "../lib/node.ts";
import { readArgv } from "./argv.ts";
import { readBodyFile } from "./body-file.ts";
import { readBudget } from "./cpu-budget.ts";
import { spec, type FlagValues } from "./flags.ts";
import { pickLayout, type Layout } from "./layout.ts";
import { PRESETS } from "./presets.ts";
import { NO_FAULTS, drawsAnything, parseStatusList, type Outcome } from "./outcomes.ts";
import { readFlags, type Env, type Flags } from "./read.ts";
import { REASONS } from "./reasons.ts";
import { bodyless, validateContentType, validateHeader, type ResponseSpec } from "./response.ts";
import { checkDistinctRoutes, parseRouteText, readRoutesFile, resolveRoute, type Route } from "./routes.ts";

export interface Config {
  /** Every option as given or defaulted, parsed (read.ts). */
  values: FlagValues;
  /** The mode and ring count in use (resolved when auto), and why. */
  layout: Layout;
  /** The default response: every path no route matches. */
  response: ResponseSpec;
  /** ... its delay and what is drawn for it per request (--delay, --status's weights, --fault, --size). */
  outcome: Outcome;
  /** Of the draws: --seed, or a random one (the startup line prints it). */
  seed: number;
  /** --route, --routes and the preset's, in the order the library gets them. */
  routes: Route[];
  /** --admin-port/--admin-host: /healthz, /readyz, /metrics (serve/admin.ts); off when undefined. */
  admin?: { host: string; port: number };
}

/** --status's own code: the one without @, else the preset's or the table's
 * (--status 503@10% on the default backend: 404 the rest of the time). */
function ownStatus(v: FlagValues): number {
  const fallback = PRESETS[v.preset].defaults.status ?? spec("status").def!;
  return v.status.own ?? parseStatusList(fallback, "--status").own!;
}

async function defaultResponse({ values: v, given }: Flags): Promise<{ response: ResponseSpec; outcome: Outcome }> {
  const status = ownStatus(v);
  const reason = REASONS[status]!;
  if (given.has("body") && given.has("body-file")) throw usageError("--body and --body-file conflict: give one of them");
  const explicit = given.has("body") || given.has("body-file");
  if (v.size && explicit) throw usageError(`--size and --${given.has("body") ? "body" : "body-file"} conflict: give one of them`);
  if (v.size && bodyless(status)) throw usageError(`--status ${status} responses carry no body: drop --size`);
  const file = v["body-file"];
  const body = v.size ? new Uint8Array(0) : file === undefined ? new TextEncoder().encode(v.body) : await readBodyFile(file, "--body-file");
  if (bodyless(status) && explicit && body.length) throw usageError(`--status ${status} responses carry no body: drop --body/--body-file`);
  const contentType = validateContentType(v["content-type"]);
  const headers = v.header.map((h) => validateHeader(h.text, h.source));
  const outcome: Outcome = {
    delayMs: v.delay.own ?? 0,
    statuses: v.status.weighted,
    delays: v.delay.weighted,
    faults: v.fault ?? NO_FAULTS,
    ...(v.size ? { size: v.size } : {}),
    bodyReason: bodyless(status),
  };
  return { response: { status, reason, contentType, headers, body: bodyless(status) ? new Uint8Array(0) : body }, outcome };
}

/** The preset's routes (unless a route of the same path replaces one), the
 * --routes file's, then the --route ones, each checked. */
async function readRoutes(v: FlagValues, response: ResponseSpec): Promise<Route[]> {
  const fromText = (text: string, what: string) => ({ input: parseRouteText(text, what), what });
  const given = [
    ...(v.routes === undefined ? [] : await readRoutesFile(v.routes)),
    ...v.route.map(({ text, source }) => fromText(text, `${source} '${text}'`)),
  ];
  const shared = { headers: response.headers, delay: v.delay };
  const resolve = (list: typeof given) => Promise.all(list.map(({ input, what }) => resolveRoute(input, what, shared)));
  const routes = await resolve(given);
  const presetRoutes = await resolve(PRESETS[v.preset].routes.map((text) => fromText(text, `--preset route '${text}'`)));
  const replaced = (p: Route) => routes.some((u) => u.path === p.path && u.prefix === p.prefix);
  const all = [...presetRoutes.filter((p) => !replaced(p)), ...routes];
  const max = spec("route").max!;
  if (all.length > max) throw usageError(`${all.length} routes (--route, --routes and the preset's): ${max} at most`);
  checkDistinctRoutes(all);
  return all;
}

function adminAddress(v: FlagValues): Config["admin"] {
  const port = v["admin-port"];
  if (port === undefined) {
    if (v["admin-host"] !== undefined) throw usageError("--admin-host needs --admin-port: give the port too");
    return undefined;
  }
  if (port !== 0 && port === v.port) throw usageError(`--admin-port ${port} is the serving --port: pick another (or 0 for any free port)`);
  return { host: v["admin-host"] ?? v.host, port };
}

/** Mode and rings, with --mode/--rings auto resolved against the CPU budget;
 * --rings auto with a --cpu list is the list's length. */
async function layoutOf(v: FlagValues, env: Env): Promise<Layout> {
  const rings = v.rings === "auto" ? (v.cpu?.length ?? "auto") : v.rings;
  return v.mode === "auto" || rings === "auto" ? pickLayout(await readBudget(env), v.mode, rings) : { mode: v.mode, rings, why: "" };
}

function checkCpus(layout: Layout, v: FlagValues): void {
  for (const flag of ["sq-cpu", "cpu"] as const) {
    const list = v[flag];
    if (!list) continue;
    const cpus = nodeOs().cpus().length;
    const bad = list.find((c) => c >= cpus);
    if (bad !== undefined) throw usageError(`--${flag} ${bad}: this machine has CPUs 0-${cpus - 1}`);
    if (list.length !== layout.rings) throw usageError(`--${flag} lists ${list.length} CPU${list.length === 1 ? "" : "s"} for ${layout.rings} ring${layout.rings === 1 ? "" : "s"}: give one per ring`);
  }
}

function checkCombinations({ values: v, given }: Flags, layout: Layout): void {
  const picked = layout.why ? ` (auto: ${layout.why})` : "";
  if (layout.mode === "batch" && given.has("sq-cpu")) throw usageError(`--sq-cpu pins SQPOLL threads, which --mode batch does not have${picked}: drop --sq-cpu or give --mode spin or sqpoll`);
  if (layout.mode !== "spin" && given.has("spin-budget")) throw usageError(`--spin-budget applies to --mode spin only, not ${layout.mode}${picked}: drop one of them`);
  if (!v["keep-alive"] && given.has("max-requests")) throw usageError("--max-requests needs --keep-alive: without it every connection serves one request");
  if (v["max-connections"] < layout.rings) throw usageError(`--max-connections ${v["max-connections"]} is fewer than the ${layout.rings} rings: give at least one connection per ring`);
  for (const flag of ["max-delay", "max-size"] as const) {
    if (v.control === "off" && given.has(flag)) throw usageError(`--${flag} bounds what --control lets a request ask for, and --control is off: drop --${flag} or give --control`);
  }
}

/** A seed for the rings' generators: never 0. */
const randomSeed = (): number => 1 + Math.floor(Math.random() * 2 ** 52);

/** Whether the server draws anything per request: then the startup line names the seed. */
export const drawsPerRequest = (cfg: Config): boolean =>
  cfg.values.control !== "off" || drawsAnything(cfg.outcome) || cfg.routes.some((r) => drawsAnything(r.outcome));

/** The Config for these flags: files read, the budget read, every rule checked. */
export async function configOf(flags: Flags, env: Env): Promise<Config> {
  const layout = await layoutOf(flags.values, env);
  const { response, outcome } = await defaultResponse(flags);
  const routes = await readRoutes(flags.values, response);
  checkCombinations(flags, layout);
  checkCpus(layout, flags.values);
  const seed = flags.values.seed ?? randomSeed();
  return { values: flags.values, layout, response, outcome, seed, routes, admin: adminAddress(flags.values) };
}

/** argv and env straight to a Config (tests, bench). */
export function parseConfig(argv: readonly string[], env: Env): Promise<Config> {
  return configOf(readFlags(readArgv(argv), env), env);
}
