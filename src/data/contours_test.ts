import assert from "node:assert/strict";
import { labelComponents } from "./components.ts";
import { isValidPolygon, type Point, ringArea, simplifyRing, tracePolygon } from "./contours.ts";
import { rasterizePolygons } from "./rasterize.ts";
import { Rng } from "../rng.ts";

/** The instances (8-connected components) of a mask as pixel lists. */
function instances(mask: Uint8Array, w: number, h: number): Int32Array[] {
  const { labels, count } = labelComponents(mask, w, h);
  const lists: number[][] = Array.from({ length: count }, () => []);
  labels.forEach((l, i) => l > 0 && lists[l - 1].push(i));
  return lists.map((l) => Int32Array.from(l));
}

function fromRows(rows: string[]): { mask: Uint8Array; w: number; h: number } {
  const h = rows.length, w = rows[0].length;
  const mask = new Uint8Array(w * h);
  rows.forEach((r, y) => [...r].forEach((c, x) => mask[y * w + x] = c === "#" ? 1 : 0));
  return { mask, w, h };
}

Deno.test("tracePolygon: a single pixel is a diamond through the midpoints to its neighbours", () => {
  const { rings } = tracePolygon(Int32Array.of(1 * 5 + 2), 5);
  // hand-drawn: (2, 1) ± 0.5 along each axis, counter-clockwise in a y-up frame (shoelace > 0)
  assert.deepEqual(
    new Set(rings[0].map((p) => p.join(","))),
    new Set(["2.5,1", "2,1.5", "1.5,1", "2,0.5"]),
  );
  assert.equal(ringArea(rings[0]), 0.5);
});

Deno.test("tracePolygon: a 3×3 block with its centre unset is an outline with one clockwise hole", () => {
  const { mask, w, h } = fromRows(["#####", "#...#", "#####"].map((r) => r));
  const [pixels] = instances(mask, w, h);
  const { rings } = tracePolygon(pixels, w);
  assert.equal(rings.length, 2);
  assert.ok(ringArea(rings[0]) > 0, "outer ring counter-clockwise (y-up)");
  assert.ok(ringArea(rings[1]) < 0, "hole clockwise (y-up)");
  // outline: the 5×3 block grown by ½ (5·3) with its four corners cut by triangles of ⅛: 14.5
  assert.equal(ringArea(rings[0]), 14.5);
  // hole: through the midpoints around the 3×1 bar of unset pixels, a hexagon: a 2×1 rectangle
  // and two triangles of ¼
  assert.equal(-ringArea(rings[1]), 2.5);
});

Deno.test("tracePolygon: diagonal neighbours stay one polygon in both diagonal directions", () => {
  for (const rows of [["#.", ".#"], [".#", "#."]]) {
    const { mask, w, h } = fromRows(rows);
    const found = instances(mask, w, h);
    assert.equal(found.length, 1);
    const { rings } = tracePolygon(found[0], w);
    assert.equal(rings.length, 1, rows.join("/"));
    assert.ok(isValidPolygon(rings));
  }
});

Deno.test("tracePolygon: rasterising the traced polygon gives back exactly the instance (random masks)", () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 40; trial++) {
    const w = 5 + Math.floor(rng.float() * 30), h = 5 + Math.floor(rng.float() * 30);
    const density = 0.3 + 0.4 * rng.float();
    const mask = new Uint8Array(w * h).map(() => rng.float() < density ? 1 : 0);
    for (const pixels of instances(mask, w, h)) {
      const { rings } = tracePolygon(pixels, w);
      assert.ok(isValidPolygon(rings), `trial ${trial}: traced polygon invalid`);
      const back = rasterizePolygons(new Uint8Array(w * h), w, h, [rings]);
      const want = new Uint8Array(w * h);
      for (const p of pixels) want[p] = 1;
      assert.deepEqual(back, want, `trial ${trial}`);
    }
  }
});

Deno.test("simplifyRing: bumps within the tolerance go, the corners stay", () => {
  // a 10×2 rectangle whose long sides bulge by 0.2 px at their middle. By hand: anchors (0, 0)
  // and the farthest vertex (10, 2); on each chain the corner is 1.96 px off the diagonal chord
  // and stays, then each bump is 0.2 px off its side and goes at tolerance 0.5, stays at 0.1
  const ring: Point[] = [[0, 0], [5, 0.2], [10, 0], [10, 2], [5, 2.2], [0, 2]];
  assert.deepEqual(simplifyRing(ring, 0.5), [[0, 0], [10, 0], [10, 2], [0, 2]]);
  assert.deepEqual(simplifyRing(ring, 0.1), ring);
});

Deno.test("simplifyRing: a ring thinner than the tolerance keeps three vertices", () => {
  const diamond: Point[] = [[2.5, 1], [2, 1.5], [1.5, 1], [2, 0.5]];
  const out = simplifyRing(diamond, 5);
  assert.equal(out.length, 3);
  assert.notEqual(ringArea(out), 0);
});

Deno.test("isValidPolygon: a bow tie, a hole crossing its outline and a spike are refused", () => {
  assert.equal(isValidPolygon([[[0, 0], [2, 2], [2, 0], [0, 2]]]), false, "bow tie");
  const square: Point[] = [[0, 0], [4, 0], [4, 4], [0, 4]];
  assert.equal(isValidPolygon([square, [[3, 1], [5, 1], [5, 2]]]), false, "hole crossing");
  assert.equal(isValidPolygon([[[0, 0], [4, 0], [2, 0], [2, 3]]]), false, "spike folding back");
  assert.equal(isValidPolygon([square, [[1, 1], [1, 2], [2, 2]]]), true, "hole inside");
});

Deno.test("tracePolygon: simplified polygons stay valid and close to the mask", () => {
  const rng = new Rng(11);
  let inter = 0, union = 0;
  for (let trial = 0; trial < 20; trial++) {
    const w = 40, h = 40;
    // blobs: discs of random radius, so simplification has curves to work on
    const mask = new Uint8Array(w * h);
    for (let d = 0; d < 4; d++) {
      const cx = rng.float() * w, cy = rng.float() * h, r = 2 + rng.float() * 8;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) mask[y * w + x] = 1;
      }
    }
    for (const pixels of instances(mask, w, h)) {
      const { rings } = tracePolygon(pixels, w, { tolerancePx: 0.5 });
      assert.ok(isValidPolygon(rings));
      const back = rasterizePolygons(new Uint8Array(w * h), w, h, [rings]);
      const want = new Uint8Array(w * h);
      for (const p of pixels) want[p] = 1;
      for (let i = 0; i < want.length; i++) {
        inter += want[i] & back[i];
        union += want[i] | back[i];
      }
    }
  }
  assert.ok(inter / union >= 0.95, `IoU ${inter / union}`);
});
