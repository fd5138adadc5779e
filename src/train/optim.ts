/**
 * Optimizers with PyTorch's exact update rules (the reference study trained with
 * `torch.optim.RMSprop`), written with tfjs ops so their state can be saved in a checkpoint and
 * restored bit for bit.
 *
 * Why not `tf.train.rmsprop`: tfjs adds epsilon inside the square root (`g / sqrt(v + ε)`) and
 * folds the learning rate into the momentum buffer; PyTorch computes `g / (sqrt(v) + ε)`. With
 * ε = 1e-8 and the small squared gradients of a U-Net the two differ by orders of magnitude in
 * the first steps. Weight decay is PyTorch's `weight_decay`: `g ← g + wd·w` before the update.
 *
 * - RMSprop (alpha 0.99, eps 1e-8): `v ← α·v + (1 − α)·g²`; with momentum
 *   `b ← μ·b + g / (sqrt(v) + ε); w ← w − lr·b`, else `w ← w − lr·g / (sqrt(v) + ε)`.
 * - Adam (β1 0.9, β2 0.999, eps 1e-8): bias-corrected, `w ← w − lr·m̂ / (sqrt(v̂) + ε)`.
 * - SGD: `b ← μ·b + g` (b = g on the first step), `w ← w − lr·b`.
 *
 * Gradient clipping is `torch.nn.utils.clip_grad_norm_`: scale all gradients by
 * `min(1, maxNorm / (‖g‖₂ + 1e-6))`, applied before weight decay (as in the study's loop, where
 * clipping precedes `optimizer.step()`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { OptimizerState } from "../model/artifact.ts";
import type { OptimConfig } from "../model/run_config.ts";

const RMSPROP_ALPHA = 0.99;
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const EPS = 1e-8;

/** Saved optimizer state: step count and, per slot name, one array per variable (in order). */
export type { OptimizerState };

/**
 * One optimizer over a fixed, ordered list of variables.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Optimizer } from "./optim.ts";
 * const w = tf.variable(tf.tensor([1, 2]));
 * const opt = new Optimizer({ name: "sgd", lr: 0.1, momentum: 0, weightDecay: 0, clipNorm: 0 }, [w]);
 * tf.tidy(() => opt.apply([tf.tensor([1, 1])]));
 * console.assert(Math.abs(w.dataSync()[0] - 0.9) < 1e-6);
 * ```
 */
export class Optimizer {
  readonly config: OptimConfig;
  readonly vars: tf.Variable[];
  #step = 0;
  #slots = new Map<string, tf.Variable[]>();

  #lr: number;

  constructor(config: OptimConfig, vars: tf.Variable[]) {
    this.config = config;
    this.vars = vars;
    this.#lr = config.lr;
  }

  /** The learning rate of the next updates (the config's, until a schedule sets another). */
  get lr(): number {
    return this.#lr;
  }

  /** Sets the learning rate of the next updates (a schedule's value for the epoch). */
  setLearningRate(lr: number): void {
    this.#lr = lr;
  }

  /** Updates done so far. */
  get step(): number {
    return this.#step;
  }

