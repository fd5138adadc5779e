/**
 * A small dependency-free SVG chart module: line charts (several series, legend, optional log y),
 * box plots and histograms, each returned as a standalone SVG document string. Used for the
 * baseline score distributions and the training curves.
 *
 * Why not a library: the maintained npm charting libraries either need a DOM (`@observablehq/plot`
 * takes a `document`, so headless Deno would need jsdom) or are large runtimes for this job
 * (`vega` + `vega-lite`); what is needed here is three chart types with axes and a legend.
 *
 * Layout: the plot area is the SVG minus `margin` (default top 40, right 20, bottom 50, left 64);
 * data map linearly (or log10 for `logY`) onto it, y upwards. Domains default to "nice" tick
 * bounds around the finite data. Non-finite values (NaN, ±Infinity, and values ≤ 0 on a log axis)
 * are never drawn: a line breaks at them, a box plot and a histogram leave them out and say how
 * many were left out.
 *
 * @module
 */

/** Space around the plot area, in px. */
export interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

/** Options shared by every chart. */
export interface ChartOptions {
  /** Default 640. */
  width?: number;
  /** Default 400. */
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  margin?: Partial<Margin>;
}

/** Default margin. */
export const DEFAULT_MARGIN: Margin = { top: 40, right: 20, bottom: 50, left: 64 };

/** Colour-blind-safe palette (Okabe & Ito 2008), cycled for series without a colour. */
export const PALETTE = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#000000",
  "#F0E442",
];

/** Escapes text for use in SVG content and attribute values. */
export function escapeXml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/** A coordinate rounded to 0.01 px, without trailing zeros. */
function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** A tick label: up to 6 significant digits, no float noise. */
export function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential().replace(/\.?0+e/, "e").replace("e+", "e");
  return String(Number(v.toPrecision(6)));
}

/**
 * Evenly spaced "nice" ticks (step 1, 2 or 5 × 10^k) whose first tick is ≤ `lo` and last ≥ `hi`,
 * about `count` of them. `lo === hi` is widened by 1 on each side (or by half its magnitude).
 *
 * @example
 * ```ts
 * import { niceTicks } from "./svg.ts";
 * console.assert(niceTicks(0, 1).join() === "0,0.2,0.4,0.6,0.8,1");
 * ```
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) / 2;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  const first = Math.floor(lo / step + 1e-9), last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** Powers of ten covering [lo, hi] (both > 0), for a log axis. */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi > 0)) return [1, 10];
  let a = Math.floor(Math.log10(lo) + 1e-9), b = Math.ceil(Math.log10(hi) - 1e-9);
  if (a === b) {
    a -= 1;
    b += 1;
  }
  const ticks: number[] = [];
  for (let k = a; k <= b; k++) ticks.push(Number((10 ** k).toPrecision(12)));
  return ticks;
}

/** A mapping from data to pixels. */
export interface Scale {
  (v: number): number;
  domain: [number, number];
  range: [number, number];
  log: boolean;
}

/**
 * Linear (or log10) map of `domain` onto `range`.
 *
 * @example
 * ```ts
 * import { makeScale } from "./svg.ts";
 * const s = makeScale([0, 10], [100, 200]);
 * console.assert(s(5) === 150);
 * ```
 */
export function makeScale(domain: [number, number], range: [number, number], log = false): Scale {
  const t = log ? Math.log10 : (v: number) => v;
  const d0 = t(domain[0]), d1 = t(domain[1]);
  const k = d1 === d0 ? 0 : (range[1] - range[0]) / (d1 - d0);
  const f = ((v: number) => range[0] + (t(v) - d0) * k) as Scale;
  f.domain = domain;
  f.range = range;
  f.log = log;
  return f;
}

function finiteExtent(arrays: ArrayLike<number>[], positiveOnly = false): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (!Number.isFinite(v) || (positiveOnly && v <= 0)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [NaN, NaN];
}

interface Frame {
  width: number;
  height: number;
  m: Margin;
  x: Scale;
  y: Scale;
}

function frame(
  opts: ChartOptions,
  xDomain: [number, number],
  yDomain: [number, number],
  logY: boolean,
): Frame {
  const width = opts.width ?? 640, height = opts.height ?? 400;
  const m = { ...DEFAULT_MARGIN, ...opts.margin };
  return {
    width,
    height,
    m,
    x: makeScale(xDomain, [m.left, width - m.right]),
    y: makeScale(yDomain, [height - m.bottom, m.top], logY),
  };
}

