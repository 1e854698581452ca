// The ABI is described by the library itself (rs_describe) and src/ encodes
// the config by field name against that description: a field left unset, or
// set but unknown to the library, stops the start with a clear error.
import { expect, test } from "bun:test";
import { parseConfig } from "../../src/config/config.ts";
import { RingsideError } from "../../src/lib/errors.ts";
import { abiDescription, encodeConfig, enumNames, type NativeFields, type NativeStructs } from "../../src/serve/native.ts";
import { OPTIONS, spec } from "../../src/config/flags.ts";
import { nativeFields } from "../../src/serve/native-config.ts";
import { FAULTS, MAX_DELAY_MS, MAX_SIZE, MAX_WEIGHTS, PPM } from "../../src/config/outcomes.ts";
import { RESPONSE_KINDS, STATUS_CODES } from "../../src/serve/responses.ts";

const d = abiDescription();
const base: NativeFields = nativeFields(await parseConfig([], {}));
const native = async (argv: string[]): Promise<NativeFields> => nativeFields(await parseConfig(argv, {}));
const defaults = (): NativeFields => ({ ...base });

function abiError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RingsideError);
    expect((e as RingsideError).code).toBe("abi");
    return (e as RingsideError).message;
  }
  throw new Error("expected an ABI error");
}

test("every config field the library describes is set by src/, and nothing else", () => {
  expect(Object.keys(defaults()).sort()).toEqual(d.config.fields.map((f) => f.name).sort());
  expect(encodeConfig(defaults()).length).toBe(d.config.size);
});

test("a field left unset is caught before the start, naming the field and the fix", () => {
  const { max_requests: _dropped, ...rest } = defaults();
  expect(abiError(() => encodeConfig(rest))).toMatch(/config field\(s\) max_requests .* not set by src\/.*src\/config\/flags\.ts/);
});

test("a field the library does not describe is caught", () => {
  expect(abiError(() => encodeConfig({ ...defaults(), turbo: 1 }))).toMatch(/sets config field\(s\) turbo that the library does not describe/);
});

test("an enum value the library does not know is caught", () => {
  expect(abiError(() => encodeConfig({ ...defaults(), mode: "warp" }))).toMatch(/'warp' is not a value of enum mode/);
});

test("values land at the offsets the library gives, enums and constants by name", async () => {
  const cfg = await parseConfig(["--port", "4321", "--mode", "batch", "--keep-alive"], {});
  const bytes = encodeConfig(nativeFields(cfg));
  const view = new DataView(bytes.buffer);
  const at = (name: string): number => d.config.fields.find((f) => f.name === name)!.offset;
  expect(view.getUint32(at("port"), true)).toBe(4321);
  expect(view.getUint32(at("mode"), true)).toBe(d.enums.mode!.batch!);
  expect(view.getUint32(at("keep_alive"), true)).toBe(1);
  expect(view.getUint32(at("rings"), true)).toBe(cfg.layout.rings);
  expect(view.getInt32(at("ring_cpus"), true)).toBe(d.constants.RS_NO_CPU!);
  const pinned = new DataView(encodeConfig(await native(["--mode", "spin", "--rings", "2", "--cpu", "1,0"])).buffer);
  expect([0, 1, 2].map((k) => pinned.getInt32(at("ring_cpus") + 4 * k, true))).toEqual([1, 0, d.constants.RS_NO_CPU!]);
  const forever = encodeConfig(await native(["--mode", "spin", "--spin-budget", "forever"]));
  expect(new DataView(forever.buffer).getUint32(at("spin_budget_ms"), true)).toBe(d.constants.RS_SPIN_FOREVER!);
});

test("the names src/ uses are the library's: modes, response kinds, constants", () => {
  expect(OPTIONS.find((o) => o.flag === "mode")!.choices).toEqual(["auto", ...enumNames(d, "mode")]);
  expect(enumNames(d, "response_kind")).toEqual([...RESPONSE_KINDS]);
  for (const o of OPTIONS) {
    for (const constant of [o.nativeUnset, o.forever?.constant]) if (constant) expect(d.constants[constant]).toBeDefined();
  }
  for (const state of ["starting", "running", "draining", "stopped"]) expect(enumNames(d, "state")).toContain(state);
});

