import assert from "node:assert/strict";
import { Rng } from "../rng.ts";
import { readImage } from "./image.ts";
import { rasterizePolygons } from "./rasterize.ts";
import { fillRingWindow, makeStain, renderTile, type SynthTile } from "./synth.ts";

const SIZE = 512;

function render(seed: number, opts = {}): SynthTile {
  const rng = new Rng(seed);
  return renderTile(rng, makeStain(new Rng(seed % 3)), opts);
}

function vesselMask(tile: SynthTile): Uint8Array {
  const mask = new Uint8Array(SIZE * SIZE);
  const vessels = tile.annotations.filter((a) => a.type === "blood_vessel").map((a) => a.rings);
  return rasterizePolygons(mask, SIZE, SIZE, vessels);
}

Deno.test("renderTile: same seed gives identical pixels and annotations, another seed differs", () => {
  const a = render(11), b = render(11), c = render(12);
  assert.deepEqual(a.rgb, b.rgb);
  assert.deepEqual(a.annotations, b.annotations);
  assert.notDeepEqual(a.rgb, c.rgb);
});

Deno.test("renderTile: annotations are integer rings of ≥ 3 points inside the tile", () => {
  for (let seed = 0; seed < 4; seed++) {
    const tile = render(seed, { glomerulus: true, forceHole: true, unsure: true });
    const types = new Set(tile.annotations.map((a) => a.type));
    assert.ok(types.has("glomerulus") && types.has("unsure") && types.has("blood_vessel"));
    for (const a of tile.annotations) {
      for (const ring of a.rings) {
        assert.ok(ring.length >= 3, `ring of ${ring.length} points`);
        for (const [x, y] of ring) {
          assert.ok(Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0);
          assert.ok(x < SIZE && y < SIZE);
        }
      }
    }
  }
});

Deno.test("renderTile: forceHole gives a vessel whose second ring lies inside its outline", () => {
  const tile = render(5, { forceHole: true, vesselFraction: 0.06 });
  const holed = tile.annotations.filter((a) => a.type === "blood_vessel" && a.rings.length === 2);
  assert.equal(holed.length >= 1, true);
  const outline = new Uint8Array(SIZE * SIZE), hole = new Uint8Array(SIZE * SIZE);
  rasterizePolygons(outline, SIZE, SIZE, [[holed[0].rings[0]]]);
  rasterizePolygons(hole, SIZE, SIZE, [[holed[0].rings[1]]]);
  let holePx = 0;
  for (let i = 0; i < hole.length; i++) {
    if (hole[i]) {
      holePx++;
      assert.equal(outline[i], 1, "hole pixel outside the outline");
    }
  }
  assert.ok(holePx > 10);
});

Deno.test("renderTile: vesselFraction 0 draws no blood vessel", () => {
  for (let seed = 0; seed < 3; seed++) {
    const tile = render(seed, { vesselFraction: 0 });
    assert.equal(tile.annotations.filter((a) => a.type === "blood_vessel").length, 0);
  }
});

Deno.test("renderTile: vessel pixel fraction is 1–8 % on average, like the real data", () => {
  let sum = 0;
  const n = 6;
  for (let seed = 0; seed < n; seed++) {
    const mask = vesselMask(render(100 + seed));
    let on = 0;
    for (const v of mask) on += v;
    sum += on / mask.length;
  }
  const mean = sum / n;
  assert.ok(mean >= 0.01 && mean <= 0.08, `mean vessel fraction ${mean}`);
});

Deno.test("fillRingWindow gives exactly the prepare rasteriser's mask (pixel centres, boundary included)", () => {
  let checked = 0;
  for (let seed = 0; seed < 3; seed++) {
    const tile = render(200 + seed, { forceHole: true, glomerulus: true });
    for (const a of tile.annotations) {
      for (const ring of a.rings) {
        const ours = new Uint8Array(SIZE * SIZE), ref = new Uint8Array(SIZE * SIZE);
        fillRingWindow(ring, ours, 0, 0, SIZE, SIZE, 1);
        rasterizePolygons(ref, SIZE, SIZE, [[ring]]);
        assert.deepEqual(ours, ref);
        checked++;
      }
    }
  }
  // a window offset: the same ring filled into a sub-window equals the crop of the full mask
  const ring: [number, number][] = [[10, 3], [30, 3], [40, 20], [22, 35], [5, 20]];
  const full = new Uint8Array(64 * 64), win = new Uint8Array(20 * 25);
  rasterizePolygons(full, 64, 64, [[ring]]);
  fillRingWindow(ring, win, 8, 5, 20, 25, 1);
  for (let y = 0; y < 25; y++) {
    for (let x = 0; x < 20; x++) assert.equal(win[y * 20 + x], full[(y + 5) * 64 + x + 8]);
  }
  assert.ok(checked > 10);
});

Deno.test("renderTile: each vessel is drawn up to its polygon (a dark wall on the mask's border)", () => {
  // Vessel lumens are pale (that is what makes Otsu fail) and the wall is PAS-positive, so the
  // mask's 1-px border is darker on average than its interior; a shifted or shrunk drawing would
  // put pale lumen or stroma on the border instead.
  const tile = render(300, { vesselFraction: 0.06 });
  const mask = vesselMask(tile);
  let borderSum = 0, borderN = 0, innerSum = 0, innerN = 0;
  for (let y = 1; y < SIZE - 1; y++) {
    for (let x = 1; x < SIZE - 1; x++) {
      const i = y * SIZE + x;
      if (!mask[i]) continue;
      const g = tile.rgb[3 * i + 1];
      const edge = !mask[i - 1] || !mask[i + 1] || !mask[i - SIZE] || !mask[i + SIZE];
      if (edge) (borderSum += g, borderN++);
      else (innerSum += g, innerN++);
    }
  }
  assert.ok(borderN > 0 && innerN > 0);
  assert.ok(
    borderSum / borderN < innerSum / innerN - 20,
    `border G ${borderSum / borderN}, inner G ${innerSum / innerN}`,
  );
});

Deno.test("renderTile: per-channel mean and std over a batch are within ±15 % of the real tile's", async () => {
  const real = await readImage(
    new URL("../../fixtures/real/0006ff2aa7cd.png", import.meta.url).pathname,
  );
  const stats = (rgbs: Uint8Array[]) => {
    const sum = [0, 0, 0], sq = [0, 0, 0];
    let n = 0;
    for (const rgb of rgbs) {
      for (let i = 0; i < rgb.length; i += 3) {
        for (let c = 0; c < 3; c++) {
          sum[c] += rgb[i + c];
          sq[c] += rgb[i + c] * rgb[i + c];
        }
      }
      n += rgb.length / 3;
    }
    const mean = sum.map((s) => s / n);
    return { mean, std: sq.map((s, c) => Math.sqrt(s / n - mean[c] * mean[c])) };
  };
  const want = stats([real.rgb]);
  const batch: Uint8Array[] = [];
  for (let seed = 0; seed < 8; seed++) batch.push(render(400 + seed).rgb);
  const got = stats(batch);
  for (let c = 0; c < 3; c++) {
    for (const key of ["mean", "std"] as const) {
      const rel = got[key][c] / want[key][c] - 1;
      assert.ok(
        Math.abs(rel) <= 0.15,
        `channel ${"RGB"[c]} ${key}: synthetic ${got[key][c].toFixed(1)}, real ${
          want[key][c].toFixed(1)
        } (${(100 * rel).toFixed(1)} %)`,
      );
    }
  }
});
