/** Hand-made SVG charts (no dependencies): grouped bars and lines, one or more panels. */

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" axis maximum and step for values up to `max`. */
function niceAxis(max: number, ticks = 5): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return { top: Math.ceil(max / step) * step, step };
}

const tickLabel = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(0) : Number(v.toFixed(2)).toString());

export interface BarPanel {
  readonly title: string;
  readonly yLabel: string;
  readonly groups: readonly string[];
  /** One series per bar within a group; values[i] belongs to groups[i]. */
  readonly series: readonly { readonly name: string; readonly values: readonly number[] }[];
}

export function barChart(title: string, panels: readonly BarPanel[], note = ''): string {
  const panelW = 980;
  const panelH = 300;
  const top = 50;
  const left = 70;
  const gap = 110;
  const height = top + panels.length * (panelH + gap) + 10;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${left + panelW + 30}" height="${height}" viewBox="0 0 ${left + panelW + 30} ${height}" ${FONT} font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="600">${esc(title)}</text>`);
  if (note) out.push(`<text x="${left}" y="42" fill="#555">${esc(note)}</text>`);
  panels.forEach((panel, p) => {
    const y0 = top + p * (panelH + gap) + 20;
    const max = Math.max(...panel.series.flatMap((s) => s.values.filter(Number.isFinite)));
    const { top: yTop, step } = niceAxis(max);
    const y = (v: number) => y0 + panelH - (v / yTop) * panelH;
    out.push(`<text x="${left}" y="${y0 - 8}" font-size="13" font-weight="600">${esc(panel.title)}</text>`);
    for (let v = 0; v <= yTop + 1e-9; v += step) {
      out.push(`<line x1="${left}" x2="${left + panelW}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#444">${tickLabel(v)}</text>`);
    }
    out.push(`<text transform="translate(${left - 48},${y0 + panelH / 2}) rotate(-90)" text-anchor="middle" fill="#444">${esc(panel.yLabel)}</text>`);
    const groupW = panelW / panel.groups.length;
    const barW = Math.min(22, (groupW * 0.8) / panel.series.length);
    panel.groups.forEach((group, g) => {
      const gx = left + g * groupW + (groupW - barW * panel.series.length) / 2;
      panel.series.forEach((s, i) => {
        const v = s.values[g];
        if (v === undefined || !Number.isFinite(v)) return;
        out.push(`<rect x="${gx + i * barW}" y="${y(v)}" width="${barW - 2}" height="${y0 + panelH - y(v)}" fill="${COLORS[i % COLORS.length]}"><title>${esc(`${group} ${s.name}: ${v.toFixed(2)}`)}</title></rect>`);
      });
      const lines = group.split('\n');
      lines.forEach((line, k) => {
        out.push(`<text x="${left + g * groupW + groupW / 2}" y="${y0 + panelH + 16 + k * 14}" text-anchor="middle" fill="#333">${esc(line)}</text>`);
      });
    });
    out.push(`<line x1="${left}" x2="${left + panelW}" y1="${y0 + panelH}" y2="${y0 + panelH}" stroke="#888"/>`);
    panel.series.forEach((s, i) => {
      const lx = left + panelW - panel.series.length * 70 + i * 70;
      out.push(`<rect x="${lx}" y="${y0 - 20}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`);
      out.push(`<text x="${lx + 14}" y="${y0 - 11}">${esc(s.name)}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export interface LinePanel {
  readonly title: string;
  readonly yLabel: string;
  readonly x: readonly number[];
  readonly xLabel: string;
  readonly series: readonly { readonly name: string; readonly values: readonly number[] }[];
  /** A target marker: a dashed line at `y` across the panel, labelled. */
  readonly target?: { readonly y: number; readonly label: string };
}

/** Lines against categorical x positions (equally spaced: batch sizes 1, 10, 100 on a log scale). */
export function lineChart(title: string, panels: readonly LinePanel[], note = ''): string {
  const panelW = 440;
  const panelH = 300;
  const left = 70;
  const gapX = 110;
  const top = 80;
  const width = left + panels.length * (panelW + gapX);
  const height = top + panelH + 70;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="600">${esc(title)}</text>`);
  if (note) out.push(`<text x="${left}" y="42" fill="#555">${esc(note)}</text>`);
  panels.forEach((panel, p) => {
    const x0 = left + p * (panelW + gapX);
    const y0 = top;
    const max = Math.max(...panel.series.flatMap((s) => s.values.filter(Number.isFinite)), panel.target?.y ?? 0);
    const { top: yTop, step } = niceAxis(max);
    const y = (v: number) => y0 + panelH - (v / yTop) * panelH;
    const x = (i: number) => x0 + 30 + (i * (panelW - 60)) / Math.max(1, panel.x.length - 1);
    out.push(`<text x="${x0}" y="${y0 - 13}" font-size="13" font-weight="600">${esc(panel.title)}</text>`);
    for (let v = 0; v <= yTop + 1e-9; v += step) {
      out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${x0 - 6}" y="${y(v) + 4}" text-anchor="end" fill="#444">${tickLabel(v)}</text>`);
    }
    out.push(`<text transform="translate(${x0 - 48},${y0 + panelH / 2}) rotate(-90)" text-anchor="middle" fill="#444">${esc(panel.yLabel)}</text>`);
    panel.x.forEach((xv, i) => out.push(`<text x="${x(i)}" y="${y0 + panelH + 18}" text-anchor="middle" fill="#333">${xv}</text>`));
    out.push(`<text x="${x0 + panelW / 2}" y="${y0 + panelH + 38}" text-anchor="middle" fill="#444">${esc(panel.xLabel)}</text>`);
    out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${y0 + panelH}" y2="${y0 + panelH}" stroke="#888"/>`);
    if (panel.target) {
      out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${y(panel.target.y)}" y2="${y(panel.target.y)}" stroke="#d62728" stroke-dasharray="6 4"/>`);
      out.push(`<text x="${x0 + panelW - 4}" y="${y(panel.target.y) - 5}" text-anchor="end" fill="#d62728">${esc(panel.target.label)}</text>`);
    }
    panel.series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      const pts = s.values.map((v, k) => `${x(k)},${y(v)}`).join(' ');
      out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>`);
      s.values.forEach((v, k) => {
        out.push(`<circle cx="${x(k)}" cy="${y(v)}" r="3.5" fill="${color}"><title>${esc(`${s.name}, batch ${panel.x[k]}: ${v.toFixed(3)}`)}</title></circle>`);
        out.push(`<text x="${x(k) + 6}" y="${y(v) - 6}" fill="${color}" font-size="10">${v.toFixed(2)}</text>`);
      });
      const lx = x0 + panelW - panel.series.length * 70 + i * 70;
      out.push(`<rect x="${lx}" y="${y0 - 22}" width="10" height="10" fill="${color}"/>`);
      out.push(`<text x="${lx + 14}" y="${y0 - 13}">${esc(s.name)}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
