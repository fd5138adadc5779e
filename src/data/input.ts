/**
 * The model-input pipeline, shared by training, validation, evaluation, prediction and the browser
 * page: how a uint8 RGB tile becomes the float32 tensor the U-Net sees, and batches of prepared
 * tiles in that form. Pure functions over typed arrays; no tfjs here.
 *
 * A pixel value `v` becomes `v/255`, then `(v/255 − mean)/std` per channel when the run used
 * `--normalize dataset` (the training split's statistics from the prepared manifest, or from the
 * checkpoint's inference metadata).
 *
 * @module
 */
import { IGNORE_TARGET, IGNORE_U8 } from "../mask.ts";
import type { PreparedDataset } from "./prepared_io.ts";
import type { ChannelStats, PreparedTile } from "./prepared.ts";

/** How pixels become network inputs. */
export interface Normalization {
  /** Per-channel mean and std on the 0–1 scale; `undefined` for `--normalize none` (x = v/255). */
  mean?: readonly number[];
  std?: readonly number[];
}

/**
 * The normalisation for `--normalize` from the manifest's training-split statistics.
 *
 * @throws {RangeError} when a channel's std is not positive (the caller names the file)
 *
 * @example
 * ```ts
 * import { normalizationFor } from "./input.ts";
 * const n = normalizationFor("dataset", { mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] });
 * console.assert(n.std?.[0] === 0.2);
 * console.assert(normalizationFor("none", { mean: [0, 0, 0], std: [0, 0, 0] }).mean === undefined);
 * ```
 */
export function normalizationFor(
  mode: "none" | "dataset",
  stats: Pick<ChannelStats, "mean" | "std"> | { mean: readonly number[]; std: readonly number[] },
): Normalization {
  if (mode === "none") return {};
  for (let c = 0; c < 3; c++) {
    if (!(stats.std[c] > 0) || !Number.isFinite(stats.std[c])) {
      throw new RangeError(`stats.std[${c}] is ${stats.std[c]}, expected a positive number`);
    }
    if (!Number.isFinite(stats.mean[c])) {
      throw new RangeError(`stats.mean[${c}] is ${stats.mean[c]}, expected a finite number`);
    }
  }
  return { mean: stats.mean, std: stats.std };
}

/**
 * Writes `rgbHWC` (uint8) into `out` at `offset` as float32 `(v/255 − mean)/std` per channel
 * (or `v/255` without statistics).
 *
 * @example
 * ```ts
 * import { toInput } from "./input.ts";
 * const out = new Float32Array(3);
 * toInput(new Uint8Array([255, 0, 51]), {}, out, 0);
 * console.assert(out[0] === 1 && out[1] === 0);
 * ```
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

/** One batch as typed arrays, ready to become tensors. */
export interface Batch {
  tiles: PreparedTile[];
  sizePx: number;
  /** x: [B, S, S, 3] float32, scaled to 0–1 and optionally normalised. */
  x: Float32Array;
  /** y: [B, S, S, 1] float32, 0 or 1 (−1 where the mask says ignore: `src/mask.ts`). */
  y: Float32Array;
  /** The same masks as bytes, [B, S, S]. */
  maskU8: Uint8Array;
}

/**
 * A per-sample change applied before conversion (training's augmentation): gets the tile's
 * pixels and mask and its position in `order`, returns the pixels and mask to use.
 */
export type SampleTransform = (
  rgbHWC: Uint8Array,
  maskU8: Uint8Array,
  position: number,
) => { rgbHWC: Uint8Array; maskU8: Uint8Array };

/** Options of {@linkcode inputBatches}. */
export interface InputBatchOptions {
  batchSize: number;
  norm: Normalization;
  /** Skip this many batches (resuming inside an epoch). */
  startBatch?: number;
  /** Applied to every sample before conversion; default none. */
  transform?: SampleTransform;
}

/**
 * Yields the tiles in `order`, `batchSize` at a time (the last batch may be smaller), read from
 * the shards and converted with {@linkcode toInput}. Only one batch is in memory at a time.
 */
export async function* inputBatches(
  ds: PreparedDataset,
  order: readonly PreparedTile[],
  opts: InputBatchOptions,
): AsyncGenerator<Batch> {
  const sizePx = ds.manifest.tileSizePx;
  const px = sizePx * sizePx;
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
    const maskU8 = opts.transform ? new Uint8Array(raw.maskU8.length) : raw.maskU8;
    for (let k = 0; k < b; k++) {
      let rgb = raw.rgbHWC.subarray(k * px * 3, (k + 1) * px * 3);
      let mask = raw.maskU8.subarray(k * px, (k + 1) * px);
      if (opts.transform) {
        ({ rgbHWC: rgb, maskU8: mask } = opts.transform(rgb, mask, start + k));
        maskU8.set(mask, k * px);
      }
      toInput(rgb, opts.norm, x, k * px * 3);
      for (let i = 0; i < px; i++) {
        y[k * px + i] = mask[i] === IGNORE_U8 ? IGNORE_TARGET : mask[i] ? 1 : 0;
      }
    }
    yield { tiles, sizePx, x, y, maskU8 };
  }
}
