/**
 * Polygons from binary masks — the inverse of `./rasterize.ts` — for the GeoJSON and
 * `polygons.jsonl` outputs of `deno task predict`.
 *
 * **Tracing.** Marching squares over the grid of pixel centres, on the mask of one 8-connected
 * instance padded with background: a contour vertex is the midpoint between a set pixel's centre
 * and an unset neighbour's, so every set centre lies strictly inside the polygon and every unset
 * one strictly outside. With `./rasterize.ts`'s convention (pixel `(x, y)` has its centre at
 * `(x, y)`) rasterising the traced polygon gives back exactly the instance's pixels.
 *
 * Saddle cells (two set pixels touching only at a corner) are resolved by joining the set pixels,
 * so an 8-connected instance (`./components.ts`) is one polygon: an outer ring and one ring per
 * enclosed 4-connected background region (a hole). No two rings share a point and no ring touches
 * itself, so the polygon is valid in the OGC simple-features sense (shapely's `is_valid`). A
 * marching-squares package such as d3-contour resolves both saddle cases the same way round,
 * which joins diagonal pixels in one direction and splits them in the other; hence this module.
 *
 * **Orientation** (RFC 7946 §3.1.6): outer rings counter-clockwise, holes clockwise, in a y-up
 * frame; in image coordinates (y down) that is the other way round on screen. GeoJSON readers
 * such as QuPath and shapely accept either; the RFC's rule is kept so strict readers do too.
 *
 * **Simplification.** Douglas–Peucker on each closed ring with tolerance `tolerancePx`; a ring
 * keeps at least its 3 most distant vertices. A simplified polygon that is no longer valid (a
 * ring crossing itself or another ring, or collapsing) is replaced by the traced one, which is
 * valid by construction.
 *
 * @module
 */

import { pixelBounds } from "./components.ts";

/** A point `[x, y]` in pixel units. */
export type Point = [number, number];

/** One polygon: `rings[0]` is the outline, later rings are holes; rings are open (the first
 * vertex is not repeated; {@linkcode closeRing} adds it for GeoJSON). */
export interface TracedPolygon {
  rings: Point[][];
}

/** Options of {@linkcode tracePolygon}. */
export interface TraceOptions {
  /** Douglas–Peucker tolerance in pixels; 0 keeps every corner of the traced outline. Default 0. */
  tolerancePx?: number;
}

/**
 * The polygon of one 8-connected set of pixels (row-major indices into a `width`-wide image), in
 * the pixel-centre convention of `./rasterize.ts`.
 *
 * @example
 * ```ts
 * import { tracePolygon } from "./contours.ts";
 * // one pixel at (2, 1): a diamond through the midpoints to its four neighbours
 * const { rings } = tracePolygon(Int32Array.of(1 * 5 + 2), 5);
 * console.assert(rings.length === 1 && rings[0].length === 4);
 * ```
 */
export function tracePolygon(
  pixels: Int32Array,
  width: number,
  opts: TraceOptions = {},
): TracedPolygon {
  if (pixels.length === 0) throw new RangeError("tracePolygon: no pixels");
  const [x0, y0, x1, y1] = pixelBounds(pixels, width);
  // Local grid with a one-pixel empty border: local (u, v) = image (x − x0 + 1, y − y0 + 1).
  const w = x1 - x0 + 3, h = y1 - y0 + 3;
  const grid = new Uint8Array(w * h);
  for (const p of pixels) {
    const x = p % width, y = (p - x) / width;
    grid[(y - y0 + 1) * w + (x - x0 + 1)] = 1;
  }
  const rings = traceRings(grid, w, h).map((ring) =>
    ring.map(([u, v]): Point => [u + x0 - 1, v + y0 - 1])
  );
  // The outer ring encloses the others: it has the largest area.
  let outer = 0;
  for (let i = 1; i < rings.length; i++) {
    if (Math.abs(ringArea(rings[i])) > Math.abs(ringArea(rings[outer]))) outer = i;
  }
  const ordered = [rings[outer], ...rings.filter((_, i) => i !== outer)];
  const traced = ordered.map((r, i) => orient(r, i === 0));
  const tol = opts.tolerancePx ?? 0;
  if (tol <= 0) return { rings: traced };
  const simplified = traced.map((r) => simplifyRing(r, tol));
  return { rings: isValidPolygon(simplified) ? simplified : traced };
}

