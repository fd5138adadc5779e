import assert from "node:assert/strict";
import { fillRing, rasterizePolygons, type Ring } from "./rasterize.ts";

const GOLDEN = new URL("../../fixtures/golden/", import.meta.url);

interface Case {
  name: string;
  width: number;
  height: number;
  file: string;
  annotations: [number, number][][][];
  setPx: number;
}

/**
 * Chebyshev (L∞) distance from a pixel centre to a segment. The edge's own pixels (cells the
 * segment passes through) are those at ≤ 0.5; the one-pixel band along the edge adds their
 * 8-neighbours: ≤ 1.5. (OpenCV's fillPoly rounds span ends to the nearest pixel, so it sets up to
 * about one extra pixel per edge crossing; where a nearly horizontal edge leaves the tile it also
 * fills the vertex row out to the border, found 1.08 px away in the "huge" case.)
 * Found by ternary search on the convex function t ↦ max(|Δx|, |Δy|).
 */
function segDist(px: number, py: number, a: readonly number[], b: readonly number[]): number {
  const f = (t: number) =>
    Math.max(Math.abs(px - (a[0] + t * (b[0] - a[0]))), Math.abs(py - (a[1] + t * (b[1] - a[1]))));
  let lo = 0, hi = 1;
  for (let k = 0; k < 60; k++) {
    const m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
    if (f(m1) <= f(m2)) hi = m2;
    else lo = m1;
  }
  return f((lo + hi) / 2);
}

function edgeDistance(x: number, y: number, annotations: Case["annotations"]): number {
  let best = Infinity;
  for (const rings of annotations) {
    for (const ring of rings) {
      for (let i = 0; i < ring.length; i++) {
        best = Math.min(best, segDist(x, y, ring[i], ring[(i + 1) % ring.length]));
      }
    }
  }
  return best;
}

/** True when the point lies on segment a–b (integer coordinates: exact arithmetic). */
function onSegment(px: number, py: number, a: readonly number[], b: readonly number[]): boolean {
  const cross = (b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0]);
  return cross === 0 && px >= Math.min(a[0], b[0]) && px <= Math.max(a[0], b[0]) &&
    py >= Math.min(a[1], b[1]) && py <= Math.max(a[1], b[1]);
}

/** Even-odd rule by a ray towards +x, one ring. */
function insideRing(px: number, py: number, ring: readonly (readonly number[])[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [ax, ay] = ring[j], [bx, by] = ring[i];
    if ((ay > py) !== (by > py) && px < ax + ((py - ay) * (bx - ax)) / (by - ay)) inside = !inside;
  }
  return inside;
}

/**
 * The documented rule (module doc of rasterize.ts), pixel by pixel, by a direct point-in-polygon
 * test written independently of the scanline fill: pixel (x, y) is set when, for some annotation,
 * its centre (x, y) is on ring 0 or inside it by the even-odd rule, and not strictly inside a hole
 * (a hole's boundary stays set).
 */
function referenceMask(c: Case): Uint8Array {
  const m = new Uint8Array(c.width * c.height);
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      m[y * c.width + x] = c.annotations.some(([outer, ...holes]) => {
          const on = (r: readonly (readonly number[])[]) =>
            r.some((_, i) => onSegment(x, y, r[i], r[(i + 1) % r.length]));
          if (!on(outer) && !insideRing(x, y, outer)) return false;
          return !holes.some((h) => !on(h) && insideRing(x, y, h));
        })
        ? 1
        : 0;
    }
  }
  return m;
}

const cases: Case[] = JSON.parse(await Deno.readTextFile(new URL("raster_cases.json", GOLDEN)))
  .cases;

for (const c of cases) {
  Deno.test(`rasterize agrees with cv2.fillPoly outside a one-pixel edge band: ${c.name}`, async () => {
    const golden = await Deno.readFile(new URL(c.file, GOLDEN));
    assert.equal(golden.length, c.width * c.height);
    const mask = rasterizePolygons(
      new Uint8Array(c.width * c.height),
      c.width,
      c.height,
      c.annotations,
    );
    let differ = 0, outsideBand = 0, worst = 0, onlyOurs = 0;
    for (let y = 0; y < c.height; y++) {
      for (let x = 0; x < c.width; x++) {
        const i = y * c.width + x;
        if (mask[i] === golden[i]) continue;
        differ++;
        if (mask[i] === 1) onlyOurs++;
        const d = edgeDistance(x, y, c.annotations);
        worst = Math.max(worst, d);
        if (d > 1.5 + 1e-9) outsideBand++;
      }
    }
    console.log(
      `${c.name}: ${differ} of ${c.width * c.height} px differ from OpenCV ` +
        `(${onlyOurs} set only here; ${c.setPx} set there), ` +
        `farthest ${worst.toFixed(3)} px (L∞) from an edge`,
    );
    assert.equal(outsideBand, 0, `${outsideBand} disagreeing pixels lie outside the 1-px band`);
    // The band alone would accept an empty mask where every pixel is near an edge (tiny3,
    // thin_diagonal); the pixel-by-pixel reference of the documented rule accepts no difference.
    const ref = referenceMask(c);
    let refDiffer = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i] !== ref[i]) refDiffer++;
    assert.equal(refDiffer, 0, `${refDiffer} px differ from the point-in-polygon reference`);
  });
}

Deno.test("rasterize: hand-computed square, boundary included, clipping", () => {
  const m = new Uint8Array(5 * 5);
  fillRing(m, 5, 5, [[1, 1], [3, 1], [3, 3], [1, 3]], 1);
  const expected = [
    [0, 0, 0, 0, 0],
    [0, 1, 1, 1, 0],
    [0, 1, 1, 1, 0],
    [0, 1, 1, 1, 0],
    [0, 0, 0, 0, 0],
  ].flat();
  assert.deepEqual(Array.from(m), expected);
  // A polygon far larger than the tile covers it all; one entirely outside sets nothing.
  const huge: Ring = [[-100, -100], [100, -100], [100, 100], [-100, 100]];
  const big = rasterizePolygons(new Uint8Array(25), 5, 5, [[huge]]);
  assert.equal(big.reduce((a, b) => a + b, 0), 25);
  const none = rasterizePolygons(new Uint8Array(25), 5, 5, [[[[10, 10], [20, 10], [15, 20]]]]);
  assert.equal(none.reduce((a, b) => a + b, 0), 0);
});

Deno.test("rasterize: hole clears strictly-inside centres only; union over annotations", () => {
  const outline: Ring = [[0, 0], [6, 0], [6, 6], [0, 6]];
  const hole: Ring = [[1, 1], [5, 1], [5, 5], [1, 5]];
  const m = rasterizePolygons(new Uint8Array(49), 7, 7, [[outline, hole]]);
  // 49 pixels minus the 3×3 strictly inside the hole.
  assert.equal(m.reduce((a, b) => a + b, 0), 40);
  assert.equal(m[3 * 7 + 3], 0);
  assert.equal(m[1 * 7 + 1], 1);
  // A second annotation filling the hole wins (union).
  const inner: Ring = [[2, 2], [4, 2], [4, 4], [2, 4]];
  const u = rasterizePolygons(new Uint8Array(49), 7, 7, [[outline, hole], [inner]]);
  assert.equal(u.reduce((a, b) => a + b, 0), 49);
});
