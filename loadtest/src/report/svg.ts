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
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const PAD = { left: 64, right: 16, top: 28, bottom: 40 };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function ticks(min: number, max: number, count: number): number[] {
  if (max <= min) return [min];
  const step = (max - min) / count;
  return Array.from({ length: count + 1 }, (_, i) => min + i * step);
}

/** Line chart of one or more series sharing axes. */
export function lineChart(series: readonly Series[], options: ChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 260;
  const all = series.flatMap((s) => s.points);
  const fx = options.formatX ?? ((v: number) => v.toFixed(0));
  const fy = options.formatY ?? ((v: number) => v.toFixed(0));
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="40"><text x="8" y="24" font-size="13">${escapeXml(options.title)}: no data</text></svg>`;
  const tx = (v: number): number => (options.logX === true ? Math.log10(Math.max(1, v)) : v);
  const xs = all.map(([x]) => tx(x));
  const ys = all.map(([, y]) => y);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs, xMin + 1e-9);
  const yMax = Math.max(...ys, 1e-9) * 1.05;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const px = (x: number): number => PAD.left + ((tx(x) - xMin) / (xMax - xMin || 1)) * plotW;
  const py = (y: number): number => PAD.top + plotH - (y / yMax) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(options.title)}</text>`);
  for (const y of ticks(0, yMax, 4)) {
    parts.push(`<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${PAD.left - 4}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${escapeXml(fy(y))}</text>`);
  }
  const xTicks = options.logX === true
    ? Array.from({ length: Math.floor(xMax) - Math.ceil(xMin) + 1 }, (_, i) => 10 ** (Math.ceil(xMin) + i))
    : ticks(xMin, xMax, 5);
  for (const x of xTicks) {
    const X = options.logX === true ? px(x) : PAD.left + ((x - xMin) / (xMax - xMin || 1)) * plotW;
    parts.push(`<text x="${X.toFixed(1)}" y="${height - PAD.bottom + 14}" text-anchor="middle">${escapeXml(fx(x))}</text>`);
  }
  parts.push(`<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#888"/>`);
  parts.push(`<line x1="${PAD.left}" x2="${width - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" stroke="#888"/>`);
  parts.push(`<text x="${PAD.left + plotW / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  parts.push(`<text x="12" y="${PAD.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 12 ${PAD.top + plotH / 2})">${escapeXml(options.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
    parts.push(`<text x="${width - PAD.right - 4}" y="${PAD.top + 12 + i * 13}" text-anchor="end" fill="${color}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
