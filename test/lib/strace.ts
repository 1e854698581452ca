// `strace -c` output, for the syscall test and the benchmark's cost phase.

export interface StraceTable {
  /** Calls in all (0 for an empty table: strace saw none). */
  total: number;
  /** Calls by system call name, most first. */
  byName: Array<{ name: string; calls: number; errors: number }>;
}

/** Parses the table `strace -c -o FILE` writes. */
export function parseStrace(text: string): StraceTable {
  const byName: StraceTable["byName"] = [];
  let total = 0;
  for (const line of text.split("\n")) {
    const t = line.trim().split(/\s+/);
    if (t.length < 5 || !/^[\d.]+$/.test(t[0]!)) continue;
    const name = t[t.length - 1]!;
    const calls = Number(t[3]);
    const errors = t.length >= 6 ? Number(t[4]) : 0;
    if (name === "total") total = calls;
    else byName.push({ name, calls, errors });
  }
  byName.sort((a, b) => b.calls - a.calls);
  return { total, byName };
}
