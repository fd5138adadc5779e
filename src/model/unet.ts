/**
 * The U-Net of Ronneberger et al. 2015 as ported to PyTorch by milesial (the port the reference
 * study used), built as a functional `tf.LayersModel` so checkpoints are plain TensorFlow.js
 * LayersModel files (`model.json` + `weights.bin`).
 *
 * Per level: two 3×3 convolutions (padding same; no bias when batch norm follows) each followed by
 * batch norm and ReLU; 2×2 max-pool down; 2×2 transposed convolution (stride 2) up; the skip tensor
 * is concatenated before the upsampled one (milesial: `torch.cat([x2, x1], dim=1)`); a final 1×1
 * convolution gives one logit channel. Channels-last (NHWC) throughout.
 *
 * In training, batch norm runs as one fused operation (`./fused_ops.ts`: same values, far fewer
 * passes over the data); the layers and their weights are tfjs's own.
 *
 * Initialisation: Kaiming-normal, fan-in (`std = sqrt(2 / fanIn)`, not truncated, like
 * `torch.nn.init.kaiming_normal_`), drawn in JS from {@linkcode Rng} seeded per layer from the
 * config seed and the layer name, so the same config gives bit-identical weights on every backend.
 * Biases start at 0, batch-norm gamma 1 and beta 0.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng.ts";
import { useFusedTrainingBatchNorm } from "../runtime/fused_ops.ts";

/** Architecture of a U-Net. */
export interface UNetConfig {
  /** Number of 2×2 down-steps (milesial: 4). Input sides must be multiples of `2^depth`. */
  depth: number;
  /** Filters of the first level; level `k` has `baseFilters·2^k` (milesial: 64). */
  baseFilters: number;
  /** Batch norm after every 3×3 convolution (milesial: on). */
  batchNorm: boolean;
  /** Seed for the weight initialisation. */
  seed: number;
}

/** PyTorch `BatchNorm2d` defaults: momentum 0.1 (tfjs counts the other way: 0.9), eps 1e-5. */
const BN_MOMENTUM = 0.9;
const BN_EPSILON = 1e-5;

function checkConfig(cfg: UNetConfig): void {
  if (!Number.isInteger(cfg.depth) || cfg.depth < 1 || cfg.depth > 8) {
    throw new RangeError(`U-Net depth must be an integer in 1..8, got ${cfg.depth}`);
  }
  if (!Number.isInteger(cfg.baseFilters) || cfg.baseFilters < 1) {
    throw new RangeError(`U-Net baseFilters must be a positive integer, got ${cfg.baseFilters}`);
  }
  if (!Number.isFinite(cfg.seed)) {
    throw new RangeError(`U-Net seed must be finite, got ${cfg.seed}`);
  }
}

/**
 * Builds the U-Net. Input `[N, H, W, 3]` float32 (NHWC) with `H` and `W` multiples of
 * `2^depth` (see {@linkcode checkInputSize}); output `[N, H, W, 1]` logits.
 *
 * @example
 * ```ts
 * import { buildUNet, countParams } from "./unet.ts";
 * const model = buildUNet({ depth: 2, baseFilters: 4, batchNorm: true, seed: 0 });
 * console.assert(countParams(model) > 0);
 * model.dispose();
 * ```
 */