function open(f: Frame, opts: ChartOptions): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" ` +
    `viewBox="0 0 ${f.width} ${f.height}" font-family="sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${f.width}" height="${f.height}" fill="#ffffff"/>`,
  ];
  if (opts.title) {
    out.push(
      `<text x="${px(f.width / 2)}" y="${px(f.m.top / 2 + 5)}" text-anchor="middle" ` +
        `font-size="15">${escapeXml(opts.title)}</text>`,
    );
  }
  return out;
}

function yAxis(f: Frame, ticks: number[], label?: string): string[] {
  const out: string[] = [`<g class="y-axis">`];
  const x0 = f.m.left, x1 = f.width - f.m.right;
  for (const t of ticks) {
    const y = px(f.y(t));
    out.push(
      `<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${x0 - 6}" y="${y}" dy="4" text-anchor="end">${escapeXml(formatTick(t))}</text>`,
    );
  }
  out.push(
    `<line x1="${x0}" y1="${f.m.top}" x2="${x0}" y2="${f.height - f.m.bottom}" stroke="#333"/>`,
  );
  if (label) {
    const cy = px((f.m.top + f.height - f.m.bottom) / 2);
    out.push(
      `<text transform="translate(14 ${cy}) rotate(-90)" text-anchor="middle">` +
        `${escapeXml(label)}</text>`,
    );
  }
  out.push(`</g>`);
  return out;
}

function xAxisNumeric(f: Frame, ticks: number[], label?: string): string[] {
  const out: string[] = [`<g class="x-axis">`];
  const y0 = f.height - f.m.bottom;
  out.push(
    `<line x1="${f.m.left}" y1="${y0}" x2="${f.width - f.m.right}" y2="${y0}" stroke="#333"/>`,
  );
  for (const t of ticks) {
    const x = px(f.x(t));
    out.push(
      `<line x1="${x}" y1="${y0}" x2="${x}" y2="${y0 + 5}" stroke="#333"/>`,
      `<text x="${x}" y="${y0 + 18}" text-anchor="middle">${escapeXml(formatTick(t))}</text>`,
    );
  }
  if (label) {
    out.push(
      `<text x="${px((f.m.left + f.width - f.m.right) / 2)}" y="${f.height - 8}" ` +
        `text-anchor="middle">${escapeXml(label)}</text>`,
    );
  }
  out.push(`</g>`);
  return out;
}

function legend(
  f: Frame,
  items: { name: string; color: string; line?: "solid" | "dashed" }[],
  outside = false,
): string[] {
  if (items.length === 0) return [];
  const out = [`<g class="legend">`];
  // Inside: right-aligned in the plot area's top-right corner. Outside: left-aligned in the right
  // margin (which the caller makes wide enough).
  const x = outside ? f.width - f.m.right + 10 : f.width - f.m.right - 10;
  items.forEach((it, i) => {
    const y = f.m.top + 12 + i * 16;
    const x0 = outside ? x : x - 12;
    const color = escapeXml(it.color);
    // Line series get a short stroke in their own dash style (so solid and dashed series of one
    // colour stay apart); bar series a filled swatch.
    out.push(
      it.line
        ? `<line x1="${x0}" y1="${y - 4}" x2="${x0 + 12}" y2="${y - 4}" stroke="${color}" ` +
          `stroke-width="2"${it.line === "dashed" ? ' stroke-dasharray="4,2"' : ""}/>`
        : `<rect x="${x0}" y="${y - 9}" width="12" height="10" fill="${color}"/>`,
      outside
        ? `<text x="${x + 16}" y="${y}" text-anchor="start">${escapeXml(it.name)}</text>`
        : `<text x="${x - 16}" y="${y}" text-anchor="end">${escapeXml(it.name)}</text>`,
    );
  });
  out.push(`</g>`);
  return out;
}

/** One line of a {@linkcode lineChart}: `x[i]`, `y[i]` pairs. */
export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
  dashed?: boolean;
}

/** Options of {@linkcode lineChart}. */
export interface LineChartOptions extends ChartOptions {
  /** log10 y axis; values ≤ 0 are not drawn. */
  logY?: boolean;
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Draw a dot at every point. Default: when a series has at most 40 points. */
  markers?: boolean;
  /**
   * Put the legend in the right margin instead of over the plot's top-right corner (give a wide
   * `margin.right`, e.g. 150). Default false.
   */
  legendOutside?: boolean;
}

/**
 * Line chart of several series with axes, ticks, labels and a legend. A series breaks (a gap) at
 * any point whose x or y is not finite (or y ≤ 0 on a log axis).
 *
 * @example
 * ```ts
 * import { lineChart } from "./svg.ts";
 * const svg = lineChart([{ name: "loss", x: [1, 2, 3], y: [0.9, 0.5, 0.4] }], { xLabel: "epoch" });
 * console.assert(svg.startsWith("<svg") && svg.includes("loss"));
 * ```
 */
