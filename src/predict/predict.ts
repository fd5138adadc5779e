/**
 * Inference on arbitrary tiles (any size, PNG or TIFF): a trained U-Net applied at the scale it was
 * trained at, its probability map brought back to the tile's own size.
 *
 * The path from an image to probabilities, for a model trained at prepare scale s on tiles of
 * T×T (both from the checkpoint's inference metadata, `src/model/artifact.ts`):
 *
 * 1. Downscale by the integer factor f = 1/s with `downscaleArea` (OpenCV `INTER_AREA`, exactly as
 *    `deno task prepare` did). A side that is not a multiple of f is first padded to one by
 *    repeating its last row/column.
 * 2. Convert to the network input exactly as training did (`toInput` of `src/data/input.ts`:
 *    `v/255`, then `(x − mean)/std` with the training split's statistics when the run used
 *    `--normalize dataset`).
 * 3. Cover the downscaled image with T×T windows: along each axis the windows start at 0, T, 2T, …
 *    and the last one is moved back to end at the border (overlapping its neighbour); a side shorter
 *    than T is padded to T by repeating its last row/column (edge replication). Overlaps are
 *    averaged. A 512×512 tile at scale 0.25 is exactly one 128×128 window.
 * 4. Probability = sigmoid(logit). With `tta: "flips"` every window is also run flipped
 *    horizontally, vertically and both; each prediction is flipped back and the four are averaged.
 * 5. Upsample the map to the tile's size with bilinear interpolation on pixel centres (OpenCV
 *    `INTER_LINEAR` / `align_corners=False` convention: source coordinate `(x + 0.5)·s − 0.5`,
 *    clamped to the border). At scale 1 this is the identity.
 *
 * Every tensor lives inside `tf.tidy`, so inference does not leak.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { RgbImage } from "../data/image.ts";
import { downscaleArea } from "../data/resize.ts";
import { toInput } from "../data/input.ts";

/** Per-channel statistics on the 0–1 scale, as in the prepared manifest. */
export interface Normalize {
  mean: readonly number[];
  std: readonly number[];
}

/** Options of {@linkcode predictProbabilities}. */
export interface PredictProbabilitiesOptions {
  /** Side of the square windows the model sees, at model scale (the manifest's `tileSizePx`). */
  tileSizePx: number;
  /** Training normalisation; `null`/absent = `v/255` only (`--normalize none`). */
  normalize?: Normalize | null;
  /** `"flips"`: average with the h, v and hv flipped predictions. Default `"none"`. */
  tta?: "none" | "flips";
  /** The manifest's `scale` (1, 0.5, 0.25): the image is downscaled by `1/scale`. Default 1. */
  scale?: number;
  /** Windows per forward pass (each counts 4× with flips). Default 4. */
  batchSize?: number;
}

/** Window starts along one axis of length `size` for windows of `win` (see the module doc). */
export function windowStarts(size: number, win: number): number[] {
  if (size <= win) return [0];
  const out: number[] = [];
  for (let s = 0; s + win < size; s += win) out.push(s);
  out.push(size - win);
  return out;
}

/**
 * Pads an RGB image (HWC) to at least `w × h` by repeating its last column and row.
 */
function padEdge(img: RgbImage, w: number, h: number): RgbImage {
  if (img.width >= w && img.height >= h) return img;
  const W = Math.max(w, img.width), H = Math.max(h, img.height);
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(y, img.height - 1);
    for (let x = 0; x < W; x++) {
      const sx = Math.min(x, img.width - 1);
      const s = (sy * img.width + sx) * 3, d = (y * W + x) * 3;
      rgb[d] = img.rgb[s];
      rgb[d + 1] = img.rgb[s + 1];
      rgb[d + 2] = img.rgb[s + 2];
    }
  }
  return { width: W, height: H, rgb };
}

/**
 * Bilinear resize of a one-channel float map with the pixel-centre convention of OpenCV
 * `INTER_LINEAR`: output pixel `x` samples the source at `(x + 0.5)·ratio − 0.5`, clamped, where
 * `ratio` = source pixels per output pixel (`1/factor` here, so padding added before downscaling
 * only trims off the end).
 */
