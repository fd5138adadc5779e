/**
 * Batch norm in training mode and ReLU's gradient as single operations, so that a backend with
 * fused kernels for them (this project's wasm kernels, `src/runtime/kernels/wasm_ops.ts`) runs two
 * or three passes over the data where tfjs's composition — `tf.moments`, `tf.batchNorm` and
 * their automatic gradients — runs about fifteen kernels per layer. Backends without them compute
 * the same formulas from tfjs ops.
 *
 * {@linkcode useFusedTrainingBatchNorm} makes a `tf.layers.batchNormalization` layer use
 * {@linkcode batchNormTrain} when training; inference, the layer's config and its weights are
 * unchanged, so checkpoints stay plain LayersModel files.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Names of the fused kernels a backend may register (this project's own kernel names). */
export const FUSED_KERNELS = {
  /** inputs x, scale, offset; attr varianceEpsilon; outputs [y, mean, variance] */
  batchNormTrain: "VesselSegBatchNormTrain",
  /** inputs dy, x, mean, variance, scale; attr varianceEpsilon; outputs [dx, dscale, doffset] */
  batchNormTrainGrad: "VesselSegBatchNormTrainGrad",
  /** inputs dy, x; output dx = x > 0 ? dy : 0 */
  reluGrad: "VesselSegReluGrad",
} as const;

/**
 * Whether the fused kernels take a tensor of this dtype and shape: float32, rank ≥ 2, channels (the
 * last axis) a multiple of 4, not empty. Kernels that register {@linkcode FUSED_KERNELS} accept
 * exactly these.
 */
export function fusedKernelsTake(x: { dtype: string; shape: readonly number[] }): boolean {
  const c = x.shape[x.shape.length - 1];
  return x.dtype === "float32" && x.shape.length >= 2 && c % 4 === 0 &&
    x.shape.every((d) => d > 0);
}

/** Whether the active backend has kernel `name` and it takes `x`. */
function fused(name: string, x: tf.Tensor): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined && fusedKernelsTake(x);
}

/** Batch norm's output and batch statistics. */
export interface BatchNormTrainResult {
  /** (x − mean)·γ/√(variance + ε) + β */
  y: tf.Tensor;
  /** Batch mean per channel, `[C]`. */
  mean: tf.Tensor1D;
  /** Batch (biased) variance per channel, `[C]`, as `tf.moments` gives it. */
  variance: tf.Tensor1D;
}

/**
 * Batch norm with batch statistics over every axis but the last (channels-last), differentiable
 * with respect to `x`, `gamma` and `beta` — including the gradient through the statistics, in
 * closed form: with r = 1/√(variance + ε), N values per channel, S1 = Σ dy, S2 = Σ dy·(x − mean):
 * dβ = S1, dγ = r·S2, dx = γr·dy − γr³·S2/N·(x − mean) − γr·S1/N. The same values as
 * `tf.batchNorm(x, …tf.moments(x, axes))` and its automatic gradient, up to rounding.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { batchNormTrain } from "./fused_ops.ts";
 * const { y, mean, variance } = batchNormTrain(
 *   tf.tensor2d([[1, 10], [3, 30]]), tf.ones([2]), tf.zeros([2]), 0);
 * console.assert(Math.abs(y.dataSync()[0] + 1) < 1e-6); // (1 − 2) / 1
 * tf.dispose([y, mean, variance]);
 * ```
 */
