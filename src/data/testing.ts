/**
 * Test helper: writes a tiny prepared dataset (manifest.json + images.u8 + masks.u8, the layout of
 * `src/data/prepared.ts`) with a learnable pattern — red discs (vessels, mask 1) on a noisy
 * pale-blue background — so the training tests need no prepare run.
 *
 * @module
 */
import { join } from "node:path";
import type { Manifest, PreparedTile } from "./prepared.ts";
import { Rng } from "../rng.ts";

/** Options of {@linkcode writeTinyPrepared}. */
export interface TinyPreparedOptions {
  train: number;
  val: number;
  sizePx: number;
  seed?: number;
}

/** Writes the dataset into `dir` (created) and returns its manifest. */
export async function writeTinyPrepared(dir: string, opts: TinyPreparedOptions): Promise<Manifest> {
  const { sizePx } = opts;
  const n = opts.train + opts.val;
  const rng = new Rng(opts.seed ?? 1);
  const px = sizePx * sizePx;
  const images = new Uint8Array(n * px * 3);
  const masks = new Uint8Array(n * px);
  const tiles: PreparedTile[] = [];
  const sum = [0, 0, 0], sum2 = [0, 0, 0];
  for (let k = 0; k < n; k++) {
    const discs = Array.from({ length: 2 }, () => ({
      cx: rng.uniform(0, sizePx),
      cy: rng.uniform(0, sizePx),
      r: rng.uniform(sizePx / 10, sizePx / 5),
    }));
    let vesselPx = 0;
    for (let y = 0; y < sizePx; y++) {
      for (let x = 0; x < sizePx; x++) {
        const i = y * sizePx + x;
        const inside = discs.some((d) => (x + 0.5 - d.cx) ** 2 + (y + 0.5 - d.cy) ** 2 <= d.r ** 2);
        const noise = rng.uniform(-20, 20);
        const rgb = inside ? [190, 70, 90] : [150, 160, 210];
        for (let c = 0; c < 3; c++) {
          const v = Math.max(0, Math.min(255, Math.round(rgb[c] + noise)));
          images[(k * px + i) * 3 + c] = v;
          if (k < opts.train) {
            sum[c] += v / 255;
            sum2[c] += (v / 255) ** 2;
          }
        }
        masks[k * px + i] = inside ? 1 : 0;
        if (inside) vesselPx++;
      }
    }
    tiles.push({
      id: k.toString(16).padStart(12, "0"),
      index: k,
      split: k < opts.train ? "train" : "val",
      sourceWsi: 1,
      dataset: 1,
      vesselPx,
      sourceWidth: sizePx,
      sourceHeight: sizePx,
    });
  }
  const cnt = opts.train * px;
  const mean = sum.map((s) => s / cnt) as [number, number, number];
  const std = sum2.map((s, c) => Math.sqrt(s / cnt - mean[c] ** 2)) as [number, number, number];
  const manifest: Manifest = {
    format: "vessel-seg-prepared",
    formatVersion: 1,
    tool: { name: "vessel-seg", version: "test" },
    command: [],
    options: {},
    seed: opts.seed ?? 1,
    scale: 1,
    tileSizePx: sizePx,
    classes: ["blood_vessel"],
    shards: {
      images: "images.u8",
      masks: { blood_vessel: "masks.u8" },
      imageStride: px * 3,
      maskStride: px,
    },
    split: { method: "random", valFraction: opts.val / n },
    stats: { mean, std, computedOn: "train", tiles: opts.train },
    tiles,
    summary: {},
    skipped: [],
    inputHashes: {},
    source: { data: "writeTinyPrepared (src/data/testing.ts): synthetic discs", synthetic: true },
  };
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(join(dir, "images.u8"), images);
  await Deno.writeFile(join(dir, "masks.u8"), masks);
  await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(manifest));
  return manifest;
}
