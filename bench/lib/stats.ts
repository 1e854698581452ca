// Every figure in the report is a Spread over rounds: min, median, max and n.

export interface Spread {
  min: number;
  median: number;
  max: number;
  n: number;
}

export function spread(values: readonly number[]): Spread {
  const xs = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN, n: 0 };
  const mid = Math.floor(xs.length / 2);
  const median = xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  return { min: xs[0]!, median, max: xs[xs.length - 1]!, n: xs.length };
}

/** Ratios of paired values (same round), as a Spread. */
export function ratioSpread(num: readonly number[], den: readonly number[]): Spread {
  const n = Math.min(num.length, den.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(num[i]! / den[i]!);
  return spread(out);
}

export function geomean(values: readonly number[]): number {
  const xs = values.filter((x) => x > 0 && Number.isFinite(x));
  if (xs.length === 0) return Number.NaN;
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

/** Human number: 123456 -> "123.5k", 0.0123 -> "0.0123". */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return "n/a";
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  if (a >= 1000) return x.toFixed(0);
  if (a === 0) return "0";
  return Number(x.toPrecision(digits)).toString();
}

export function fmtSpread(s: Spread, unit = "", digits = 3): string {
  if (s.n === 0) return "n/a";
  if (s.n === 1 || s.min === s.max) return `${fmt(s.median, digits)}${unit}`;
  return `${fmt(s.median, digits)}${unit} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}
