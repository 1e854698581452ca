// Durations as users write them: "250ms", "5s", "1m", "1h", or a bare
// number in the unit the option gives. Shared by the flags (values.ts) and
// the weighted delay lists (outcomes.ts).

/** Milliseconds, or NaN when the text is none of these. */
export function durationMs(text: string, unit: "ms" | "s"): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m?.[2] ?? unit) as "ms" | "s" | "m" | "h"];
  return m ? Math.round(Number(m[1]) * scale) : NaN;
}