export function upsampleBilinear(
  src: Float32Array,
  srcWidth: number,
  srcHeight: number,
  dstWidth: number,
  dstHeight: number,
  ratio: number,
): Float32Array {
  const dst = new Float32Array(dstWidth * dstHeight);
  const x0s = new Int32Array(dstWidth), x1s = new Int32Array(dstWidth);
  const fxs = new Float32Array(dstWidth);
  for (let x = 0; x < dstWidth; x++) {
    const sx = Math.min(Math.max((x + 0.5) * ratio - 0.5, 0), srcWidth - 1);
    const x0 = Math.floor(sx);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, srcWidth - 1);
    fxs[x] = sx - x0;
  }
  for (let y = 0; y < dstHeight; y++) {
    const sy = Math.min(Math.max((y + 0.5) * ratio - 0.5, 0), srcHeight - 1);
    const y0 = Math.floor(sy), y1 = Math.min(y0 + 1, srcHeight - 1), fy = sy - y0;
    const r0 = y0 * srcWidth, r1 = y1 * srcWidth;
    for (let x = 0; x < dstWidth; x++) {
      const a = src[r0 + x0s[x]], b = src[r0 + x1s[x]];
      const c = src[r1 + x0s[x]], d = src[r1 + x1s[x]];
      const fx = fxs[x];
      const top = a + (b - a) * fx, bottom = c + (d - c) * fx;
      dst[y * dstWidth + x] = top + (bottom - top) * fy;
    }
  }
  return dst;
}

/** One image on its way through {@linkcode inferenceSteps}: its model-scale canvas and sums. */
interface Pending {
  width: number;
  height: number;
  factor: number;
  /** The downscaled image's size. */
  sw: number;
  sh: number;
  canvas: RgbImage;
  acc: Float32Array;
  cnt: Float32Array;
}

/** Steps 1 and 3 of the module doc for one image: downscale, pad to ≥ one window, window starts. */
function prepareImage(
  image: RgbImage,
  opts: PredictProbabilitiesOptions,
): { pending: Pending; windows: [number, number][] } {
  const { width, height } = image;
  if (!(width > 0 && height > 0) || image.rgb.length !== width * height * 3) {
    throw new RangeError(`image: ${image.rgb.length} bytes for ${width}×${height} RGB`);
  }
  const factor = Math.round(1 / (opts.scale ?? 1));
  const win = opts.tileSizePx;
  // 1. downscale (after padding to a multiple of the factor)
  const padded = padEdge(
    image,
    Math.ceil(width / factor) * factor,
    Math.ceil(height / factor) * factor,
  );
  const small: RgbImage = factor === 1 ? padded : {
    width: padded.width / factor,
    height: padded.height / factor,
    rgb: downscaleArea(padded.rgb, padded.width, padded.height, 3, factor),
  };
  // 3. windows over the (edge-padded to ≥ win) model-scale image
  const canvas = padEdge(small, win, win);
  const xs = windowStarts(canvas.width, win), ys = windowStarts(canvas.height, win);
  const windows: [number, number][] = [];
  for (const y of ys) for (const x of xs) windows.push([x, y]);
  const n = canvas.width * canvas.height;
  return {
    pending: {
      width,
      height,
      factor,
      sw: small.width,
      sh: small.height,
      canvas,
      acc: new Float32Array(n),
      cnt: new Float32Array(n),
    },
    windows,
  };
}

/** Averages overlaps, crops to the downscaled image and brings it back to the tile's size. */
function finishImage(p: Pending): Float32Array {
  const { sw, sh, factor, width, height } = p;
  const cw = p.canvas.width;
  const map = new Float32Array(sw * sh);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) map[y * sw + x] = p.acc[y * cw + x] / p.cnt[y * cw + x];
  }
  if (factor === 1) return width === sw && height === sh ? map : cropMap(map, sw, width, height);
  // 5. back to the tile's size
  return upsampleBilinear(map, sw, sh, width, height, 1 / factor);
}

/**
 * The inference steps for a list of images: yields each batch's probability tensor
 * (`[n, win, win, 1]`, owned by the caller, who disposes it) and receives its values back, so that
 * one body serves the synchronous and the asynchronous (`await data()`, better for WebGPU) entry
 * points. Batches take windows across images (at scale 0.25 a 512² tile is one window, so a batch
 * holds several tiles); the result is one map per image, in order.
 */
