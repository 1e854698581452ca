// CPU a server uses when nothing is asked of it: every thread of its processes,
// sampled each second from schedstat (ns resolution), over a window after load.
import { runSeconds, tasks } from "../../test/lib/proc.ts";

export interface IdleCpu {
  windowS: number;
  /** CPU the whole process used during the window, in % of one core. */
  percentOfCore: number;
  /** The same, by thread name (ringside-ring, iou-sqp-N, bun, nginx ...). */
  byThread: Record<string, number>;
  /** Per second of the window, % of one core. */
  series: number[];
  /** The window without its first `skipS` seconds (the SQPOLL thread's --sq-idle spin), % of one core. */
  steadyPercentOfCore: number;
  skipS: number;
}

/** CPU of every task of the given processes over a window, sampled each second (schedstat, ns resolution). */
export async function idleCpu(pids: readonly number[], windowS: number, skipS: number): Promise<IdleCpu> {
  const sample = (): Map<string, { name: string; s: number }> => {
    const m = new Map<string, { name: string; s: number }>();
    for (const pid of pids) for (const t of tasks(pid)) m.set(`${pid}/${t.tid}`, { name: t.comm.replace(/^iou-sqp-\d+$/, "iou-sqp"), s: runSeconds(pid, t.tid) });
    return m;
  };
  const diff = (a: Map<string, { name: string; s: number }>, b: Map<string, { name: string; s: number }>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [k, v] of b) out[v.name] = (out[v.name] ?? 0) + (v.s - (a.get(k)?.s ?? 0));
    return out;
  };
  const total = (r: Record<string, number>): number => Object.values(r).reduce((x, y) => x + y, 0);
  const start = sample();
  const t0 = performance.now();
  const series: number[] = [];
  let prev = start;
  let prevT = t0;
  while (performance.now() - t0 < windowS * 1000 - 1) {
    const left = windowS * 1000 - (performance.now() - t0);
    await Bun.sleep(Math.min(1000, left));
    const now = sample();
    const nowT = performance.now();
    series.push((total(diff(prev, now)) / ((nowT - prevT) / 1000)) * 100);
    prev = now;
    prevT = nowT;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const byThread = Object.fromEntries(Object.entries(diff(start, prev)).map(([k, v]) => [k, (v / elapsed) * 100]));
  const rest = series.slice(Math.ceil(skipS));
  const steadyPercentOfCore = rest.length ? rest.reduce((a, x) => a + x, 0) / rest.length : Number.NaN;
  return { windowS: elapsed, percentOfCore: (total(diff(start, prev)) / elapsed) * 100, byThread, series, steadyPercentOfCore, skipS };
}
