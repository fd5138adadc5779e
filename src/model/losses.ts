/**
 * Segmentation losses on logits, written to stay finite for any logit (no `log(sigmoid(x))`).
 *
 * All take `logits` and `targets` of the same shape (e.g. `[N, H, W, 1]`, targets 0/1 float32)
 * and return a scalar:
 *
 * - `bce` — binary cross-entropy with logits, mean over pixels:
 *   `max(x, 0) − x·y + log1p(exp(−|x|))` (the form of PyTorch's `BCEWithLogitsLoss`).
 * - `dice` — `1 − (2·Σ p·y + s) / (Σ p + Σ y + s)` with `p = sigmoid(x)`, smooth `s = 1`, sums over
 *   the whole batch (milesial's `dice_coeff(…, reduce_batch_first=True)`).
 * - `focal` — per pixel (Lin et al. 2017): `mean(α_t·(1 − p_t)^γ·bce_px)` with `p_t = exp(−bce_px)`
 *   and `α_t = α·y + (1 − α)·(1 − y)`; or, with variant `mean-bce`, the reference study's
 *   implementation, which applies the focal factor once to the mean BCE:
 *   `b = mean(bce_px); α·(1 − exp(−b))^γ·b`. Defaults α 0.8, γ 2.
 * - `combo` — Taghanaki et al. 2019: `α·wce + (1 − α)·(1 − dice)` where the weighted
 *   cross-entropy `wce = mean(2·[β·y·softplus(−x) + (1 − β)·(1 − y)·softplus(x)])`; β > 0.5
 *   penalises false negatives more than false positives. The factor 2 makes β = 0.5 plain BCE, so
 *   the defaults α = β = 0.5 give the study's `0.5·BCE + 0.5·(1 − Dice)`.
 *
 * Ignore regions (sets prepared with `--ignore`): {@linkcode makeLoss} with `ignore: true` reads
 * targets of −1 (`IGNORE_TARGET`) as "left out": every mean runs over the other pixels only and
 * the Dice sums leave them out, so whatever the network predicts there changes nothing. Without
 * it the losses are exactly the plain formulas above.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Loss names accepted by `--loss`. */
export const LOSS_NAMES = ["bce", "dice", "focal", "combo"] as const;
/** One of {@linkcode LOSS_NAMES}. */
export type LossName = typeof LOSS_NAMES[number];
/** Focal loss variants accepted by `--focal-variant`. */
export const FOCAL_VARIANTS = ["per-pixel", "mean-bce"] as const;
/** One of {@linkcode FOCAL_VARIANTS}. */
export type FocalVariant = typeof FOCAL_VARIANTS[number];

/** Which loss and its parameters. */
export interface LossConfig {
  name: LossName;
  /** Focal α (default 0.8). */
  focalAlpha: number;
  /** Focal γ (default 2). */
  focalGamma: number;
  /** Focal variant (default `per-pixel`). */
  focalVariant: FocalVariant;
  /** Combo α: weight of the cross-entropy term against Dice (default 0.5). */
  comboAlpha: number;
  /** Combo β: weight of false negatives against false positives in the cross-entropy (default 0.5). */
  comboBeta: number;
}

/** The defaults: the study's combo loss. */
export const DEFAULT_LOSS: LossConfig = {
  name: "combo",
  focalAlpha: 0.8,
  focalGamma: 2,
  focalVariant: "per-pixel",
  comboAlpha: 0.5,
  comboBeta: 0.5,
};

/** Smoothing term of the soft Dice. */
export const DICE_SMOOTH = 1;

/** `softplus(x) = log(1 + exp(x))` computed as `max(x, 0) + log1p(exp(−|x|))`. */
function softplus(x: tf.Tensor): tf.Tensor {
  return tf.add(tf.relu(x), tf.log1p(tf.exp(tf.neg(tf.abs(x)))));
}

/**
 * Pixels that count: `valid` (1 counted, 0 left out) or, when undefined, all of them. `mean` is
 * then the mean over the counted pixels and `keep` zeroes the others.
 */
interface Counted {
  mean: (t: tf.Tensor) => tf.Tensor;
  keep: (t: tf.Tensor) => tf.Tensor;
}

function counted(valid: tf.Tensor | undefined): Counted {
  if (valid === undefined) return { mean: (t) => tf.mean(t), keep: (t) => t };
  const n = tf.maximum(tf.sum(valid), 1);
  return { mean: (t) => tf.div(tf.sum(tf.mul(t, valid)), n), keep: (t) => tf.mul(t, valid) };
}

/** Per-pixel BCE with logits: `max(x, 0) − x·y + log1p(exp(−|x|))`. */
export function bcePerPixel(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.add(
      tf.sub(tf.relu(logits), tf.mul(logits, targets)),
      tf.log1p(tf.exp(tf.neg(tf.abs(logits)))),
    )
  );
}

/**
 * Mean binary cross-entropy with logits.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { bceLoss } from "./losses.ts";
 * const l = bceLoss(tf.tensor([0]), tf.tensor([1]));
 * console.assert(Math.abs(l.dataSync()[0] - Math.LN2) < 1e-6);
 * ```
 */