/**
 * Marching squares on a 0/1 grid whose border is 0: the closed contours at level ½, each a list
 * of vertices in grid units (pixel centres at integers), straight runs merged.
 */
function traceRings(grid: Uint8Array, w: number, h: number): Point[][] {
  // Vertices are edge midpoints; in doubled coordinates (2u, 2v) they are integers.
  const W2 = 2 * w + 1;
  const key = (du: number, dv: number) => dv * W2 + du;
  const next = new Map<number, number>();
  const link = (au: number, av: number, bu: number, bv: number) =>
    next.set(key(au, av), key(bu, bv));
  for (let v = 0; v + 1 < h; v++) {
    for (let u = 0; u + 1 < w; u++) {
      const tl = grid[v * w + u], tr = grid[v * w + u + 1];
      const br = grid[(v + 1) * w + u + 1], bl = grid[(v + 1) * w + u];
      if (tl === tr && tr === br && br === bl) continue;
      // Edge midpoints of the cell, doubled: top, right, bottom, left.
      const T: Point = [2 * u + 1, 2 * v], R: Point = [2 * u + 2, 2 * v + 1];
      const B: Point = [2 * u + 1, 2 * v + 2], L: Point = [2 * u, 2 * v + 1];
      // Walking the cell's corners TL → TR → BR → BL, a set→unset step is an exit, unset→set an
      // entry; each exit is joined to the next entry along the walk. In a saddle cell that cuts
      // off the two unset corners, joining the set ones (8-connectivity of the set pixels).
      const corners = [tl, tr, br, bl];
      const mids = [T, R, B, L];
      const exits: number[] = [], entries: number[] = [];
      for (let k = 0; k < 4; k++) {
        const a = corners[k], b = corners[(k + 1) % 4];
        if (a === 1 && b === 0) exits.push(k);
        if (a === 0 && b === 1) entries.push(k);
      }
      for (const e of exits) {
        let n = (e + 1) % 4;
        while (!entries.includes(n)) n = (n + 1) % 4;
        link(mids[e][0], mids[e][1], mids[n][0], mids[n][1]);
      }
    }
  }
  const rings: Point[][] = [];
  const seen = new Set<number>();
  for (const start of next.keys()) {
    if (seen.has(start)) continue;
    const ring: Point[] = [];
    let k = start;
    do {
      seen.add(k);
      ring.push([(k % W2) / 2, Math.floor(k / W2) / 2]);
      k = next.get(k)!;
    } while (k !== start);
    rings.push(mergeStraightRuns(ring));
  }
  return rings;
}

/** Drops vertices that lie on the straight line through their neighbours. */
function mergeStraightRuns(ring: Point[]): Point[] {
  const n = ring.length;
  const out: Point[] = [];
  for (let i = 0; i < n; i++) {
    const a = ring[(i + n - 1) % n], b = ring[i], c = ring[(i + 1) % n];
    const cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]);
    if (cross !== 0) out.push(b);
  }
  return out;
}

/**
 * Twice the signed area of a ring by the shoelace formula, positive when counter-clockwise in a
 * y-up frame.
 */
export function ringArea(ring: readonly Point[]): number {
  let s = 0;
  for (let i = 0, n = ring.length; i < n; i++) {
    const a = ring[i], b = ring[(i + 1) % n];
    s += a[0] * b[1] - b[0] * a[1];
  }
  return s / 2;
}

/** The ring turned counter-clockwise (y-up) when `outer`, else clockwise (RFC 7946). */
function orient(ring: Point[], outer: boolean): Point[] {
  return (ringArea(ring) > 0) === outer ? ring : ring.slice().reverse();
}

/** The first vertex appended at the end, as GeoJSON and WKT want closed rings. */
export function closeRing(ring: readonly Point[]): Point[] {
  return [...ring, ring[0]];
}

/**
 * Douglas–Peucker on a closed ring: split at vertex 0 and the vertex farthest from it, simplify
 * both chains, keep vertices farther than `tolerancePx` from their chord.
 */
