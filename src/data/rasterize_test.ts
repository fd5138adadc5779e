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
