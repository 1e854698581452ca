// The response-size sweep (issue 19): what a body costs each server. Keep-alive,
// every server held to half a CPU of cgroup quota on CPU 1 with wrk on CPU 0 (as
// in the quota phase), answering bodies of 17 B to 1 MiB: ringside batch (1 ring,
// --body-file), nginx serving the same bytes as a static file (sendfile on), and
// Bun.serve from a static route. Per size: req/s, same-round ratios to each peer,
// and server CPU per request and per body byte.
import { BATCH_1 } from "../lib/config.ts";
import { QUOTA_CPUS, QUOTA_PLACE } from "../lib/quota.ts";
import { has, ratio } from "../lib/rows.ts";
import { bodyFile } from "../lib/servers.ts";
import { fmtSpread } from "../lib/stats.ts";
import { sweepInQuota, sweepPlan, type Row, type RowRun, type SweepPlan, type SweepResult } from "../lib/sweep.ts";
import { table, targetLines } from "../report/md.ts";
import { cell, clientBound, otherWork, serverCores, sizesLine, usPerReq } from "../report/rows.ts";
import type { Done, Phase, Target } from "./phase.ts";

export interface SizesPlan extends SweepPlan {
  /** Body sizes, in bytes. */
  bytes: readonly number[];
}

type SizesRecord = Done<SizesPlan, SweepResult>;

const FULL_BYTES = [17, 1024, 16 * 1024, 256 * 1024, 1024 * 1024];
/** One small pair: the canned size and one that a static file server is made for. */
const QUICK_BYTES = [17, 16 * 1024];

const SERVERS = [
  { name: "ringside", label: "ringside batch", kind: "ringside", flags: BATCH_1 },
  { name: "nginx", label: "nginx, 1 worker (static file, sendfile)", kind: "nginx" },
  { name: "bun", label: "Bun.serve (static route)", kind: "bun" },
] as const;
type Server = (typeof SERVERS)[number]["name"];

const key = (server: Server, bytes: number): string => `${server}/${bytes}`;

/** 17 B, 1 KiB, 256 KiB, 1 MiB. */
export function sizeText(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** Every server at every size, the servers of one size next to each other, all answering the same file. */
function rows(dir: string, plan: SizesPlan): Row[] {
  return plan.bytes.flatMap((bytes) => {
    const body = bodyFile(dir, bytes);
    return SERVERS.map((s) => ({ key: key(s.name, bytes), label: `${s.label}, ${sizeText(bytes)}`, kind: s.kind, ...("flags" in s ? { flags: s.flags } : {}), body, ...QUOTA_PLACE }));
  });
}

// ---------------------------------------------------------------- targets

/** ringside against a peer at every size measured: at least as many requests a second with the same half CPU. */
export function sizesTarget({ plan, result: p }: SizesRecord, peer: "nginx" | "bun"): Target {
  const at = plan.bytes.filter((b) => has(p, key("ringside", b)) && has(p, key(peer, b)));
  const ratios = at.map((b) => ({ b, r: ratio(p, key("ringside", b), key(peer, b), "keep-alive") }));
  return {
    name: `sizes, keep-alive: ringside batch vs ${peer === "nginx" ? "nginx (static file, sendfile)" : "Bun.serve (static route)"}, req/s with half a CPU each, at every body size`,
    want: ">= 1.0x at every size",
    got: ratios.length ? ratios.map(({ b, r }) => `${sizeText(b)} ${fmtSpread(r, "x")}`).join("; ") : "n/a",
    met: ratios.length ? ratios.every(({ r }) => r.median >= 1) : null,
  };
}

const targets = (done: SizesRecord): Target[] => (done.result.skipped ? [] : [sizesTarget(done, "bun"), sizesTarget(done, "nginx")]);

// ---------------------------------------------------------------- report

function sizeRow(p: SweepResult, bytes: number, server: Server): string[] {
  const k = key(server, bytes);
  const f = (g: (r: RowRun) => number, unit = ""): string => cell(p, k, "keep-alive", g, unit);
  const vs = (peer: Server): string => (peer === server ? "1" : fmtSpread(ratio(p, k, key(peer, bytes), "keep-alive"), "x"));
  const nsPerByte = (r: RowRun): number => (r.serverCpuS / (r.requests * bytes)) * 1e9;
  const bodyMBps = (r: RowRun): number => (r.rps * bytes) / 1e6;
  return [sizeText(bytes), SERVERS.find((s) => s.name === server)!.label, f((r) => r.rps), vs("nginx"), vs("bun"), f(bodyMBps), f(serverCores), f(usPerReq, " µs"), f(nsPerByte, " ns"), f((r) => r.clientCores), otherWork(p, k, "keep-alive")];
}

/** The command of each server at the first size (the other sizes differ only in the file). */
function commands(p: SweepResult, plan: SizesPlan): string[] {
  const first = plan.bytes[0];
  if (first === undefined) return [];
  return p.rows.filter((r) => SERVERS.some((s) => r.key === key(s.name, first))).map((r) => `- **${r.label}**: \`${r.command}\`; ${r.placement}.`);
}

function section(done: SizesRecord): string[] {
  const { plan, result: p } = done;
  const title = "## Sizes: req/s and server CPU by response size (issue 19)";
  if (p.skipped) return [title, "", `Skipped: ${p.skipped}.`, ""];
  const head = ["body", "server", "req/s", "x nginx", "x Bun.serve", "body MB/s", "server cores", "server CPU per request", "server CPU per body byte", "wrk cores", "other work cores"];
  const measured = plan.bytes.filter((b) => SERVERS.some((s) => has(p, key(s.name, b))));
  return [
    title,
    "",
    `Keep-alive, every server in a cgroup of its own with a ${QUOTA_CPUS}-CPU quota on CPU 1 and wrk on CPU 0, answering bodies of ${plan.bytes.map(sizeText).join(", ")}: ` +
      `ringside batch (1 ring) with \`--body-file\` of that size, nginx serving the same file as a static file (sendfile on, keep-alive unlimited), Bun.serve from a static route (\`routes: { "/": new Response(bytes) }\`). ` +
      `${sizesLine(plan)} Ratios are same-round. Server CPU per body byte: the server's CPU over the run over the body bytes it answered (headers not counted), so at small sizes it is mostly the cost per request.`,
    "",
    ...commands(p, plan),
    `- The other sizes: the same commands with their file (\`body-N\`, the canned body repeated to N bytes).`,
    "",
    table(head, measured.flatMap((b) => SERVERS.map((s) => s.name).filter((s) => has(p, key(s, b))).map((s) => sizeRow(p, b, s)))),
    "",
    ...targetLines(targets(done)),
    "",
    ...clientBound(p),
  ];
}

export const sizes: Phase<SizesPlan, SweepResult> = {
  name: "sizes",
  plan: (quick) => ({ ...sweepPlan(quick, ["keep-alive"]), bytes: quick ? QUICK_BYTES : FULL_BYTES }),
  run: (ctx, plan) => sweepInQuota(ctx, "sizes", () => rows(ctx.tmp, plan), plan),
  targets,
  section,
};