  #slot(name: string): tf.Variable[] {
    let s = this.#slots.get(name);
    if (s === undefined) {
      s = this.vars.map((v) => tf.variable(tf.zerosLike(v), false));
      this.#slots.set(name, s);
    }
    return s;
  }

  /**
   * Applies one update from `grads` (same order as the variables). Returns the global gradient
   * norm before clipping, as a scalar (caller disposes; use inside `tf.tidy`).
   */
  apply(grads: tf.Tensor[]): tf.Scalar {
    if (grads.length !== this.vars.length) {
      throw new RangeError(
        `Optimizer: ${grads.length} gradients for ${this.vars.length} variables`,
      );
    }
    const { name, momentum: mu, weightDecay: wd, clipNorm } = this.config;
    const lr = this.#lr;
    const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    let gs = grads;
    if (clipNorm > 0) {
      const coef = tf.minimum(1, tf.div(clipNorm, tf.add(norm, 1e-6)));
      gs = gs.map((g) => tf.mul(g, coef));
    }
    if (wd > 0) gs = gs.map((g, i) => tf.add(g, tf.mul(this.vars[i], wd)));
    this.#step++;
    const t = this.#step;
    if (name === "rmsprop") {
      const sq = this.#slot("square_avg");
      const buf = mu > 0 ? this.#slot("momentum_buffer") : undefined;
      gs.forEach((g, i) => {
        const v = tf.add(tf.mul(sq[i], RMSPROP_ALPHA), tf.mul(tf.square(g), 1 - RMSPROP_ALPHA));
        sq[i].assign(v);
        const upd = tf.div(g, tf.add(tf.sqrt(v), EPS));
        if (buf !== undefined) {
          const b = tf.add(tf.mul(buf[i], mu), upd);
          buf[i].assign(b);
          this.vars[i].assign(tf.sub(this.vars[i], tf.mul(b, lr)));
        } else {
          this.vars[i].assign(tf.sub(this.vars[i], tf.mul(upd, lr)));
        }
      });
    } else if (name === "adam") {
      const m1 = this.#slot("exp_avg"), m2 = this.#slot("exp_avg_sq");
      const bc1 = 1 - ADAM_BETA1 ** t, bc2 = 1 - ADAM_BETA2 ** t;
      gs.forEach((g, i) => {
        const m = tf.add(tf.mul(m1[i], ADAM_BETA1), tf.mul(g, 1 - ADAM_BETA1));
        const v = tf.add(tf.mul(m2[i], ADAM_BETA2), tf.mul(tf.square(g), 1 - ADAM_BETA2));
        m1[i].assign(m);
        m2[i].assign(v);
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), EPS);
        this.vars[i].assign(tf.sub(this.vars[i], tf.mul(tf.div(m, denom), lr / bc1)));
      });
    } else {
      const buf = mu > 0 ? this.#slot("momentum_buffer") : undefined;
      gs.forEach((g, i) => {
        let d = g;
        if (buf !== undefined) {
          d = t === 1 ? g : tf.add(tf.mul(buf[i], mu), g);
          buf[i].assign(d);
        }
        this.vars[i].assign(tf.sub(this.vars[i], tf.mul(d, lr)));
      });
    }
    return norm;
  }

  /** The state as plain arrays (reads the slots back from the backend). */
  async getState(): Promise<OptimizerState> {
    const slots: OptimizerState["slots"] = {};
    for (const [name, vars] of this.#slots) {
      slots[name] = [];
      for (const v of vars) {
        slots[name].push({ shape: v.shape.slice(), values: (await v.data()) as Float32Array });
      }
    }
    return { name: this.config.name, step: this.#step, slots };
  }

  /** Restores a state saved by {@linkcode Optimizer.getState}. */
  setState(state: OptimizerState): void {
    if (state.name !== this.config.name) {
      throw new RangeError(`optimizer state is for ${state.name}, not ${this.config.name}`);
    }
    this.#step = state.step;
    for (const [name, arrays] of Object.entries(state.slots)) {
      if (arrays.length !== this.vars.length) {
        throw new RangeError(
          `optimizer slot ${name}: ${arrays.length} arrays for ${this.vars.length} variables`,
        );
      }
      const slot = this.#slot(name);
      arrays.forEach((a, i) => {
        if (a.shape.join("x") !== this.vars[i].shape.join("x")) {
          throw new RangeError(
            `optimizer slot ${name}[${i}]: shape ${a.shape} ≠ ${this.vars[i].shape}`,
          );
        }
        tf.tidy(() => slot[i].assign(tf.tensor(a.values, a.shape, "float32")));
      });
    }
  }

  /** Frees the slot variables. */
  dispose(): void {
    for (const vars of this.#slots.values()) for (const v of vars) v.dispose();
    this.#slots.clear();
  }
}
