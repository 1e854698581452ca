// Other work on the machine skews every figure on a 2-core box. The monitor
// samples /proc once a second and charges CPU used by processes that are not
// the harness's descendants to "foreign", per phase, so the report can say how
// quiet the machine was.
import { readdirSync } from "node:fs";
import { procStat, readText as read } from "../../test/lib/proc.ts";

interface Sample {
  cpu: Map<number, number>;
  ppid: Map<number, number>;
  at: number;
}

export interface Foreign {
  pid: number;
  command: string;
  cpuS: number;
}

export interface PhaseNoise {
  phase: string;
  seconds: number;
  /** CPU of processes not started by the harness, in % of one core, averaged over the phase. */
  foreignPercentOfCore: number;
}

function sample(): Sample {
  const cpu = new Map<number, number>();
  const ppid = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const st = procStat(pid);
    if (!st) continue;
    ppid.set(pid, st.ppid);
    cpu.set(pid, st.cpuS);
  }
  return { cpu, ppid, at: performance.now() };
}

/** The kernel's connection-tracking table, when netfilter has one: once full, the
 * packets of new connections are dropped (SYNs retried after 1 s, then 3 s ...). */
export function conntrack(): { count: number; max: number } | undefined {
  const count = Number(read("/proc/sys/net/netfilter/nf_conntrack_count"));
  const max = Number(read("/proc/sys/net/netfilter/nf_conntrack_max"));
  return count >= 0 && max > 0 ? { count, max } : undefined;
}

/** Busy CPU of the whole machine (user+nice+system+irq+softirq) and steal, in CPU-seconds since boot. */
export function systemCpu(): { busy: number; steal: number } {
  const f = (read("/proc/stat") ?? "").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const at = (i: number): number => f[i] ?? 0;
  return { busy: (at(0) + at(1) + at(2) + at(5) + at(6)) / 100, steal: at(7) / 100 };
}

export class Monitor {
  private prev: Sample = sample();
  private readonly ours = new Set<number>([process.pid]);
  private readonly theirs = new Set<number>();
  /** `marker` is NAME=VALUE set in this process's environment: orphans (the
   * servers coldstart.sh leaves running) inherited it and still count as ours. */
  constructor(private readonly marker: string) {}
  private readonly foreign = new Map<number, Foreign>();
  private readonly phases: PhaseNoise[] = [];
  private phase = "setup";
  private phaseStart = performance.now();
  private phaseForeign = 0;
  private timer: Timer | undefined;
  waitedS = 0;
  noisyStarts = 0;
  /** CPU-seconds of processes seen living and not ours (a lower bound: short-lived ones slip between samples). */
  foreignTotal = 0;
  retries = 0;
  /** Phases in which the conntrack table was (nearly) full at a sample. */
  readonly conntrackFull = new Set<string>();

  start(): void {
    this.timer = setInterval(() => this.tick(), 1000);
  }

  private isOurs(pid: number, s: Sample): boolean {
    if (this.theirs.has(pid)) return false;
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (this.ours.has(p)) {
        this.ours.add(pid);
        return true;
      }
      p = s.ppid.get(p) ?? 0;
    }
    const env = read(`/proc/${pid}/environ`) ?? "";
    if (env.split("\0").includes(this.marker)) {
      this.ours.add(pid);
      return true;
    }
    this.theirs.add(pid);
    return false;
  }

  private tick(): void {
    const now = sample();
    let foreign = 0;
    for (const [pid, cpu] of now.cpu) {
      const d = cpu - (this.prev.cpu.get(pid) ?? cpu);
      if (d <= 0 || this.isOurs(pid, now)) continue;
      this.phaseForeign += d;
      foreign += d;
      const f = this.foreign.get(pid);
      if (f) f.cpuS += d;
      else {
        const command = (read(`/proc/${pid}/cmdline`) ?? "").replaceAll("\0", " ").trim().slice(0, 120) || (read(`/proc/${pid}/comm`) ?? "?").trim();
        this.foreign.set(pid, { pid, command, cpuS: d });
      }
    }
    this.foreignTotal += foreign;
    this.prev = now;
    const ct = conntrack();
    if (ct && ct.count >= 0.95 * ct.max) this.conntrackFull.add(this.phase);
  }

  /** CPU-seconds used so far by this process and its live descendants. */
  private oursCpu(): number {
    const s = sample();
    let sum = 0;
    for (const [pid, cpu] of s.cpu) if (this.isOurs(pid, s)) sum += cpu;
    return sum;
  }

  /** Other work's CPU over a short window, in cores: the machine's busy time minus ours. */
  async foreignRate(windowMs = 250): Promise<number> {
    const s0 = systemCpu();
    const o0 = this.oursCpu();
    const t0 = performance.now();
    await Bun.sleep(windowMs);
    const s1 = systemCpu();
    const o1 = this.oursCpu();
    return Math.max(0, s1.busy - s0.busy - (o1 - o0)) / ((performance.now() - t0) / 1000);
  }

  /** Before a measurement: wait (at most maxS) until other work uses under `limit` of a core. */
  async quiet(maxS: number, limit = 0.2): Promise<void> {
    if (this.timer === undefined) return;
    const t0 = performance.now();
    let rate = await this.foreignRate();
    while (rate >= limit && (performance.now() - t0) / 1000 < maxS) rate = await this.foreignRate(500);
    const waited = (performance.now() - t0) / 1000;
    if (waited > 0.3) this.waitedS += waited;
    if (rate >= limit) this.noisyStarts++;
  }

  /** Starts a new phase; closes the one before. */
  enter(phase: string): void {
    this.tick();
    const seconds = (performance.now() - this.phaseStart) / 1000;
    if (seconds > 0.5) this.phases.push({ phase: this.phase, seconds, foreignPercentOfCore: (this.phaseForeign / seconds) * 100 });
    this.phase = phase;
    this.phaseStart = performance.now();
    this.phaseForeign = 0;
  }

  stop(): { phases: PhaseNoise[]; processes: Foreign[]; waitedS: number; noisyStarts: number; retries: number } {
    if (this.timer !== undefined) {
      this.enter("end");
      clearInterval(this.timer);
      this.timer = undefined;
    }
    const processes = [...this.foreign.values()].filter((f) => f.cpuS >= 0.5).sort((a, b) => b.cpuS - a.cpuS);
    return { phases: this.phases, processes, waitedS: Math.round(this.waitedS * 10) / 10, noisyStarts: this.noisyStarts, retries: this.retries };
  }
}