export function lineChart(series: LineSeries[], opts: LineChartOptions = {}): string {
  for (const s of series) {
    if (s.x.length !== s.y.length) {
      throw new RangeError(`lineChart: series "${s.name}" has ${s.x.length} x and ${s.y.length} y`);
    }
  }
  const logY = opts.logY ?? false;
  const xt = opts.xDomain
    ? niceTicks(...opts.xDomain)
    : niceTicks(...finiteExtent(series.map((s) => s.x)));
  const yExt = opts.yDomain ?? finiteExtent(series.map((s) => s.y), logY);
  const yt = logY ? logTicks(...yExt) : niceTicks(...yExt);
  const xDomain = opts.xDomain ?? [xt[0], xt[xt.length - 1]];
  const yDomain = opts.yDomain ?? [yt[0], yt[yt.length - 1]];
  const f = frame(opts, xDomain, yDomain, logY);
  const inside = (t: number, [a, b]: [number, number]) => t >= a - 1e-12 && t <= b + 1e-12;
  const out = open(f, opts);
  out.push(...yAxis(f, yt.filter((t) => inside(t, yDomain)), opts.yLabel));
  out.push(...xAxisNumeric(f, xt.filter((t) => inside(t, xDomain)), opts.xLabel));
  const items: { name: string; color: string; line: "solid" | "dashed" }[] = [];
  series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length];
    items.push({ name: s.name, color, line: s.dashed ? "dashed" : "solid" });
    const markers = opts.markers ?? s.x.length <= 40;
    let d = "", pen = false;
    const dots: string[] = [];
    for (let i = 0; i < s.x.length; i++) {
      const xv = s.x[i], yv = s.y[i];
      if (!Number.isFinite(xv) || !Number.isFinite(yv) || (logY && yv <= 0)) {
        pen = false;
        continue;
      }
      const X = px(f.x(xv)), Y = px(f.y(yv));
      d += `${pen ? "L" : "M"}${X},${Y}`;
      pen = true;
      if (markers) dots.push(`<circle cx="${X}" cy="${Y}" r="2.5" fill="${escapeXml(color)}"/>`);
    }
    out.push(
      `<g class="series" data-name="${escapeXml(s.name)}">`,
      `<path d="${d}" fill="none" stroke="${escapeXml(color)}" stroke-width="1.5"` +
        `${s.dashed ? ' stroke-dasharray="5,3"' : ""}/>`,
      ...dots,
      `</g>`,
    );
  });
  out.push(...legend(f, items, opts.legendOutside ?? false), `</svg>`);
  return out.join("\n") + "\n";
}

/** Tukey box-plot statistics of the finite values (quartiles by linear interpolation). */
export interface BoxStats {
  /** Finite values used. */
  n: number;
  /** Values left out because they were not finite. */
  dropped: number;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  mean: number;
  /** Whisker ends: the most extreme values within 1.5 IQR of the box. */
  whiskerLo: number;
  whiskerHi: number;
  outliers: number[];
}

/**
 * Box-plot statistics; quantiles as numpy's default (linear interpolation between order
 * statistics). All NaN when no value is finite.
 *
 * @example
 * ```ts
 * import { boxStats } from "./svg.ts";
 * const s = boxStats([1, 2, 3, 4, NaN]);
 * console.assert(s.median === 2.5 && s.q1 === 1.75 && s.dropped === 1);
 * ```
 */
export function boxStats(values: ArrayLike<number>): BoxStats {
  const v = Float64Array.from(Array.from(values).filter((x) => Number.isFinite(x))).sort();
  const n = v.length, dropped = values.length - n;
  if (n === 0) {
    return {
      n,
      dropped,
      min: NaN,
      q1: NaN,
      median: NaN,
      q3: NaN,
      max: NaN,
      mean: NaN,
      whiskerLo: NaN,
      whiskerHi: NaN,
      outliers: [],
    };
  }
  const q = (p: number) => {
    const h = (n - 1) * p, lo = Math.floor(h);
    return lo + 1 < n ? v[lo] + (h - lo) * (v[lo + 1] - v[lo]) : v[lo];
  };
  const q1 = q(0.25), q3 = q(0.75), iqr = q3 - q1;
  const loFence = q1 - 1.5 * iqr, hiFence = q3 + 1.5 * iqr;
  let whiskerLo = q1, whiskerHi = q3, sum = 0;
  const outliers: number[] = [];
  for (const x of v) {
    sum += x;
    if (x < loFence || x > hiFence) outliers.push(x);
    else {
      if (x < whiskerLo) whiskerLo = x;
      if (x > whiskerHi) whiskerHi = x;
    }
  }
  return {
    n,
    dropped,
    min: v[0],
    q1,
    median: q(0.5),
    q3,
    max: v[n - 1],
    mean: sum / n,
    whiskerLo,
    whiskerHi,
    outliers,
  };
}