export function batchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): BatchNormTrainResult {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const stats: tf.Tensor[] = [];
  const op = tf.customGrad((xx, g, b, save) => {
    const [x_, g_, b_] = [xx, g, b] as tf.Tensor[];
    let y: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor;
    if (fused(FUSED_KERNELS.batchNormTrain, x_)) {
      [y, mean, variance] = tf.engine().runKernel(
        FUSED_KERNELS.batchNormTrain,
        { x: x_, scale: g_, offset: b_ },
        { varianceEpsilon: epsilon },
      ) as tf.Tensor[];
    } else {
      ({ mean, variance } = tf.moments(x_, axes));
      y = tf.batchNorm(x_, mean, variance, b_, g_, epsilon);
    }
    stats.push(tf.keep(mean), tf.keep(variance));
    (save as (t: tf.Tensor[]) => void)([x_, mean, variance, g_]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sm, sv, sg] = saved;
        if (fused(FUSED_KERNELS.batchNormTrainGrad, sx)) {
          return tf.engine().runKernel(
            FUSED_KERNELS.batchNormTrainGrad,
            { dy, x: sx, mean: sm, variance: sv, scale: sg },
            { varianceEpsilon: epsilon },
          ) as tf.Tensor[];
        }
        const n = sx.size / sx.shape[sx.rank - 1];
        const r = tf.rsqrt(tf.add(sv, epsilon));
        const xc = tf.sub(sx, sm);
        const s1 = tf.sum(dy, axes);
        const s2 = tf.sum(tf.mul(dy, xc), axes);
        const gr = tf.mul(sg, r);
        const dx = tf.add(
          tf.add(tf.mul(dy, gr), tf.mul(xc, tf.mul(tf.mul(gr, tf.square(r)), tf.div(s2, -n)))),
          tf.mul(gr, tf.div(s1, -n)),
        );
        return [dx, tf.mul(r, s2), s1];
      },
    };
  });
  const y = op(x, gamma, beta);
  return { y, mean: stats[0] as tf.Tensor1D, variance: stats[1] as tf.Tensor1D };
}

/**
 * ReLU's gradient dx = x > 0 ? dy : 0 (tfjs: dy · step(x)), in one fused kernel where the
 * backend has it.
 */
export function reluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (fused(FUSED_KERNELS.reluGrad, x) && dy.dtype === "float32") {
    return tf.engine().runKernel(FUSED_KERNELS.reluGrad, { dy, x }, {}) as tf.Tensor;
  }
  return tf.mul(dy, tf.cast(tf.step(x), "float32"));
}

/** What {@linkcode useFusedTrainingBatchNorm} reads of a tfjs-layers `BatchNormalization`. */
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: { read(): tf.Tensor };
  beta: { read(): tf.Tensor };
  movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

/**
 * Makes a `tf.layers.batchNormalization` layer (channels-last, with scale and center) compute
 * training-mode calls with {@linkcode batchNormTrain}, then update its moving mean and variance
 * as PyTorch's `BatchNorm2d` does (and milesial's U-Net with it): moving ← moving − (moving −
 * batch)·(1 − momentum), with the *unbiased* batch variance (× n/(n − 1), n the values per
 * channel) for the moving variance — tfjs-layers uses the biased one. The normalisation itself
 * uses the biased variance, as both do. Checked against a PyTorch golden
 * (`fixtures/torch/bn_golden.json`). Inference calls and other configurations use the layer's own
 * code.
 */
export function useFusedTrainingBatchNorm(layer: tf.layers.Layer): void {
  const l = layer as unknown as BatchNormLayer;
  const stockCall = l.call.bind(layer);
  l.call = (inputs, kwargs) => {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const training = (kwargs?.training as boolean | undefined) ?? false;
    const lastAxis = l.axis === -1 || l.axis === input.rank - 1;
    if (
      !training || !lastAxis || !l.center || !l.scale ||
      Array.isArray(inputs) && inputs.length !== 1
    ) {
      return stockCall(inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTrain(input, l.gamma.read(), l.beta.read(), l.epsilon);
      const n = input.size / input.shape[input.rank - 1];
      const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
      for (const [moving, batch] of [[l.movingMean, mean], [l.movingVariance, unbiased]] as const) {
        tf.tidy(() => {
          const orig = moving.read();
          moving.write(tf.sub(orig, tf.mul(tf.sub(orig, batch), 1 - l.momentum)));
        });
      }
      tf.dispose([mean, variance, unbiased]);
      return y;
    });
  };
}
