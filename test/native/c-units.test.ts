// The C side on its own: the pure units (framer, response policy, connection
// state machine) under ASan/UBSan, and a bounded libFuzzer run over all three
// from the committed seed corpus.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "../lib/helpers.ts";

const NATIVE = join(ROOT, "native");
const FUZZ_SECONDS = Number(process.env.RINGSIDE_FUZZ_SECONDS ?? 20);

async function make(args: string[]): Promise<{ code: number; out: string }> {
  await using proc = Bun.spawn(["make", "-s", "-C", NATIVE, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out: out + err };
}

test("framer, response policy and connection state machine unit tests pass under ASan and UBSan", async () => {
  const r = await make(["test"]);
  const summary = /^(\d+) passed, (\d+) failed$/m.exec(r.out);
  console.log(summary?.[0] ?? r.out);
  expect(r.code).toBe(0);
  expect(Number(summary?.[1])).toBeGreaterThan(100);
  expect(Number(summary?.[2])).toBe(0);
}, 120_000);

test(`framer, policy and state machine survive ${FUZZ_SECONDS} s of libFuzzer`, async () => {
  const r = await make(["fuzz", `FUZZ_SECONDS=${FUZZ_SECONDS}`]);
  const execs = /stat::number_of_executed_units:\s*(\d+)/.exec(r.out)?.[1];
  console.log(`fuzz: ${execs} inputs in ${FUZZ_SECONDS} s, ${/cov: \d+ ft: \d+/.exec(r.out.split("\n").reverse().join("\n"))?.[0] ?? ""}`);
  expect(r.out).not.toMatch(/ERROR: (AddressSanitizer|libFuzzer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer/);
  expect(r.code).toBe(0);
  expect(Number(execs)).toBeGreaterThan(1000);
}, (FUZZ_SECONDS + 120) * 1000);
