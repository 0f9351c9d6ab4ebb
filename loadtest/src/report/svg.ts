/** Minimal inline-SVG charts for the HTML report: no script, no external file. */
export interface Series {
  readonly name: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  readonly logX?: boolean;
  readonly formatX?: (v: number) => string;
  readonly formatY?: (v: number) => string;
  /** The top of the y axis when the data has a natural ceiling (a percentage: 100). */
  readonly yMax?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const PAD = { left: 64, right: 16, top: 28, bottom: 40 };
/** Height of one legend row, between the title and the plot. */
const LEGEND_ROW = 16;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The smallest of 1, 2, 2.5, 5 × 10^k that is at least `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= raw * (1 - 1e-9)) ?? 10 * magnitude;
  return Number(step.toPrecision(12));
}

/** Ticks from 0 on round numbers (about `count` intervals), the last at or above `max`. */
export function niceTicks(max: number, count: number): number[] {
  const step = niceStep(max / count);
  const intervals = Math.max(1, Math.ceil(max / step - 1e-9));
  return Array.from({ length: intervals + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

/** Round-number ticks inside [min, max]. */
function ticksWithin(min: number, max: number, count: number): number[] {
  if (max <= min) return [min];
  const step = niceStep((max - min) / count);
  const first = Math.ceil(min / step - 1e-9) * step;
  const result: number[] = [];
  for (let v = first; v <= max + step * 1e-9; v += step) result.push(Number(v.toPrecision(12)));
  return result;
}

/**
 * Line chart of one or more series sharing axes. It scales with its container (viewBox, width
 * 100 %); the y axis runs from 0 to a round number (or `yMax`); the legend is a row above the plot,
 * never over the lines.
 */
export function lineChart(series: readonly Series[], options: ChartOptions): string {
  const width = options.width ?? 960;
  const all = series.flatMap((s) => s.points);
  const fx = options.formatX ?? ((v: number) => v.toFixed(0));
  const fy = options.formatY ?? ((v: number) => v.toFixed(0));
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} 40" width="100%"><text x="8" y="24" font-size="13">${escapeXml(options.title)}: no data</text></svg>`;
  // The legend: swatch and name per series, wrapped into rows as wide as the chart.
  const legend: Array<{ x: number; row: number; name: string; color: string }> = [];
  let cursor = PAD.left;
  let row = 0;
  series.forEach((s, i) => {
    const itemWidth = 22 + s.name.length * 6.5 + 16;
    if (cursor + itemWidth > width - PAD.right && cursor > PAD.left) {
      row += 1;
      cursor = PAD.left;
    }
    legend.push({ x: cursor, row, name: s.name, color: COLORS[i % COLORS.length]! });
    cursor += itemWidth;
  });
  const top = PAD.top + 8 + (row + 1) * LEGEND_ROW;
  const height = (options.height ?? 300) + (row + 1) * LEGEND_ROW;
  const tx = (v: number): number => (options.logX === true ? Math.log10(Math.max(1, v)) : v);
  const xs = all.map(([x]) => tx(x));
  const ys = all.map(([, y]) => y);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs, xMin + 1e-9);
  const dataMax = Math.max(...ys, 1e-9);
  const yTicks = options.yMax !== undefined && dataMax <= options.yMax * 1.05 ? niceTicks(options.yMax, 4) : niceTicks(dataMax, 4);
  const yTop = yTicks.at(-1)!;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - top - PAD.bottom;
  const px = (x: number): number => PAD.left + ((tx(x) - xMin) / (xMax - xMin || 1)) * plotW;
  const py = (y: number): number => top + plotH - (Math.min(y, yTop) / yTop) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`);
  parts.push('<g class="legend">');
  for (const item of legend) {
    const y = PAD.top + 8 + item.row * LEGEND_ROW;
    parts.push(`<line x1="${item.x}" x2="${item.x + 16}" y1="${y - 4}" y2="${y - 4}" stroke="${item.color}" stroke-width="3"/>`);
    parts.push(`<text x="${item.x + 22}" y="${y}" fill="${item.color}">${escapeXml(item.name)}</text>`);
  }
  parts.push('</g>');
  for (const y of yTicks) {
    parts.push(`<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text class="y-tick" x="${PAD.left - 4}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${escapeXml(fy(y))}</text>`);
  }
  const xTicks = options.logX === true
    ? Array.from({ length: Math.floor(xMax) - Math.ceil(xMin) + 1 }, (_, i) => 10 ** (Math.ceil(xMin) + i))
    : ticksWithin(xMin, xMax, 6);
  for (const x of xTicks) {
    const X = options.logX === true ? px(x) : PAD.left + ((x - xMin) / (xMax - xMin || 1)) * plotW;
    parts.push(`<text class="x-tick" x="${X.toFixed(1)}" y="${height - PAD.bottom + 14}" text-anchor="middle">${escapeXml(fx(x))}</text>`);
  }
  parts.push(`<line x1="${PAD.left}" x2="${PAD.left}" y1="${top}" y2="${top + plotH}" stroke="#888"/>`);
  parts.push(`<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#888"/>`);
  parts.push(`<text x="${PAD.left + plotW / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  parts.push(`<text x="12" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 12 ${top + plotH / 2})">${escapeXml(options.yLabel)}</text>`);
  parts.push(`<g class="plot" data-top="${top}" data-bottom="${top + plotH}">`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
  });
  parts.push('</g>');
  parts.push('</svg>');
  return parts.join('');
}