test("every counter has a kind and a help text for /metrics", () => {
  for (const c of d.counters.fields) {
    expect(["counter", "gauge"]).toContain(c.kind);
    expect(c.help.length).toBeGreaterThan(5);
  }
  expect(d.counters.size).toBe(d.counters.fields.length * 8);
});

test("routes are encoded by name as an array of struct rs_route; a route field left unset is caught", async () => {
  const fields = await native(["--route", "/a=201 delay=7ms", "--route", "/b/*=404"]);
  expect(fields.routes).toBe(2);
  const keep: Uint8Array[] = [];
  encodeConfig(fields, d, keep);
  const routes = keep.find((b) => b.length === 2 * d.route.size)!;
  const view = new DataView(routes.buffer);
  const at = (name: string): number => d.route.fields.find((f) => f.name === name)!.offset;
  expect([view.getUint32(at("path_len"), true), view.getUint32(at("prefix"), true), view.getUint32(at("delay_ms"), true)]).toEqual([2, 0, 7]);
  expect([view.getUint32(d.route.size + at("path_len"), true), view.getUint32(d.route.size + at("prefix"), true)]).toEqual([3, 1]);
  const halfRoute = { ...defaults(), routes: 1, routes_ptr: { struct: "route" as const, items: [{ path_ptr: new Uint8Array([47]), path_len: 1 }] } };
  expect(abiError(() => encodeConfig(halfRoute))).toMatch(/route field\(s\) prefix, delay_ms, status, response_ptr, response_len, tail_ptr, .* not set by src\//);
});

test("the limits src/ checks are the library's", () => {
  expect(spec("route").max).toBe(d.constants.RS_MAX_ROUTES!);
  expect(MAX_DELAY_MS).toBe(d.constants.RS_MAX_DELAY_MS!);
  expect(spec("max-delay").max).toBe(d.constants.RS_MAX_DELAY_MS!);
  expect([PPM, MAX_WEIGHTS, MAX_SIZE]).toEqual([d.constants.RS_PPM!, d.constants.RS_MAX_WEIGHTS!, d.constants.RS_MAX_SIZE!]);
  expect(spec("max-size").max).toBe(d.constants.RS_MAX_SIZE!);
  expect(enumNames(d, "fault")).toEqual([...FAULTS]);
  expect(spec("control").choices).toEqual(enumNames(d, "control"));
  expect(STATUS_CODES.length).toBeLessThanOrEqual(d.constants.RS_MAX_STATUSES!);
});

test("a response's weights are encoded as parts per million, its size and body_reason by name", async () => {
  const fields = await native(["--status", "200,503@10%,429@0.5%", "--delay", "5ms,1s@1%", "--fault", "reset@1%,hang@0.0001%", "--seed", "77",
    "--route", "/a=201 size=10-20 fault=close@50%", "--route", "/b body=x status=202,500@1%"]);
  const view = new DataView(encodeConfig(fields).buffer);
  const at = (name: string): number => d.config.fields.find((f) => f.name === name)!.offset;
  const u32s = (name: string, n: number): number[] => Array.from({ length: n }, (_, i) => view.getUint32(at(name) + 4 * i, true));
  expect(u32s("status_codes", 3)).toEqual([503, 429, 0]);
  expect(u32s("status_ppm", 3)).toEqual([100_000, 5_000, 0]);
  expect([view.getUint32(at("delay_ms"), true), ...u32s("delays_ms", 2), ...u32s("delays_ppm", 2)]).toEqual([5, 1000, 0, 10_000, 0]);
  expect(u32s("fault_ppm", 3)).toEqual([10_000, 0, 1]);
  expect(view.getBigUint64(at("seed"), true)).toBe(77n);
  expect(view.getUint32(at("body_reason"), true)).toBe(0);
  const routes = (fields.routes_ptr as NativeStructs).items;
  expect(routes.map((r) => [r.status, r.size_min, r.size_max, r.body_reason, r.delay_ms, r.fault_ppm])).toEqual([
    [201, 10, 20, 1, 5, { reset: 0, close: 500_000, hang: 0 }],
    [202, 0, 0, 0, 5, { reset: 0, close: 0, hang: 0 }],
  ]);
  expect(routes[1]!.status_ppm).toEqual({ list: [10_000], pad: 0 });
});
