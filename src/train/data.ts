/**
 * Batches for training and validation, streamed from the prepared shards
 * (`src/data/prepared_io.ts`, converted by `src/data/input.ts`): only one batch of tiles is in memory at a time, so memory does not
 * grow with the dataset. The epoch order is a Fisher–Yates shuffle from the data-order
 * {@linkcode Rng}; augmentation of the `k`-th sample of epoch `e` draws from its own generator
 * seeded by `(seed, e, k)`, so a run resumed in the middle of an epoch sees exactly the samples
 * it would have seen.
 *
 * @module
 */
import { type Batch, inputBatches, type Normalization } from "../data/input.ts";
import type { PreparedDataset } from "../data/prepared_io.ts";
import type { PreparedTile } from "../data/prepared.ts";
import { Rng } from "../rng.ts";
import { type AugmentMode, augmentSample } from "./augment.ts";

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
 * Training batches: {@linkcode inputBatches} with the `k`-th sample of epoch `e` augmented by its
 * own generator seeded by `(seed, e, k)`.
 */
export function batches(
  ds: PreparedDataset,
  order: readonly PreparedTile[],
  opts: BatchOptions,
): AsyncGenerator<Batch> {
  const augment = opts.augment ?? "none";
  const sizePx = ds.manifest.tileSizePx;
  return inputBatches(ds, order, {
    batchSize: opts.batchSize,
    norm: opts.norm,
    startBatch: opts.startBatch,
    transform: augment === "none" ? undefined : (rgb, mask, position) =>
      augmentSample(
        rgb,
        mask,
        sizePx,
        augment,
        new Rng(mixSeed(opts.seed ?? 0, opts.epoch ?? 0, position)),
      ),
  });
}

/** The epoch's order: a shuffled copy of `tiles` drawn from `rng` (which advances). */
export function epochOrder(tiles: readonly PreparedTile[], rng: Rng): PreparedTile[] {
  return rng.shuffle(tiles.slice());
}