/** One box of a {@linkcode boxPlot}. */
export interface BoxGroup {
  name: string;
  values: ArrayLike<number>;
  color?: string;
}

/** Options of {@linkcode boxPlot}. */
export interface BoxPlotOptions extends ChartOptions {
  yDomain?: [number, number];
}

/**
 * Box plot, one box per group: box from Q1 to Q3, median line, mean as a diamond, whiskers to
 * the most extreme values within 1.5 IQR, outliers as dots. Under each box: its name and `n`
 * (and how many non-finite values were left out).
 *
 * @example
 * ```ts
 * import { boxPlot } from "./svg.ts";
 * const svg = boxPlot([{ name: "otsu", values: [0.1, 0.2, 0.3] }], { yDomain: [0, 1] });
 * console.assert(svg.includes("otsu"));
 * ```
 */
export function boxPlot(groups: BoxGroup[], opts: BoxPlotOptions = {}): string {
  const stats = groups.map((g) => boxStats(g.values));
  const ext = opts.yDomain ??
    finiteExtent(stats.map((s) => [s.min, s.max]));
  const yt = niceTicks(...ext);
  const yDomain = opts.yDomain ?? [yt[0], yt[yt.length - 1]];
  const f = frame(opts, [0, Math.max(1, groups.length)], yDomain, false);
  const out = open(f, opts);
  out.push(
    ...yAxis(f, yt.filter((t) => t >= yDomain[0] - 1e-12 && t <= yDomain[1] + 1e-12), opts.yLabel),
  );
  const y0 = f.height - f.m.bottom;
  out.push(
    `<g class="x-axis">`,
    `<line x1="${f.m.left}" y1="${y0}" x2="${f.width - f.m.right}" y2="${y0}" stroke="#333"/>`,
  );
  const band = f.x(1) - f.x(0);
  groups.forEach((g, i) => {
    const cx = px(f.x(i + 0.5));
    const s = stats[i];
    out.push(
      `<text x="${cx}" y="${y0 + 18}" text-anchor="middle">${escapeXml(g.name)}</text>`,
      `<text x="${cx}" y="${y0 + 32}" text-anchor="middle" font-size="10" fill="#555">n=${s.n}` +
        `${s.dropped ? `, ${s.dropped} undefined` : ""}</text>`,
    );
  });
  if (opts.xLabel) {
    out.push(
      `<text x="${px((f.m.left + f.width - f.m.right) / 2)}" y="${f.height - 4}" ` +
        `text-anchor="middle">${escapeXml(opts.xLabel)}</text>`,
    );
  }
  out.push(`</g>`);
  groups.forEach((g, i) => {
    const s = stats[i];
    if (s.n === 0) return;
    const color = escapeXml(g.color ?? PALETTE[i % PALETTE.length]);
    const cx = f.x(i + 0.5), hw = Math.min(40, band * 0.3);
    const yq1 = f.y(s.q1), yq3 = f.y(s.q3);
    out.push(
      `<g class="box" data-name="${escapeXml(g.name)}">`,
      `<line x1="${px(cx)}" y1="${px(f.y(s.whiskerLo))}" x2="${px(cx)}" y2="${
        px(yq1)
      }" stroke="${color}"/>`,
      `<line x1="${px(cx)}" y1="${px(yq3)}" x2="${px(cx)}" y2="${
        px(f.y(s.whiskerHi))
      }" stroke="${color}"/>`,
      `<line x1="${px(cx - hw / 2)}" y1="${px(f.y(s.whiskerLo))}" x2="${px(cx + hw / 2)}" y2="${
        px(f.y(s.whiskerLo))
      }" stroke="${color}"/>`,
      `<line x1="${px(cx - hw / 2)}" y1="${px(f.y(s.whiskerHi))}" x2="${px(cx + hw / 2)}" y2="${
        px(f.y(s.whiskerHi))
      }" stroke="${color}"/>`,
      `<rect x="${px(cx - hw)}" y="${px(yq3)}" width="${px(2 * hw)}" height="${px(yq1 - yq3)}" ` +
        `fill="${color}" fill-opacity="0.25" stroke="${color}"/>`,
      `<line class="median" x1="${px(cx - hw)}" y1="${px(f.y(s.median))}" x2="${px(cx + hw)}" ` +
        `y2="${px(f.y(s.median))}" stroke="${color}" stroke-width="2"/>`,
    );
    const my = f.y(s.mean);
    out.push(
      `<path class="mean" d="M${px(cx)},${px(my - 4)}L${px(cx + 4)},${px(my)}L${px(cx)},${
        px(my + 4)
      }L${px(cx - 4)},${px(my)}Z" fill="#000"/>`,
    );
    // Many outliers would bloat the file; draw each distinct value once.
    for (const o of new Set(s.outliers)) {
      out.push(`<circle cx="${px(cx)}" cy="${px(f.y(o))}" r="2" fill="none" stroke="${color}"/>`);
    }
    out.push(`</g>`);
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/**
 * Counts of the finite values of `values` in `bins` equal bins over [lo, hi] (the last bin
 * includes `hi`); values outside the range and non-finite values are not counted.
 *
 * @example
 * ```ts
 * import { histogramCounts } from "./svg.ts";
 * console.assert(histogramCounts([0, 0.5, 1, NaN, 2], 2, 0, 1).join() === "1,2");
 * ```
 */
export function histogramCounts(
  values: ArrayLike<number>,
  bins: number,
  lo: number,
  hi: number,
): Float64Array {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be ≥ 1, got ${bins}`);
  const counts = new Float64Array(bins);
  const w = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || v < lo || v > hi) continue;
    counts[w > 0 ? Math.min(bins - 1, Math.floor((v - lo) / w)) : 0]++;
  }
  return counts;
}

/** One distribution of a {@linkcode histogram}. */
export interface HistogramSeries {
  name: string;
  values: ArrayLike<number>;
  color?: string;
}

/** Options of {@linkcode histogram}. */
export interface HistogramOptions extends ChartOptions {
  /** Default 20. */
  bins?: number;
  /** Default: the finite extent of all values. */
  range?: [number, number];
  /** Plot the fraction of each series' counted values instead of counts. Default false. */
  normalize?: boolean;
}

/**
 * Histogram of one or more distributions over the same bins, drawn as translucent overlapping
 * bars with a legend (each series' name followed by its `n`).
 *
 * @example
 * ```ts
 * import { histogram } from "./svg.ts";
 * const svg = histogram([{ name: "dsc", values: [0.1, 0.2, 0.2] }], { range: [0, 1], bins: 10 });
 * console.assert(svg.includes("<rect"));
 * ```
 */
export function histogram(series: HistogramSeries[], opts: HistogramOptions = {}): string {
  const bins = opts.bins ?? 20;
  let [lo, hi] = opts.range ?? finiteExtent(series.map((s) => s.values));
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  const counts = series.map((s) => {
    const c = histogramCounts(s.values, bins, lo, hi);
    if (opts.normalize) {
      const total = c.reduce((a, b) => a + b, 0);
      if (total > 0) { for (let i = 0; i < bins; i++) c[i] /= total; }
    }
    return c;
  });
  let top = 0;
  for (const c of counts) for (const v of c) top = Math.max(top, v);
  const yt = niceTicks(0, top > 0 ? top : 1);
  const f = frame(opts, [lo, hi], [0, yt[yt.length - 1]], false);
  const out = open(f, opts);
  out.push(...yAxis(f, yt, opts.yLabel ?? (opts.normalize ? "fraction" : "count")));
  out.push(
    ...xAxisNumeric(
      f,
      niceTicks(lo, hi).filter((t) => t >= lo - 1e-12 && t <= hi + 1e-12),
      opts.xLabel,
    ),
  );
  const w = (hi - lo) / bins;
  const items: { name: string; color: string }[] = [];
  series.forEach((s, si) => {
    const color = escapeXml(s.color ?? PALETTE[si % PALETTE.length]);
    const n = counts[si];
    const counted = histogramCounts(s.values, bins, lo, hi).reduce((a, b) => a + b, 0);
    items.push({ name: `${s.name} (n=${counted})`, color });
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    for (let b = 0; b < bins; b++) {
      if (n[b] === 0) continue;
      const x0 = f.x(lo + b * w), x1 = f.x(lo + (b + 1) * w), y = f.y(n[b]);
      out.push(
        `<rect x="${px(x0)}" y="${px(y)}" width="${px(x1 - x0)}" height="${px(f.y(0) - y)}" ` +
          `fill="${color}" fill-opacity="0.35" stroke="${color}"/>`,
      );
    }
    out.push(`</g>`);
  });
  out.push(...legend(f, items), `</svg>`);
  return out.join("\n") + "\n";
}
