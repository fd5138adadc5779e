/**
 * `deno bench -A bench/prepare_bench.ts` — rasterising (polygons/s) and the whole `prepare`
 * pipeline (tiles/s). Data: `PREPARE_BENCH_DATA=DIR` (a Kaggle layout, e.g. made by
 * `deno task synth --out DIR --tiles 100 --seed 1`), else 20 synthetic tiles made here.
 * The Python side-by-side is `bench/prepare_py.py` (Pillow + cv2.fillPoly + PNG write).
 *
 * @module
 */
import { join } from "node:path";
import { readPolygons } from "../src/data/kaggle.ts";
import { prepare } from "../src/data/prepare.ts";
import { rasterizePolygons, type Ring } from "../src/data/rasterize.ts";
import { writeSynthDataset } from "../src/data/synth_dataset.ts";

let data = Deno.env.get("PREPARE_BENCH_DATA");
if (!data) {
  data = join(await Deno.makeTempDir(), "kaggle");
  await writeSynthDataset(data, { tiles: 20, seed: 1, testTiles: 0 });
}
const perTile: Ring[][][] = [];
let polygons = 0;
for await (const t of readPolygons(join(data, "polygons.jsonl"))) {
  const rings = t.annotations.filter((a) => a.type === "blood_vessel").map((a) => a.rings);
  perTile.push(rings);
  polygons += rings.length;
}
console.log(
  `bench data: ${data}, ${perTile.length} annotated tiles, ${polygons} blood_vessel polygons`,
);

const SIZE = 512;
const mask = new Uint8Array(SIZE * SIZE);
const scratch = new Uint8Array(SIZE * SIZE);

/** Baseline: per-pixel even-odd point-in-polygon over each outline's bounding box. */
function naiveFill(m: Uint8Array, ring: Ring): void {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of ring) {
    x0 = Math.min(x0, x), x1 = Math.max(x1, x), y0 = Math.min(y0, y), y1 = Math.max(y1, y);
  }
  for (let y = Math.max(0, y0); y <= Math.min(SIZE - 1, y1); y++) {
    for (let x = Math.max(0, x0); x <= Math.min(SIZE - 1, x1); x++) {
      let inside = false;
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i], [xj, yj] = ring[j];
        if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
      if (inside) m[y * SIZE + x] = 1;
    }
  }
}

Deno.bench({
  name: `naive point-in-polygon, ${polygons} polygons`,
  group: "rasterize",
  baseline: true,
  fn() {
    for (const rings of perTile) {
      mask.fill(0);
      for (const r of rings) naiveFill(mask, r[0]);
    }
  },
});

Deno.bench({
  name: `scanline + active edge table, ${polygons} polygons`,
  group: "rasterize",
  fn() {
    for (const rings of perTile) {
      mask.fill(0);
      rasterizePolygons(mask, SIZE, SIZE, rings, { scratch });
    }
  },
});

const outRoot = await Deno.makeTempDir();
let run = 0;
Deno.bench({
  name: `prepare end to end, ${perTile.length} tiles, scale 1`,
  group: "prepare",
  baseline: true,
  n: 3,
  warmup: 1,
  async fn(b) {
    const out = join(outRoot, `s1-${run++}`);
    b.start();
    await prepare({ data: data!, out, quiet: true });
    b.end();
    await Deno.remove(out, { recursive: true });
  },
});

Deno.bench({
  name: `prepare end to end, ${perTile.length} tiles, scale 0.25`,
  group: "prepare",
  n: 3,
  warmup: 1,
  async fn(b) {
    const out = join(outRoot, `s4-${run++}`);
    b.start();
    await prepare({ data: data!, out, scale: 0.25, quiet: true });
    b.end();
    await Deno.remove(out, { recursive: true });
  },
});
