/**
 * Polygon rasterising for the Kaggle `polygons.jsonl` annotations: integer rings → a binary
 * `Uint8Array` mask, by a scanline fill with an active edge table.
 *
 * Pixel convention (the one OpenCV's `fillPoly` uses for integer polygons): pixel `(x, y)` has its
 * centre at the point `(x, y)` in polygon coordinates. A pixel is set when its centre lies inside
 * the ring by the even-odd rule or exactly on the ring's boundary. Coordinates outside the tile are
 * clipped, never an error. Inside one annotation ring 0 is the outline and later rings are holes:
 * centres strictly inside a hole are cleared, the hole's own boundary stays set (it is the vessel's
 * inner wall). Several annotations are combined by union.
 *
 * @module
 */

/** One polygon ring: a list of `[x, y]` vertices (closed implicitly). */
export type Ring = readonly (readonly [number, number])[];

/** Options for {@linkcode rasterizePolygons}. */
export interface RasterizeOptions {
  /** Value written for set pixels. Default 1. */
  value?: number;
  /** Reused scratch buffer of at least `width·height` bytes (for annotations with holes). */
  scratch?: Uint8Array;
}

// Reusable edge storage, grown on demand: x0, y0, x1, y1 per edge with y0 < y1 (float64 so that any
// integer coordinate is exact).
let edgeBuf = new Float64Array(4 * 64);
let activeBuf = new Int32Array(64);
let crossBuf = new Float64Array(64);

function ensureEdges(n: number): void {
  if (edgeBuf.length < 4 * n) edgeBuf = new Float64Array(4 * n * 2);
  if (activeBuf.length < n) activeBuf = new Int32Array(n * 2);
  if (crossBuf.length < n) crossBuf = new Float64Array(n * 2);
}

/**
 * Fills the even-odd interior of `ring` (pixel centres inside, boundary included) with `value`.
 * The interior comes from a scanline pass over integer rows with an active edge table; the
 * boundary pixels (centres exactly on an edge) are added by {@linkcode strokeRingExact}.
 *
 * @example
 * ```ts
 * import { fillRing } from "./rasterize.ts";
 * const m = new Uint8Array(4 * 4);
 * fillRing(m, 4, 4, [[0, 0], [2, 0], [2, 2], [0, 2]], 1);
 * console.assert(m.reduce((a, b) => a + b, 0) === 9); // 3×3 pixels, boundary included
 * ```
 */
export function fillRing(
  mask: Uint8Array,
  width: number,
  height: number,
  ring: Ring,
  value: number,
): void {
  const n = ring.length;
  if (n === 0) return;
  ensureEdges(n);
  // Collect non-horizontal edges oriented downwards, then sort by top y (insertion sort of indices
  // would cost more than sorting the flat array by a key; rings are small, so sort an index list).
  let m = 0;
  let ymin = Infinity, ymax = -Infinity;
  for (let i = 0; i < n; i++) {
    const a = ring[i], b = ring[(i + 1) % n];
    const ax = a[0], ay = a[1], bx = b[0], by = b[1];
    if (ay === by) continue;
    const o = 4 * m;
    if (ay < by) {
      edgeBuf[o] = ax, edgeBuf[o + 1] = ay, edgeBuf[o + 2] = bx, edgeBuf[o + 3] = by;
    } else {
      edgeBuf[o] = bx, edgeBuf[o + 1] = by, edgeBuf[o + 2] = ax, edgeBuf[o + 3] = ay;
    }
    if (edgeBuf[o + 1] < ymin) ymin = edgeBuf[o + 1];
    if (edgeBuf[o + 3] > ymax) ymax = edgeBuf[o + 3];
    m++;
  }
  if (m >= 2) {
    // Edge order by top y: a sorted index array (the edge table).
    const order = new Int32Array(m);
    for (let i = 0; i < m; i++) order[i] = i;
    order.sort((p, q) => edgeBuf[4 * p + 1] - edgeBuf[4 * q + 1]);
    const yStart = Math.max(0, Math.ceil(ymin));
    const yEnd = Math.min(height - 1, Math.ceil(ymax) - 1); // half-open rows: y0 ≤ y < y1
    let next = 0; // next edge in `order` to activate
    let nActive = 0;
    // Skip edges that end above the first visible row.
    for (let y = yStart; y <= yEnd; y++) {
      while (next < m && edgeBuf[4 * order[next] + 1] <= y) activeBuf[nActive++] = order[next++];
      // Drop finished edges and compute crossings of the live ones.
      let k = 0, nc = 0;
      for (let i = 0; i < nActive; i++) {
        const e = activeBuf[i], o = 4 * e;
        const y1 = edgeBuf[o + 3];
        if (y1 <= y) continue; // finished
        activeBuf[k++] = e;
        const x0 = edgeBuf[o], y0 = edgeBuf[o + 1], x1 = edgeBuf[o + 2];
        const x = x0 + ((y - y0) * (x1 - x0)) / (y1 - y0);
        // Insertion into the sorted crossing list.
        let j = nc++;
        while (j > 0 && crossBuf[j - 1] > x) {
          crossBuf[j] = crossBuf[j - 1];
          j--;
        }
        crossBuf[j] = x;
      }
      nActive = k;
      const row = y * width;
      for (let i = 0; i + 1 < nc; i += 2) {
        let xa = Math.ceil(crossBuf[i]);
        let xb = Math.floor(crossBuf[i + 1]);
        if (xa < 0) xa = 0;
        if (xb > width - 1) xb = width - 1;
        if (xa <= xb) mask.fill(value, row + xa, row + xb + 1);
      }
    }
  }
  strokeRingExact(mask, width, height, ring, value);
}

