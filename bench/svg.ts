// A grouped bar chart of requests/s, written by hand: one panel per connection
// mode, one group per connection count, one bar per server (median), with a
// min–max whisker. No dependencies; plain SVG 1.1 that GitHub renders.
import type { Spread } from "./stats.ts";
import { fmt } from "./stats.ts";

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

export function renderChart(c: Chart): string {
  const W = 960;
  const panelH = 300;
  const top = 92;
  const left = 72;
  const right = 16;
  const gapY = 56;
  const H = top + c.panels.length * (panelH + gapY) + 8;
  const plotW = W - left - right;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" font-size="17" font-weight="bold" fill="#111">${esc(c.title)}</text>`);
  out.push(`<text x="${left}" y="44" fill="#555">${esc(c.subtitle)}</text>`);
  // Legend
  let lx = left;
  for (const s of c.series) {
    out.push(`<rect x="${lx}" y="58" width="12" height="12" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 16}" y="69" fill="#222">${esc(s.label)}</text>`);
    lx += 24 + s.label.length * 7;
  }
  c.panels.forEach((panel, pi) => {
    const y0 = top + pi * (panelH + gapY) + 20; // plot top
    const plotH = panelH - 40;
    const all = panel.values.flat().filter((v): v is Spread => v !== undefined && Number.isFinite(v.max));
    const max = Math.max(1, ...all.map((v) => v.max));
    const step = niceStep(max);
    const yMax = Math.ceil(max / step) * step;
    const y = (v: number): number => y0 + plotH - (v / yMax) * plotH;
    out.push(`<text x="${left}" y="${y0 - 8}" font-size="14" font-weight="bold" fill="#111">${esc(panel.title)}</text>`);
    for (let t = 0; t <= yMax + step / 2; t += step) {
      out.push(`<line x1="${left}" x2="${W - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(t)}</text>`);
    }
    out.push(`<text transform="translate(16 ${y0 + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#555">requests/s</text>`);
    const groupW = plotW / panel.groups.length;
    const barW = Math.min(34, (groupW * 0.8) / c.series.length);
    panel.groups.forEach((g, gi) => {
      const gx = left + gi * groupW + (groupW - barW * c.series.length) / 2;
      c.series.forEach((s, si) => {
        const v = panel.values[gi]?.[si];
        if (!v || !Number.isFinite(v.median)) return;
        const x = gx + si * barW;
        const h = y0 + plotH - y(v.median);
        out.push(`<rect x="${(x + 1).toFixed(1)}" y="${y(v.median).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${esc(`${s.label}, ${g}: ${fmt(v.median)} req/s (min ${fmt(v.min)}, max ${fmt(v.max)}, n=${v.n})`)}</title></rect>`);
        if (v.max > v.min) {
          const cx = (x + barW / 2).toFixed(1);
          out.push(`<path d="M${cx} ${y(v.min).toFixed(1)}V${y(v.max).toFixed(1)}M${(x + barW / 2 - 4).toFixed(1)} ${y(v.max).toFixed(1)}h8M${(x + barW / 2 - 4).toFixed(1)} ${y(v.min).toFixed(1)}h8" stroke="#333" stroke-width="1" fill="none"/>`);
        }
        out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y(v.max) - 4).toFixed(1)}" text-anchor="middle" font-size="10" fill="#333">${fmt(v.median)}</text>`);
      });
      out.push(`<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${y0 + plotH + 18}" text-anchor="middle" fill="#222">${esc(g)}</text>`);
    });
    out.push(`<line x1="${left}" x2="${W - right}" y1="${y0 + plotH}" y2="${y0 + plotH}" stroke="#888"/>`);
  });
  if (c.note) out.push(`<text x="${left}" y="${H - 14}" font-size="11" fill="#555">${esc(c.note)}</text>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}
