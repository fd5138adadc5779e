import assert from "node:assert/strict";
import { labelComponents } from "../data/components.ts";
import { dilatePixels, extractInstances } from "./instances.ts";
import { Rng } from "../rng.ts";

/** Parses a picture: rows of "#" (set) and "." (unset). */
function picture(rows: string[]): { mask: Uint8Array; width: number; height: number } {
  const height = rows.length, width = rows[0].length;
  const mask = new Uint8Array(width * height);
  rows.forEach((r, y) => [...r].forEach((ch, x) => (mask[y * width + x] = ch === "#" ? 1 : 0)));
  return { mask, width, height };
}

Deno.test("labelComponents: 8-connectivity, raster numbering (hand-made)", () => {
  const { mask, width, height } = picture([
    "##..#",
    "..#.#",
    "#....",
    "#..##",
  ]);
  const { labels, count } = labelComponents(mask, width, height);
  // (0,0)-(1,0)-(2,1) diagonal chain = 1; column x=4 rows 0–1 = 2; x=0 rows 2–3 = 3; (3,3)-(4,3) = 4
  assert.equal(count, 4);
  assert.deepEqual(
    Array.from(labels),
    [1, 1, 0, 0, 2, 0, 0, 1, 0, 2, 3, 0, 0, 0, 0, 3, 0, 0, 4, 4],
  );
});

Deno.test("labelComponents: 4-connected rings are one component; empty mask has none", () => {
  const { mask, width, height } = picture(["###", "#.#", "###"]);
  assert.equal(labelComponents(mask, width, height).count, 1);
  assert.equal(labelComponents(new Uint8Array(12), 4, 3).count, 0);
});

Deno.test("dilatePixels: square element, clipped at the border", () => {
  // one pixel at (0, 1) of a 4×3 image, radius 1 → x 0–1, y 0–2 = 6 pixels
  assert.deepEqual(Array.from(dilatePixels(Int32Array.of(4), 4, 3, 1)), [0, 1, 4, 5, 8, 9]);
  // radius 0 is the identity
  assert.deepEqual(Array.from(dilatePixels(Int32Array.of(5), 4, 3, 0)), [5]);
});

Deno.test("dilatePixels matches a brute-force Chebyshev dilation on random sets", () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 30; trial++) {
    const w = 1 + rng.int(20), h = 1 + rng.int(20), r = 1 + rng.int(3);
    const set: number[] = [];
    for (let i = 0; i < w * h; i++) if (rng.float() < 0.05) set.push(i);
    const want: number[] = [];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const hit = set.some((p) => {
          const px = p % w, py = Math.floor(p / w);
          return Math.abs(px - x) <= r && Math.abs(py - y) <= r;
        });
        if (hit) want.push(y * w + x);
      }
    }
    assert.deepEqual(Array.from(dilatePixels(Int32Array.from(set), w, h, r)), want);
  }
});

Deno.test("extractInstances: threshold is strict, min-area before dilation, mean confidence", () => {
  // 5×2 probabilities
  const prob = new Float32Array([
    0.9,
    0.5,
    0.0,
    0.6,
    0.8,
    0.7,
    0.0,
    0.0,
    0.0,
    0.0,
  ]);
  const all = extractInstances(prob, 5, 2, { threshold: 0.5 });
  // 0.5 is not above the threshold: components {0, 5} and {3, 4}
  assert.equal(all.length, 2);
  assert.deepEqual(Array.from(all[0].pixels), [0, 5]);
  assert.ok(Math.abs(all[0].confidence - 0.8) < 1e-6);
  assert.deepEqual(Array.from(all[1].pixels), [3, 4]);
  assert.ok(Math.abs(all[1].confidence - 0.7) < 1e-6);
  assert.equal(extractInstances(prob, 5, 2, { minArea: 3 }).length, 0);
  // dilation by 1 of {3, 4}: x 2–4, y 0–1; confidence over the dilated pixels
  const d = extractInstances(prob, 5, 2, { dilate: 1 });
  assert.deepEqual(Array.from(d[1].pixels), [2, 3, 4, 7, 8, 9]);
  assert.ok(Math.abs(d[1].confidence - (0.6 + 0.8) / 6) < 1e-6);
  assert.equal(extractInstances(new Float32Array(10), 5, 2).length, 0);
});