/**
 * Sets the pixels whose centres lie exactly on an edge of `ring` (all integer points of each
 * segment), clipped to the tile. This completes the closed fill where the half-open scanline rule
 * leaves out bottom rows, horizontal edges and local y-extrema.
 */
export function strokeRingExact(
  mask: Uint8Array,
  width: number,
  height: number,
  ring: Ring,
  value: number,
): void {
  const n = ring.length;
  for (let i = 0; i < n; i++) {
    const a = ring[i], b = ring[(i + 1) % n];
    const ax = a[0], ay = a[1];
    // Only integer vertices have integer boundary points to add.
    if (!Number.isInteger(ax) || !Number.isInteger(ay) || !Number.isInteger(b[0])) continue;
    if (!Number.isInteger(b[1])) continue;
    const dx = b[0] - ax, dy = b[1] - ay;
    const g = gcd(Math.abs(dx), Math.abs(dy));
    if (g === 0) {
      if (ax >= 0 && ax < width && ay >= 0 && ay < height) mask[ay * width + ax] = value;
      continue;
    }
    // Integer points of the segment are a + t·(dx/g, dy/g), t = 0..g.
    const sx = dx / g, sy = dy / g;
    let t0 = 0, t1 = g;
    // Clip t to the tile so huge off-tile segments cost nothing.
    [t0, t1] = clipT(ax, sx, width, t0, t1);
    [t0, t1] = clipT(ay, sy, height, t0, t1);
    for (let t = t0; t <= t1; t++) {
      const x = ax + t * sx, y = ay + t * sy;
      mask[y * width + x] = value;
    }
  }
}

function clipT(p: number, s: number, size: number, t0: number, t1: number): [number, number] {
  if (s === 0) return p >= 0 && p < size ? [t0, t1] : [1, 0];
  // need 0 ≤ p + t·s ≤ size − 1
  let lo = (0 - p) / s, hi = (size - 1 - p) / s;
  if (lo > hi) [lo, hi] = [hi, lo];
  return [Math.max(t0, Math.ceil(lo)), Math.min(t1, Math.floor(hi))];
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Rasterises annotations (each a list of rings: outline then holes) into `mask` by union.
 * Integer vertex coordinates are expected (the Kaggle data has them); others are rasterised by the
 * same centre-inside rule without the exact-boundary pass being meaningful.
 *
 * @example
 * ```ts
 * import { rasterizePolygons } from "./rasterize.ts";
 * const mask = new Uint8Array(8 * 8);
 * rasterizePolygons(mask, 8, 8, [[
 *   [[0, 0], [6, 0], [6, 6], [0, 6]], // outline
 *   [[2, 2], [4, 2], [4, 4], [2, 4]], // hole: only (3, 3) is strictly inside
 * ]]);
 * console.assert(mask[3 * 8 + 3] === 0 && mask[2 * 8 + 2] === 1);
 * ```
 */
export function rasterizePolygons(
  mask: Uint8Array,
  width: number,
  height: number,
  annotations: readonly (readonly Ring[])[],
  opts: RasterizeOptions = {},
): Uint8Array {
  if (mask.length < width * height) {
    throw new RangeError(`mask has ${mask.length} bytes, need ${width * height}`);
  }
  const value = opts.value ?? 1;
  let scratch = opts.scratch;
  for (const rings of annotations) {
    if (rings.length === 0) continue;
    if (rings.length === 1) {
      fillRing(mask, width, height, rings[0], value);
      continue;
    }
    // Outline minus holes in a scratch buffer over the outline's clipped bounding box, then union.
    if (!scratch || scratch.length < width * height) scratch = new Uint8Array(width * height);
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const [x, y] of rings[0]) {
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    x0 = Math.max(0, Math.ceil(x0)), y0 = Math.max(0, Math.ceil(y0));
    x1 = Math.min(width - 1, Math.floor(x1)), y1 = Math.min(height - 1, Math.floor(y1));
    if (x0 > x1 || y0 > y1) continue;
    for (let y = y0; y <= y1; y++) scratch.fill(0, y * width + x0, y * width + x1 + 1);
    fillRing(scratch, width, height, rings[0], 1);
    for (let h = 1; h < rings.length; h++) {
      fillRing(scratch, width, height, rings[h], 0);
      strokeRingExact(scratch, width, height, rings[h], 1);
    }
    for (let y = y0; y <= y1; y++) {
      const row = y * width;
      for (let x = x0; x <= x1; x++) if (scratch[row + x] !== 0) mask[row + x] = value;
    }
  }
  return mask;
}
