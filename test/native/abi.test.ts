// The ABI is described by the library itself (rs_describe) and src/ encodes
// the config by field name against that description: a field left unset, or
// set but unknown to the library, stops the start with a clear error.
import { expect, test } from "bun:test";
import { parseConfig } from "../../src/config/config.ts";
import { RingsideError } from "../../src/lib/errors.ts";
import { abiDescription, encodeConfig, enumNames, type NativeFields } from "../../src/serve/native.ts";
import { OPTIONS, spec } from "../../src/config/flags.ts";
import { nativeFields } from "../../src/serve/native-config.ts";
import { RESPONSE_KINDS } from "../../src/serve/responses.ts";

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
  expect(spec("delay").max).toBe(d.constants.RS_MAX_DELAY_MS!);
});