export function simplifyRing(ring: readonly Point[], tolerancePx: number): Point[] {
  const n = ring.length;
  if (n <= 3) return ring.slice();
  let far = 0, farD = -1;
  for (let i = 1; i < n; i++) {
    const d = (ring[i][0] - ring[0][0]) ** 2 + (ring[i][1] - ring[0][1]) ** 2;
    if (d > farD) far = i, farD = d;
  }
  const keep = new Uint8Array(n);
  keep[0] = keep[far] = 1;
  const chain = (a: number, b: number) => {
    // indices a < … < b (b may be n: vertex 0 again)
    const stack: [number, number][] = [[a, b]];
    while (stack.length > 0) {
      const [i, j] = stack.pop()!;
      if (j - i < 2) continue;
      const p = ring[i], q = ring[j % n];
      let best = -1, bestD = -1;
      for (let k = i + 1; k < j; k++) {
        const d = segmentDistance(ring[k], p, q);
        if (d > bestD) best = k, bestD = d;
      }
      if (bestD > tolerancePx) {
        keep[best] = 1;
        stack.push([i, best], [best, j]);
      }
    }
  };
  chain(0, far);
  chain(far, n);
  let out = ring.filter((_, i) => keep[i] === 1);
  if (out.length < 3) {
    // A ring thinner than the tolerance: keep the vertex farthest from the chord as well.
    let best = -1, bestD = -1;
    for (let k = 0; k < n; k++) {
      if (keep[k]) continue;
      const d = segmentDistance(ring[k], ring[0], ring[far]);
      if (d > bestD) best = k, bestD = d;
    }
    keep[best] = 1;
    out = ring.filter((_, i) => keep[i] === 1);
  }
  return out;
}

/** Distance from `p` to the segment `a`–`b`. */
function segmentDistance(p: Point, a: Point, b: Point): number {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  let t = len2 === 0 ? 0 : ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy);
}

/**
 * True when no ring has zero area and no two segments of the polygon (within a ring or between
 * rings) meet except consecutive segments of one ring at their shared vertex. Holes are not
 * tested for lying inside the outline: simplification moves vertices by at most the tolerance,
 * so a hole that left its outline would have had to cross it.
 */
export function isValidPolygon(rings: readonly (readonly Point[])[]): boolean {
  const segs: { a: Point; b: Point; ring: number; i: number; n: number }[] = [];
  for (let r = 0; r < rings.length; r++) {
    const ring = rings[r];
    if (ring.length < 3 || ringArea(ring) === 0) return false;
    for (let i = 0; i < ring.length; i++) {
      segs.push({ a: ring[i], b: ring[(i + 1) % ring.length], ring: r, i, n: ring.length });
    }
  }
  // Sweep in x: segments sorted by their left end, compared while their x-ranges overlap.
  const lo = (s: { a: Point; b: Point }) => Math.min(s.a[0], s.b[0]);
  const hi = (s: { a: Point; b: Point }) => Math.max(s.a[0], s.b[0]);
  segs.sort((p, q) => lo(p) - lo(q));
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    for (let j = i + 1; j < segs.length && lo(segs[j]) <= hi(s); j++) {
      const t = segs[j];
      const adjacent = s.ring === t.ring &&
        ((s.i + 1) % s.n === t.i || (t.i + 1) % t.n === s.i);
      if (adjacent) {
        // Consecutive segments may only share their common vertex: not fold back onto each other.
        if (s.n > 3 && overlapsCollinear(s.a, s.b, t.a, t.b)) return false;
        continue;
      }
      if (segmentsMeet(s.a, s.b, t.a, t.b)) return false;
    }
  }
  return true;
}

function cross(o: Point, a: Point, b: Point): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

function onSegment(p: Point, a: Point, b: Point): boolean {
  return Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) &&
    Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
}

/** True when the closed segments `a–b` and `c–d` have a point in common. */
function segmentsMeet(a: Point, b: Point, c: Point, d: Point): boolean {
  const d1 = cross(c, d, a), d2 = cross(c, d, b), d3 = cross(a, b, c), d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) {
    return true;
  }
  return (d1 === 0 && onSegment(a, c, d)) || (d2 === 0 && onSegment(b, c, d)) ||
    (d3 === 0 && onSegment(c, a, b)) || (d4 === 0 && onSegment(d, a, b));
}

/** Two segments sharing a vertex that lie on one line and point the same way from it. */
function overlapsCollinear(a: Point, b: Point, c: Point, d: Point): boolean {
  if (cross(a, b, c) !== 0 || cross(a, b, d) !== 0) return false;
  // They share one endpoint; they overlap when the other endpoints lie on the same side of it.
  const shared = a === c || a === d ? a : b;
  const p = shared === a ? b : a;
  const q = shared === c ? d : c;
  return (p[0] - shared[0]) * (q[0] - shared[0]) + (p[1] - shared[1]) * (q[1] - shared[1]) > 0;
}
