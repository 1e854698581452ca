// The machine a run was made on: what a reader needs to compare two reports.
import { cpus, hostname, release, totalmem } from "node:os";
import { readText } from "../../test/lib/proc.ts";
import { inOwnNetns, netnsBlocker } from "./netns.ts";
import { run } from "./proc.ts";
import { NGINX, ROOT } from "./servers.ts";

export interface Machine {
  host: string;
  date: string;
  cores: number;
  cpuModel: string;
  kernel: string;
  memGiB: number;
  virtualization: string;
  loadavgAtStart: string;
  versions: Record<string, string>;
  git: string;
  sysctl: Record<string, string>;
  /** Where the servers and clients talked (bench/netns.ts); absent in older results. */
  network?: string;
}

async function firstLine(cmd: string[], re?: RegExp): Promise<string> {
  try {
    const r = await run(cmd, 10_000);
    const text = `${r.stdout}\n${r.stderr}`;
    if (re) return re.exec(text)?.[1] ?? "unknown";
    return text.split("\n").find((l) => l.trim())?.trim() ?? "unknown";
  } catch {
    return "missing";
  }
}

function readTrim(path: string): string {
  return readText(path)?.trim() ?? "unknown";
}

export async function machine(): Promise<Machine> {
  const cpuinfo = readTrim("/proc/cpuinfo");
  const hyper = /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo);
  const [nginx, wrk, hyperfine, ab, strace, perf, git, dirty, lscpu] = await Promise.all([
    firstLine([NGINX, "-v"], /nginx version: nginx\/(\S+)/),
    firstLine(["wrk", "-v"], /^(wrk \S+)/m),
    firstLine(["hyperfine", "--version"]),
    firstLine(["ab", "-V"], /Version ([\d.]+)/),
    firstLine(["strace", "-V"], /version (\S+)/),
    firstLine(["perf", "--version"]),
    firstLine(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
    run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "native"], 10_000).then((r) => (r.stdout.trim() ? " (src/ or native/ modified)" : "")).catch(() => ""),
    firstLine(["lscpu"], /Hypervisor vendor:\s*(\S+)/),
  ]);
  return {
    host: hostname(),
    date: new Date().toISOString(),
    cores: cpus().length,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? "unknown",
    kernel: release(),
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    virtualization: hyper ? `guest (${lscpu})` : "bare metal",
    loadavgAtStart: readTrim("/proc/loadavg").split(" ").slice(0, 3).join(" "),
    versions: { bun: Bun.version, nginx, wrk, hyperfine, ab, strace, perf },
    git: `${git}${dirty}`,
    network: inOwnNetns()
      ? "loopback in a network namespace of the run's own (no firewall rules, no connection tracking)"
      : `loopback in the host's network namespace (${netnsBlocker() ?? "asked for"}): connection tracking may apply`,
    sysctl: {
      "net.ipv4.tcp_tw_reuse": readTrim("/proc/sys/net/ipv4/tcp_tw_reuse"),
      "net.core.somaxconn": readTrim("/proc/sys/net/core/somaxconn"),
      "net.ipv4.ip_local_port_range": readTrim("/proc/sys/net/ipv4/ip_local_port_range").replace(/\s+/, "-"),
      "kernel.io_uring_disabled": readTrim("/proc/sys/kernel/io_uring_disabled"),
      // Close-mode runs open tens of thousands of connections a second; a full table drops new ones.
      "net.netfilter.nf_conntrack_max": readTrim("/proc/sys/net/netfilter/nf_conntrack_max"),
      "net.netfilter.nf_conntrack_tcp_timeout_time_wait": readTrim("/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_time_wait"),
    },
  };
}
