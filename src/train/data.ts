/**
 * Batches for training and validation, streamed from the prepared shards
 * (`src/data/prepared_io.ts`): only one batch of tiles is in memory at a time, so memory does not
 * grow with the dataset. The epoch order is a Fisher–Yates shuffle from the data-order
 * {@linkcode Rng}; augmentation of the `k`-th sample of epoch `e` draws from its own generator
 * seeded by `(seed, e, k)`, so a run resumed in the middle of an epoch sees exactly the samples
 * it would have seen.
 *
 * @module
 */
import type { PreparedDataset } from "../data/prepared_io.ts";
import type { ChannelStats, PreparedTile } from "../data/prepared.ts";
import { Rng } from "../rng.ts";
import { type AugmentMode, augmentSample } from "./augment.ts";

/** One batch as typed arrays, ready to become tensors. */
export interface Batch {
  tiles: PreparedTile[];
  sizePx: number;
  /** x: [B, S, S, 3] float32, scaled to 0–1 and optionally normalised. */
  x: Float32Array;
  /** y: [B, S, S, 1] float32, 0 or 1. */
  y: Float32Array;
  /** The same masks as bytes, [B, S, S]. */
  maskU8: Uint8Array;
}

/** How pixels become network inputs. */
export interface Normalization {
  /** Per-channel mean and std on the 0–1 scale; `undefined` for `--normalize none` (x = v/255). */
  mean?: readonly number[];
  std?: readonly number[];
}

/** The normalisation for `--normalize` from the manifest's training-split statistics. */
export function normalizationFor(mode: "none" | "dataset", stats: ChannelStats): Normalization {
  if (mode === "none") return {};
  for (let c = 0; c < 3; c++) {
    if (!(stats.std[c] > 0)) {
      throw new RangeError(`manifest stats: std of channel ${c} is ${stats.std[c]}`);
    }
  }
  return { mean: stats.mean, std: stats.std };
}

/**
 * Writes `rgbHWC` (uint8) into `out` at `offset` as float32 `(v/255 − mean)/std` per channel
 * (or `v/255` without statistics).
 */
export function toInput(
  rgbHWC: Uint8Array,
  norm: Normalization,
  out: Float32Array,
  offset: number,
): void {
  const { mean, std } = norm;
  if (mean === undefined || std === undefined) {
    for (let i = 0; i < rgbHWC.length; i++) out[offset + i] = rgbHWC[i] / 255;
    return;
  }
  const s0 = 1 / (255 * std[0]), s1 = 1 / (255 * std[1]), s2 = 1 / (255 * std[2]);
  const m0 = mean[0] / std[0], m1 = mean[1] / std[1], m2 = mean[2] / std[2];
  for (let i = 0; i < rgbHWC.length; i += 3) {
    out[offset + i] = rgbHWC[i] * s0 - m0;
    out[offset + i + 1] = rgbHWC[i + 1] * s1 - m1;
    out[offset + i + 2] = rgbHWC[i + 2] * s2 - m2;
  }
}

/** Mixes integers into a 32-bit seed (splitmix-style finaliser). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** Options of {@linkcode batches}. */
export interface BatchOptions {
  batchSize: number;
  norm: Normalization;
  augment?: AugmentMode;
  /** Seed and epoch for per-sample augmentation generators. */
  seed?: number;
  epoch?: number;
  /** Skip this many batches (resuming inside an epoch). */
  startBatch?: number;
}

/**
 * Yields the tiles in `order`, `batchSize` at a time (the last batch may be smaller), read from
 * the shards, augmented and converted.
 */
export async function* batches(
  ds: PreparedDataset,
  order: readonly PreparedTile[],
  opts: BatchOptions,
): AsyncGenerator<Batch> {
  const sizePx = ds.manifest.tileSizePx;
  const px = sizePx * sizePx;
  const augment = opts.augment ?? "none";
  for (
    let start = (opts.startBatch ?? 0) * opts.batchSize;
    start < order.length;
    start += opts.batchSize
  ) {
    const tiles = order.slice(start, start + opts.batchSize);
    const raw = await ds.readBatch(tiles);
    const b = tiles.length;
    const x = new Float32Array(b * px * 3);
    const y = new Float32Array(b * px);
    let maskU8 = raw.maskU8;
    if (augment !== "none") maskU8 = new Uint8Array(raw.maskU8.length);
    for (let k = 0; k < b; k++) {
      let rgb = raw.rgbHWC.subarray(k * px * 3, (k + 1) * px * 3);
      let mask = raw.maskU8.subarray(k * px, (k + 1) * px);
      if (augment !== "none") {
        const rng = new Rng(mixSeed(opts.seed ?? 0, opts.epoch ?? 0, start + k));
        ({ rgbHWC: rgb, maskU8: mask } = augmentSample(rgb, mask, sizePx, augment, rng));
        maskU8.set(mask, k * px);
      }
      toInput(rgb, opts.norm, x, k * px * 3);
      for (let i = 0; i < px; i++) y[k * px + i] = mask[i] ? 1 : 0;
    }
    yield { tiles, sizePx, x, y, maskU8 };
  }
}

/** The epoch's order: a shuffled copy of `tiles` drawn from `rng` (which advances). */
export function epochOrder(tiles: readonly PreparedTile[], rng: Rng): PreparedTile[] {
  return rng.shuffle(tiles.slice());
}
