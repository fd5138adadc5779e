/**
 * Inference for evaluation: a trained U-Net applied to prepared tiles in batches, probabilities
 * thresholded into binary masks, and one confusion per tile. Batches are streamed from the shards
 * (`src/train/data.ts` `batches`, the same conversion and normalisation the trainer used), every
 * tensor lives inside `tf.tidy` or is disposed after its `await`, so memory does not grow with the
 * number of tiles or checkpoints.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { PreparedTile } from "../data/prepared.ts";
import type { PreparedDataset } from "../data/prepared_io.ts";
import { type Confusion, confusion } from "../metrics/confusion.ts";
import { batches, type Normalization } from "../train/data.ts";

/** Options of {@linkcode predictMasks} and {@linkcode scoreModel}. */
export interface PredictOptions {
  /** Tiles per forward pass. */
  batchSize: number;
  /** The normalisation the model was trained with. */
  norm: Normalization;
  /** A pixel is vessel when its probability is above this. */
  threshold: number;
  /** Called after each batch with the number of tiles in it. */
  onBatch?: (tiles: number) => void;
}

/**
 * Predicts binary masks for `tiles` and yields them batch by batch: `predU8` is `[n, S, S]`
 * (0/1), `maskU8` the truth in the same layout, `rgbHWC` absent (use `ds.read` for pictures).
 *
 * @example
 * ```ts ignore
 * for await (const b of predictMasks(model, ds, ds.tiles("val"), { batchSize: 8, norm: {}, threshold: 0.5 })) {
 *   console.log(b.tiles.length, b.predU8.length);
 * }
 * ```
 */
export async function* predictMasks(
  model: tf.LayersModel,
  ds: PreparedDataset,
  tiles: readonly PreparedTile[],
  opts: PredictOptions,
): AsyncGenerator<{ tiles: PreparedTile[]; predU8: Uint8Array; maskU8: Uint8Array }> {
  for await (const b of batches(ds, tiles, { batchSize: opts.batchSize, norm: opts.norm })) {
    const n = b.tiles.length, s = b.sizePx;
    const pred = tf.tidy(() => {
      // x: [n, s, s, 3] float32, normalised like training; logits: [n, s, s, 1]
      const x = tf.tensor4d(b.x, [n, s, s, 3]);
      const logits = model.predict(x) as tf.Tensor;
      return tf.cast(tf.greater(tf.sigmoid(logits), opts.threshold), "int32");
    });
    let p: Int32Array;
    try {
      p = (await pred.data()) as Int32Array;
    } finally {
      pred.dispose();
    }
    opts.onBatch?.(n);
    yield { tiles: b.tiles, predU8: Uint8Array.from(p), maskU8: b.maskU8 };
  }
}

/**
 * Scores `model` on `tiles`: one confusion per tile, in the order of `tiles`.
 *
 * @example
 * ```ts ignore
 * const confusions = await scoreModel(model, ds, ds.tiles("val"), { batchSize: 8, norm: {}, threshold: 0.5 });
 * ```
 */
export async function scoreModel(
  model: tf.LayersModel,
  ds: PreparedDataset,
  tiles: readonly PreparedTile[],
  opts: PredictOptions,
): Promise<Confusion[]> {
  const px = ds.manifest.tileSizePx ** 2;
  const out: Confusion[] = [];
  for await (const b of predictMasks(model, ds, tiles, opts)) {
    for (let k = 0; k < b.tiles.length; k++) {
      out.push(
        confusion(b.predU8.subarray(k * px, (k + 1) * px), b.maskU8.subarray(k * px, (k + 1) * px)),
      );
    }
  }
  return out;
}

/** Predicted masks of a few tiles (for overlays), `[S, S]` 0/1 each, in the order given. */
export async function predictFew(
  model: tf.LayersModel,
  ds: PreparedDataset,
  tiles: readonly PreparedTile[],
  opts: PredictOptions,
): Promise<Uint8Array[]> {
  const px = ds.manifest.tileSizePx ** 2;
  const out: Uint8Array[] = [];
  for await (const b of predictMasks(model, ds, tiles, opts)) {
    for (let k = 0; k < b.tiles.length; k++) out.push(b.predU8.slice(k * px, (k + 1) * px));
  }
  return out;
}
