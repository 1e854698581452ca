// A grouped bar chart of requests/s, written by hand: one panel per connection
// mode, one group per connection count, one bar per server (median), with a
// min–max whisker. No dependencies; plain SVG 1.1 that GitHub renders.
import { fmt, type Spread } from "../lib/stats.ts";

export interface ChartSeries {
  label: string;
  color: string;
}

export interface ChartPanel {
  title: string;
  groups: string[];
  /** values[group][series] */
  values: Array<Array<Spread | undefined>>;
}

export interface Chart {
  title: string;
  subtitle: string;
  series: ChartSeries[];
  panels: ChartPanel[];
  /** A line under the panels. */
  note?: string;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** 1, 2 or 5 times a power of ten, so that about `want` ticks cover max. */
function niceStep(max: number, want = 5): number {
  const raw = max / want;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

const W = 960;
const PANEL_H = 300;
const TOP = 92;
const LEFT = 72;
const RIGHT = 16;
const GAP_Y = 56;

function legend(c: Chart): string[] {
  const out: string[] = [];
  let lx = LEFT;
  for (const s of c.series) {
    out.push(`<rect x="${lx}" y="58" width="12" height="12" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 16}" y="69" fill="#222">${esc(s.label)}</text>`);
    lx += 24 + s.label.length * 7;
  }
  return out;
}

/** One bar (median) with its min–max whisker and its label. */
function bar(s: ChartSeries, g: string, v: Spread, x: number, barW: number, y: (v: number) => number, bottom: number): string[] {
  const out: string[] = [];
  const h = bottom - y(v.median);
  out.push(`<rect x="${(x + 1).toFixed(1)}" y="${y(v.median).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${esc(`${s.label}, ${g}: ${fmt(v.median)} req/s (min ${fmt(v.min)}, max ${fmt(v.max)}, n=${v.n})`)}</title></rect>`);
  if (v.max > v.min) {
    const cx = (x + barW / 2).toFixed(1);
    out.push(`<path d="M${cx} ${y(v.min).toFixed(1)}V${y(v.max).toFixed(1)}M${(x + barW / 2 - 4).toFixed(1)} ${y(v.max).toFixed(1)}h8M${(x + barW / 2 - 4).toFixed(1)} ${y(v.min).toFixed(1)}h8" stroke="#333" stroke-width="1" fill="none"/>`);
  }
  out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y(v.max) - 4).toFixed(1)}" text-anchor="middle" font-size="10" fill="#333">${fmt(v.median)}</text>`);
  return out;
}

/** The horizontal grid and its labels, up to yMax in steps. */
function grid(yMax: number, step: number, y: (v: number) => number): string[] {
  const out: string[] = [];
  for (let t = 0; t <= yMax + step / 2; t += step) {
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${LEFT - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(t)}</text>`);
  }
  return out;
}

function panel(c: Chart, p: ChartPanel, pi: number): string[] {
  const y0 = TOP + pi * (PANEL_H + GAP_Y) + 20; // plot top
  const plotH = PANEL_H - 40;
  const plotW = W - LEFT - RIGHT;
  const all = p.values.flat().filter((v): v is Spread => v !== undefined && Number.isFinite(v.max));
  const max = Math.max(1, ...all.map((v) => v.max));
  const step = niceStep(max);
  const yMax = Math.ceil(max / step) * step;
  const y = (v: number): number => y0 + plotH - (v / yMax) * plotH;
  const out = [`<text x="${LEFT}" y="${y0 - 8}" font-size="14" font-weight="bold" fill="#111">${esc(p.title)}</text>`, ...grid(yMax, step, y)];
  out.push(`<text transform="translate(16 ${y0 + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#555">requests/s</text>`);
  const groupW = plotW / p.groups.length;
  const barW = Math.min(34, (groupW * 0.8) / c.series.length);
  p.groups.forEach((g, gi) => {
    const gx = LEFT + gi * groupW + (groupW - barW * c.series.length) / 2;
    c.series.forEach((s, si) => {
      const v = p.values[gi]?.[si];
      if (v && Number.isFinite(v.median)) out.push(...bar(s, g, v, gx + si * barW, barW, y, y0 + plotH));
    });
    out.push(`<text x="${(LEFT + gi * groupW + groupW / 2).toFixed(1)}" y="${y0 + plotH + 18}" text-anchor="middle" fill="#222">${esc(g)}</text>`);
  });
  out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y0 + plotH}" y2="${y0 + plotH}" stroke="#888"/>`);
  return out;
}

export function renderChart(c: Chart): string {
  const H = TOP + c.panels.length * (PANEL_H + GAP_Y) + 8;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${LEFT}" y="24" font-size="17" font-weight="bold" fill="#111">${esc(c.title)}</text>`);
  out.push(`<text x="${LEFT}" y="44" fill="#555">${esc(c.subtitle)}</text>`);
  out.push(...legend(c));
  c.panels.forEach((p, pi) => out.push(...panel(c, p, pi)));
  if (c.note) out.push(`<text x="${LEFT}" y="${H - 14}" font-size="11" fill="#555">${esc(c.note)}</text>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}