function* inferenceSteps(
  model: tf.LayersModel,
  images: readonly RgbImage[],
  opts: PredictProbabilitiesOptions,
): Generator<tf.Tensor, Float32Array[], Float32Array> {
  const win = opts.tileSizePx;
  const tta = opts.tta ?? "none";
  const batchSize = Math.max(1, opts.batchSize ?? 4);
  const norm = opts.normalize ? { mean: opts.normalize.mean, std: opts.normalize.std } : {};
  const pending: Pending[] = [];
  const windows: [number, number, number][] = []; // [image, x, y]
  images.forEach((image, i) => {
    const p = prepareImage(image, opts);
    pending.push(p.pending);
    for (const [x, y] of p.windows) windows.push([i, x, y]);
  });

  const px = win * win;
  const windowU8 = new Uint8Array(px * 3);
  for (let start = 0; start < windows.length; start += batchSize) {
    const group = windows.slice(start, start + batchSize);
    const n = group.length;
    // x: [n, win, win, 3] float32, normalised like training
    const x = new Float32Array(n * px * 3);
    group.forEach(([i, wx, wy], k) => {
      const { canvas } = pending[i];
      for (let r = 0; r < win; r++) {
        const s = ((wy + r) * canvas.width + wx) * 3;
        windowU8.set(canvas.rgb.subarray(s, s + win * 3), r * win * 3);
      }
      toInput(windowU8, norm, x, k * px * 3);
    });
    const probs = tf.tidy(() => {
      const input = tf.tensor4d(x, [n, win, win, 3]);
      const prob = (t: tf.Tensor4D) => tf.sigmoid(model.predict(t) as tf.Tensor4D) as tf.Tensor4D;
      if (tta === "none") return prob(input);
      // variants: identity, h (reverse width), v (reverse height), hv; each flipped back.
      const all = prob(tf.concat([
        input,
        tf.reverse(input, 2),
        tf.reverse(input, 1),
        tf.reverse(input, [1, 2]),
      ]));
      const [p0, ph, pv, phv] = tf.split(all, 4, 0) as tf.Tensor4D[];
      return tf.addN([p0, tf.reverse(ph, 2), tf.reverse(pv, 1), tf.reverse(phv, [1, 2])]).div(4);
    });
    // probs: [n, win, win, 1] float32
    const values = yield probs;
    group.forEach(([i, wx, wy], k) => {
      const { acc, cnt, canvas } = pending[i];
      const cw = canvas.width;
      for (let r = 0; r < win; r++) {
        const row = (wy + r) * cw + wx;
        const src = k * px + r * win;
        for (let c = 0; c < win; c++) {
          acc[row + c] += values[src + c];
          cnt[row + c] += 1;
        }
      }
    });
  }
  return pending.map(finishImage);
}

/**
 * Probabilities (0–1) of vessel for every pixel of `image`, at the image's own size, row-major
 * `[height, width]`. See the module doc for scaling, windows, TTA and upsampling.
 *
 * @example
 * ```ts ignore
 * import { loadModel, predictProbabilities } from "./predict.ts";
 * import { readImage } from "../data/image.ts";
 * const m = await loadModel("out/demo/run");
 * const img = await readImage("fixtures/real/0006ff2aa7cd.png");
 * const prob = predictProbabilities(m.model, img, { tileSizePx: m.tileSizePx, scale: m.scale, normalize: m.normalize, tta: "flips" });
 * console.log(prob.length === img.width * img.height);
 * ```
 */
export function predictProbabilities(
  model: tf.LayersModel,
  image: RgbImage,
  opts: PredictProbabilitiesOptions,
): Float32Array {
  const steps = inferenceSteps(model, [image], opts);
  let step = steps.next();
  while (!step.done) step = steps.next(readAndDispose(step.value));
  return step.value[0];
}

/** A batch's values (`dataSync`), the tensor disposed whatever happens. */
function readAndDispose(t: tf.Tensor): Float32Array {
  try {
    return t.dataSync() as Float32Array;
  } finally {
    t.dispose();
  }
}

/** A batch's values (`await data()`, not blocking on GPU backends), the tensor disposed. */
async function readAndDisposeAsync(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/**
 * {@linkcode predictProbabilities} reading each batch with `await data()` instead of `dataSync()`
 * (does not block on GPU backends); same result.
 *
 * @example
 * ```ts ignore
 * const prob = await predictProbabilitiesAsync(m.model, img, m);
 * ```
 */
export async function predictProbabilitiesAsync(
  model: tf.LayersModel,
  image: RgbImage,
  opts: PredictProbabilitiesOptions,
): Promise<Float32Array> {
  return (await predictManyAsync(model, [image], opts))[0];
}

/**
 * {@linkcode predictProbabilitiesAsync} for several images at once: each batch of `batchSize`
 * windows may hold windows of several images (fewer, larger forward passes); one map per image,
 * each equal to what the image alone gives.
 *
 * @example
 * ```ts ignore
 * const [a, b] = await predictManyAsync(m.model, [imgA, imgB], m);
 * ```
 */
export async function predictManyAsync(
  model: tf.LayersModel,
  images: readonly RgbImage[],
  opts: PredictProbabilitiesOptions,
): Promise<Float32Array[]> {
  const steps = inferenceSteps(model, images, opts);
  let step = steps.next();
  while (!step.done) step = steps.next(await readAndDisposeAsync(step.value));
  return step.value;
}

function cropMap(map: Float32Array, mapWidth: number, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    out.set(map.subarray(y * mapWidth, y * mapWidth + width), y * width);
  }
  return out;
}
