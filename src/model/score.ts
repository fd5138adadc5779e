/**
 * The one scoring path of a model on prepared tiles, used by training validation and by
 * `deno task evaluate`: the U-Net applied in batches, probabilities thresholded into binary masks
 * by the rule of `src/metrics/binarize.ts`, one confusion per tile, and the micro / per-image
 * reductions. Batches are streamed from the shards (`src/data/input.ts`, the same conversion and
 * normalisation the trainer used); every tensor lives inside `tf.tidy` or is disposed after its
 * `await`, so memory does not grow with the number of tiles or checkpoints.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { PreparedTile } from "../data/prepared.ts";
import type { PreparedDataset } from "../data/prepared_io.ts";
import { type Confusion, confusion } from "../metrics/confusion.ts";
import { inputBatches, type Normalization } from "../data/input.ts";
import { reduce } from "../metrics/reduce.ts";

/**
 * `1` where `sigmoid(logits) > threshold`, else `0`, as int32: the tensor form of `binarize`
 * (`src/metrics/binarize.ts`). Call inside `tf.tidy`.
 */
export function binarizeLogits(logits: tf.Tensor, threshold: number): tf.Tensor {
  return tf.cast(tf.greater(tf.sigmoid(logits), threshold), "int32");
}

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
  /** When given, the loss of each batch (on the logits) is computed too. */
  lossFn?: (logits: tf.Tensor, targets: tf.Tensor) => tf.Scalar;
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
): AsyncGenerator<
  { tiles: PreparedTile[]; predU8: Uint8Array; maskU8: Uint8Array; loss?: number }
> {
  for await (const b of inputBatches(ds, tiles, { batchSize: opts.batchSize, norm: opts.norm })) {
    const n = b.tiles.length, s = b.sizePx;
    const [pred, loss] = tf.tidy(() => {
      // x: [n, s, s, 3] float32, normalised like training; logits: [n, s, s, 1]
      const x = tf.tensor4d(b.x, [n, s, s, 3]);
      const logits = model.predict(x) as tf.Tensor;
      const l = opts.lossFn?.(logits, tf.tensor4d(b.y, [n, s, s, 1]));
      return [binarizeLogits(logits, opts.threshold), l] as const;
    });
    let p: Int32Array;
    let lossValue: number | undefined;
    try {
      p = (await pred.data()) as Int32Array;
      if (loss) lossValue = (await loss.data())[0];
    } finally {
      tf.dispose([pred, ...(loss ? [loss] : [])]);
    }
    opts.onBatch?.(n);
    yield { tiles: b.tiles, predU8: Uint8Array.from(p), maskU8: b.maskU8, loss: lossValue };
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
  return await perTileOf(model, ds, tiles, opts, (pred, truth) => confusion(pred, truth));
}

/** `fn(prediction, truth)` of every tile, in the order of `tiles` (both `[S, S]` 0/1 views). */
async function perTileOf<T>(
  model: tf.LayersModel,
  ds: PreparedDataset,
  tiles: readonly PreparedTile[],
  opts: PredictOptions,
  fn: (predU8: Uint8Array, maskU8: Uint8Array) => T,
): Promise<T[]> {
  const px = ds.manifest.tileSizePx ** 2;
  const out: T[] = [];
  for await (const b of predictMasks(model, ds, tiles, opts)) {
    for (let k = 0; k < b.tiles.length; k++) {
      out.push(
        fn(b.predU8.subarray(k * px, (k + 1) * px), b.maskU8.subarray(k * px, (k + 1) * px)),
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
  return await perTileOf(model, ds, tiles, opts, (pred) => pred.slice());
}

/** The scores validation reports, for one reduction. */
export interface ValScores {
  dsc: number;
  iou: number;
  sensitivity: number;
  specificity: number;
  precision: number;
}

/** A model's scores on a split: both reductions, the number of tiles and (with a loss) the
 * mean loss over the tiles. */
export interface Validation {
  micro: ValScores;
  perImage: ValScores;
  tiles: number;
  loss?: number;
}

function valScores(scores: Record<string, number>): ValScores {
  const { dsc, iou, sensitivity, specificity, precision } = scores;
  return { dsc, iou, sensitivity, specificity, precision };
}

/**
 * Scores `model` on `tiles` ({@linkcode scoreModel}) and reduces the confusions `micro` and
 * `per-image`: training's validation.
 *
 * @example
 * ```ts ignore
 * const v = await validate(model, ds, ds.tiles("val"), { batchSize: 8, norm: {}, threshold: 0.5 });
 * console.log(v.micro.dsc);
 * ```
 */
export async function validate(
  model: tf.LayersModel,
  ds: PreparedDataset,
  tiles: readonly PreparedTile[],
  opts: PredictOptions,
): Promise<Validation> {
  const px = ds.manifest.tileSizePx ** 2;
  const confusions: Confusion[] = [];
  let lossSum = 0;
  for await (const b of predictMasks(model, ds, tiles, opts)) {
    for (let k = 0; k < b.tiles.length; k++) {
      const view = (a: Uint8Array) => a.subarray(k * px, (k + 1) * px);
      confusions.push(confusion(view(b.predU8), view(b.maskU8)));
    }
    if (b.loss !== undefined) lossSum += b.loss * b.tiles.length;
  }
  return {
    micro: valScores(reduce(confusions, "micro").scores),
    perImage: valScores(reduce(confusions, "per-image").scores),
    tiles: confusions.length,
    ...(opts.lossFn ? { loss: lossSum / confusions.length } : {}),
  };
}