export function bceLoss(logits: tf.Tensor, targets: tf.Tensor, valid?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => counted(valid).mean(bcePerPixel(logits, targets)) as tf.Scalar);
}

/** Soft Dice coefficient (smooth 1) of `sigmoid(logits)` against `targets`, pooled over the batch. */
export function softDice(logits: tf.Tensor, targets: tf.Tensor, valid?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const p = counted(valid).keep(tf.sigmoid(logits));
    const inter = tf.sum(tf.mul(p, targets));
    const denom = tf.add(tf.add(tf.sum(p), tf.sum(targets)), DICE_SMOOTH);
    return tf.div(tf.add(tf.mul(inter, 2), DICE_SMOOTH), denom) as tf.Scalar;
  });
}

/** `1 − softDice`. */
export function diceLoss(logits: tf.Tensor, targets: tf.Tensor, valid?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sub(1, softDice(logits, targets, valid)) as tf.Scalar);
}

/** Focal loss; see the module doc for both variants. */
export function focalLoss(
  logits: tf.Tensor,
  targets: tf.Tensor,
  opts: { alpha?: number; gamma?: number; variant?: FocalVariant } = {},
  valid?: tf.Tensor,
): tf.Scalar {
  const alpha = opts.alpha ?? DEFAULT_LOSS.focalAlpha;
  const gamma = opts.gamma ?? DEFAULT_LOSS.focalGamma;
  const variant = opts.variant ?? "per-pixel";
  return tf.tidy(() => {
    const c = counted(valid);
    const bce = bcePerPixel(logits, targets);
    if (variant === "mean-bce") {
      const b = c.mean(bce);
      const factor = tf.pow(tf.sub(1, tf.exp(tf.neg(b))), gamma);
      return tf.mul(tf.mul(factor, b), alpha) as tf.Scalar;
    }
    // 1 − p_t = 1 − exp(−bce_px); written with expm1 to keep precision when bce_px is small.
    const oneMinusPt = tf.neg(tf.expm1(tf.neg(bce)));
    const alphaT = tf.add(tf.mul(targets, alpha), tf.mul(tf.sub(1, targets), 1 - alpha));
    return c.mean(tf.mul(tf.mul(alphaT, tf.pow(oneMinusPt, gamma)), bce)) as tf.Scalar;
  });
}

/** Combo loss (Taghanaki et al. 2019); see the module doc. */
export function comboLoss(
  logits: tf.Tensor,
  targets: tf.Tensor,
  opts: { alpha?: number; beta?: number } = {},
  valid?: tf.Tensor,
): tf.Scalar {
  const alpha = opts.alpha ?? DEFAULT_LOSS.comboAlpha;
  const beta = opts.beta ?? DEFAULT_LOSS.comboBeta;
  return tf.tidy(() => {
    // −log p = softplus(−x), −log(1 − p) = softplus(x)
    const fnTerm = tf.mul(tf.mul(targets, softplus(tf.neg(logits))), 2 * beta);
    const fpTerm = tf.mul(tf.mul(tf.sub(1, targets), softplus(logits)), 2 * (1 - beta));
    const wce = counted(valid).mean(tf.add(fnTerm, fpTerm));
    const dice = softDice(logits, targets, valid);
    return tf.add(tf.mul(wce, alpha), tf.mul(tf.sub(1, dice), 1 - alpha)) as tf.Scalar;
  });
}

/** A loss function `(logits, targets) → scalar`. */
export type LossFn = (logits: tf.Tensor, targets: tf.Tensor) => tf.Scalar;

/**
 * The loss function a config names; with `ignore`, targets of −1 are left out (module doc).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { DEFAULT_LOSS, makeLoss } from "./losses.ts";
 * const loss = makeLoss(DEFAULT_LOSS);
 * const v = loss(tf.tensor([10, -10]), tf.tensor([1, 0]));
 * console.assert(v.dataSync()[0] < 0.01);
 * ```
 */
export function makeLoss(cfg: LossConfig, opts: { ignore?: boolean } = {}): LossFn {
  const loss = lossOf(cfg);
  if (!opts.ignore) return (x, y) => loss(x, y);
  // targets −1 = ignore: counted where y ≥ 0, and the target there is y itself
  return (x, y) =>
    tf.tidy(() => {
      const valid = tf.cast(tf.greaterEqual(y, 0), "float32");
      return loss(x, tf.relu(y), valid);
    });
}

type MaskedLoss = (logits: tf.Tensor, targets: tf.Tensor, valid?: tf.Tensor) => tf.Scalar;

function lossOf(cfg: LossConfig): MaskedLoss {
  switch (cfg.name) {
    case "bce":
      return bceLoss;
    case "dice":
      return diceLoss;
    case "focal":
      return (x, y, v) =>
        focalLoss(x, y, {
          alpha: cfg.focalAlpha,
          gamma: cfg.focalGamma,
          variant: cfg.focalVariant,
        }, v);
    case "combo":
      return (x, y, v) => comboLoss(x, y, { alpha: cfg.comboAlpha, beta: cfg.comboBeta }, v);
  }
}