export function buildUNet(cfg: UNetConfig): tf.LayersModel {
  checkConfig(cfg);
  const { depth, baseFilters, batchNorm } = cfg;
  // x: [N, H, W, 3] float32
  const input = tf.input({ shape: [null, null, 3], dtype: "float32", name: "image" });

  const doubleConv = (x: tf.SymbolicTensor, filters: number, prefix: string) => {
    for (const k of [1, 2]) {
      x = tf.layers.conv2d({
        name: `${prefix}_conv${k}`,
        filters,
        kernelSize: 3,
        padding: "same",
        useBias: !batchNorm,
        kernelInitializer: "zeros",
        biasInitializer: "zeros",
      }).apply(x) as tf.SymbolicTensor;
      if (batchNorm) {
        const bn = tf.layers.batchNormalization({
          name: `${prefix}_bn${k}`,
          axis: -1,
          momentum: BN_MOMENTUM,
          epsilon: BN_EPSILON,
        });
        useFusedTrainingBatchNorm(bn);
        x = bn.apply(x) as tf.SymbolicTensor;
      }
      x = tf.layers.reLU({ name: `${prefix}_relu${k}` }).apply(x) as tf.SymbolicTensor;
    }
    return x;
  };

  // Encoder: level k has baseFilters·2^k channels at 1/2^k resolution.
  const skips: tf.SymbolicTensor[] = [];
  let x = doubleConv(input, baseFilters, "enc0");
  for (let k = 1; k <= depth; k++) {
    skips.push(x);
    x = tf.layers.maxPooling2d({ name: `down${k}_pool`, poolSize: 2, strides: 2 })
      .apply(x) as tf.SymbolicTensor;
    x = doubleConv(x, baseFilters * 2 ** k, `down${k}`);
  }
  // Decoder: milesial `Up(in, out, bilinear=False)`: ConvTranspose2d(in, in // 2, 2, stride 2),
  // concat [skip, up], DoubleConv(in, out).
  for (let k = depth - 1; k >= 0; k--) {
    const filters = baseFilters * 2 ** k;
    const skip = skips[k];
    const up = tf.layers.conv2dTranspose({
      name: `up${k}_tconv`,
      filters,
      kernelSize: 2,
      strides: 2,
      padding: "valid",
      useBias: true,
      kernelInitializer: "zeros",
      biasInitializer: "zeros",
    }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.concatenate({ name: `up${k}_concat`, axis: -1 })
      .apply([skip, up]) as tf.SymbolicTensor;
    x = doubleConv(x, filters, `up${k}`);
  }
  // logits: [N, H, W, 1]
  const logits = tf.layers.conv2d({
    name: "out_conv",
    filters: 1,
    kernelSize: 1,
    padding: "same",
    useBias: true,
    kernelInitializer: "zeros",
    biasInitializer: "zeros",
  }).apply(x) as tf.SymbolicTensor;

  const model = tf.model({ inputs: input, outputs: logits, name: "unet" });
  initKaiming(model, cfg.seed);
  return model;
}

/** FNV-1a of a string, for per-layer seeds. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The seed of layer `name` under config seed `seed`. */
export function layerSeed(seed: number, name: string): number {
  return ((Math.floor(seed) >>> 0) ^ hashName(name)) >>> 0;
}

/**
 * Overwrites every convolution kernel with Kaiming-normal (fan-in) values. Fan-in is the number
 * of inputs that feed one output: `kh·kw·Cin` for a convolution, `Cin` for the 2×2 stride-2
 * transposed convolution (each output pixel sees one input pixel per input channel).
 */
function initKaiming(model: tf.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== "Conv2D" && cls !== "Conv2DTranspose") continue;
    const weights = layer.getWeights();
    const kernel = weights[0];
    const shape = kernel.shape as number[];
    // Conv2D kernel: [kh, kw, Cin, Cout]; Conv2DTranspose kernel: [kh, kw, Cout, Cin].
    const [kh, kw, c2, c3] = shape as [number, number, number, number];
    const fanIn = cls === "Conv2D" ? kh * kw * c2 : c3;
    const std = Math.sqrt(2 / fanIn);
    const rng = new Rng(layerSeed(seed, layer.name));
    const values = new Float32Array(kernel.size);
    for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
    const fresh = [tf.tensor(values, shape, "float32"), ...weights.slice(1)];
    layer.setWeights(fresh);
    fresh[0].dispose();
  }
}

/**
 * Trainable parameters (what PyTorch's `sum(p.numel() for p in model.parameters())` counts:
 * batch-norm running mean/variance are buffers there and are left out here too).
 */
export function countParams(model: tf.LayersModel): number {
  let n = 0;
  for (const w of model.trainableWeights) {
    n += (w.shape as number[]).reduce((a: number, b: number) => a * b, 1);
  }
  return n;
}

/**
 * Throws a `RangeError` unless `heightPx` and `widthPx` are positive multiples of `2^depth`
 * (each down-step halves the side; the skip concatenation needs exact halves).
 */
export function checkInputSize(heightPx: number, widthPx: number, depth: number): void {
  const m = 2 ** depth;
  if (!(heightPx > 0 && widthPx > 0 && heightPx % m === 0 && widthPx % m === 0)) {
    throw new RangeError(
      `U-Net of depth ${depth} needs input sides that are multiples of ${m}, got ${heightPx}×${widthPx}`,
    );
  }
}
