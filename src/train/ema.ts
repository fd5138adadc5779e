/**
 * An exponential moving average of a model's weights (`--ema DECAY`), updated after every
 * optimizer step as `ema ← d·ema + (1 − d)·w` over all weights, batch-norm running statistics
 * included (as timm's `ModelEmaV2` averages the whole state dict). Validation, checkpoints and the
 * best-checkpoint choice use the averaged weights; the raw weights are checkpointed beside them
 * for resuming.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The shadow copy of a model's weights. */
export class WeightAverage {
  readonly decay: number;
  #shadow: tf.Variable[];

  /** Starts the average at the model's current weights. */
  constructor(model: tf.LayersModel, decay: number) {
    this.decay = decay;
    this.#shadow = model.weights.map((w) => tf.tidy(() => tf.variable(w.read().clone(), false)));
  }

  /**
   * One update after an optimizer step. Leak-free.
   *
   * @example
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { WeightAverage } from "./ema.ts";
   * const input = tf.input({ shape: [1] });
   * const dense = tf.layers.dense({ units: 1, useBias: false, kernelInitializer: "ones" });
   * const model = tf.model({ inputs: input, outputs: dense.apply(input) as tf.SymbolicTensor });
   * const ema = new WeightAverage(model, 0.9);
   * dense.setWeights([tf.tensor2d([[3]])]);
   * ema.update(model); // 0.9·1 + 0.1·3 = 1.2
   * console.assert(Math.abs(ema.values()[0][0] - 1.2) < 1e-6);
   * ema.dispose();
   * ```
   */
  update(model: tf.LayersModel): void {
    const d = this.decay;
    tf.tidy(() => {
      model.weights.forEach((w, i) => {
        this.#shadow[i].assign(tf.add(tf.mul(this.#shadow[i], d), tf.mul(w.read(), 1 - d)));
      });
    });
  }

  /** Runs `fn` with the averaged weights in the model, then puts the raw weights back. */
  async withAveraged<T>(model: tf.LayersModel, fn: () => Promise<T>): Promise<T> {
    // write() assigns (copies) the values; the tensors written stay ours to dispose
    const raw = model.weights.map((w) => w.read().clone());
    try {
      model.weights.forEach((w, i) => w.write(this.#shadow[i]));
      return await fn();
    } finally {
      model.weights.forEach((w, i) => w.write(raw[i]));
      tf.dispose(raw);
    }
  }

  /** The averaged values, in `model.weights` order (for checkpoints). */
  values(): Float32Array[] {
    return this.#shadow.map((v) => v.dataSync() as Float32Array);
  }

  /** Sets the averaged values (resuming from a checkpoint). */
  load(values: readonly Float32Array[]): void {
    if (values.length !== this.#shadow.length) {
      throw new RangeError(`EMA: ${values.length} arrays for ${this.#shadow.length} weights`);
    }
    tf.tidy(() => this.#shadow.forEach((v, i) => v.assign(tf.tensor(values[i], v.shape))));
  }

  dispose(): void {
    tf.dispose(this.#shadow);
  }
}
