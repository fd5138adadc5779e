/**
 * Segmentation scores from confusion counts (Müller et al. 2022, "Towards a guideline for
 * evaluation metrics in medical image segmentation"): DSC is the main metric; IoU, sensitivity and
 * specificity go beside it; precision; accuracy only to show its bias towards the large background
 * class.
 *
 * ## Empty-denominator rules
 *
 * `rule: "standard"` (the default; used by the `micro` and `per-image` reductions):
 * - DSC = 2TP / (2TP + FP + FN) and IoU = TP / (TP + FP + FN). Both denominators are 0 only when
 *   truth and prediction are both empty; the prediction then agrees perfectly and the score is
 *   **1** (MISeval's rule, Müller et al. 2022).
 * - sensitivity = TP / (TP + FN) is **NaN** (undefined) when the truth has no positive pixel;
 *   specificity = TN / (TN + FP) is **NaN** when the truth has no negative pixel; precision =
 *   TP / (TP + FP) is **NaN** when the prediction is empty. An undefined score is left out of a
 *   per-image mean (the reductions report how many tiles each mean is over) and shown as "–".
 * - accuracy = (TP + TN) / N is NaN only for N = 0.
 *
 * `rule: "seed"` reproduces the reference study's convention: DSC, IoU, sensitivity and precision
 * are **0** whenever TP = 0 (so an empty prediction on an empty tile scores 0, not 1);
 * specificity is **0** whenever TN = 0; accuracy is 0 when N = 0. Otherwise the usual formulas.
 *
 * @module
 */
import type { Confusion } from "./confusion.ts";

/** How a score treats an empty denominator; see the module doc. */
export type ScoreRule = "standard" | "seed";

/** The six scores, in table order. */
export const METRICS = [
  "dsc",
  "iou",
  "sensitivity",
  "specificity",
  "precision",
  "accuracy",
] as const;

/** One of {@linkcode METRICS}. */
export type Metric = typeof METRICS[number];

/** Display names of the metrics. */
export const METRIC_LABELS: Record<Metric, string> = {
  dsc: "DSC",
  iou: "IoU",
  sensitivity: "Sensitivity",
  specificity: "Specificity",
  precision: "Precision",
  accuracy: "Accuracy",
};

/** All six scores of one confusion. */
export type Scores = Record<Metric, number>;

/**
 * Dice similarity coefficient (F1), 2TP / (2TP + FP + FN).
 *
 * @example
 * ```ts
 * import { dice } from "./scores.ts";
 * console.assert(dice({ tp: 1, fp: 1, fn: 1, tn: 1 }) === 0.5);
 * console.assert(dice({ tp: 0, fp: 0, fn: 0, tn: 9 }) === 1); // both empty: agreement
 * console.assert(dice({ tp: 0, fp: 0, fn: 0, tn: 9 }, "seed") === 0);
 * ```
 */
export function dice(c: Confusion, rule: ScoreRule = "standard"): number {
  if (rule === "seed" && c.tp === 0) return 0;
  const d = 2 * c.tp + c.fp + c.fn;
  return d === 0 ? 1 : (2 * c.tp) / d;
}

/**
 * Intersection over union (Jaccard), TP / (TP + FP + FN).
 *
 * @example
 * ```ts
 * import { iou } from "./scores.ts";
 * console.assert(iou({ tp: 1, fp: 1, fn: 1, tn: 1 }) === 1 / 3);
 * ```
 */
export function iou(c: Confusion, rule: ScoreRule = "standard"): number {
  if (rule === "seed" && c.tp === 0) return 0;
  const d = c.tp + c.fp + c.fn;
  return d === 0 ? 1 : c.tp / d;
}

/**
 * Sensitivity (recall, true positive rate), TP / (TP + FN); NaN when the truth is empty.
 *
 * @example
 * ```ts
 * import { sensitivity } from "./scores.ts";
 * console.assert(sensitivity({ tp: 3, fp: 0, fn: 1, tn: 0 }) === 0.75);
 * ```
 */
export function sensitivity(c: Confusion, rule: ScoreRule = "standard"): number {
  if (rule === "seed" && c.tp === 0) return 0;
  const d = c.tp + c.fn;
  return d === 0 ? NaN : c.tp / d;
}

/**
 * Specificity (true negative rate), TN / (TN + FP); NaN when the truth has no negative pixel.
 *
 * @example
 * ```ts
 * import { specificity } from "./scores.ts";
 * console.assert(specificity({ tp: 0, fp: 1, fn: 0, tn: 3 }) === 0.75);
 * ```
 */
export function specificity(c: Confusion, rule: ScoreRule = "standard"): number {
  if (rule === "seed" && c.tn === 0) return 0;
  const d = c.tn + c.fp;
  return d === 0 ? NaN : c.tn / d;
}

/**
 * Precision (positive predictive value), TP / (TP + FP); NaN when the prediction is empty.
 *
 * @example
 * ```ts
 * import { precision } from "./scores.ts";
 * console.assert(precision({ tp: 1, fp: 3, fn: 0, tn: 0 }) === 0.25);
 * ```
 */
export function precision(c: Confusion, rule: ScoreRule = "standard"): number {
  if (rule === "seed" && c.tp === 0) return 0;
  const d = c.tp + c.fp;
  return d === 0 ? NaN : c.tp / d;
}

/**
 * Pixel accuracy, (TP + TN) / N. Shown only to demonstrate its bias: on tiles that are mostly
 * background, predicting nothing is already highly "accurate".
 *
 * @example
 * ```ts
 * import { accuracy } from "./scores.ts";
 * console.assert(accuracy({ tp: 0, fp: 0, fn: 1, tn: 99 }) === 0.99);
 * ```
 */
export function accuracy(c: Confusion, rule: ScoreRule = "standard"): number {
  const n = c.tp + c.fp + c.fn + c.tn;
  if (n === 0) return rule === "seed" ? 0 : NaN;
  return (c.tp + c.tn) / n;
}

/**
 * All six scores of `c` under `rule`.
 *
 * @example
 * ```ts
 * import { scoreAll } from "./scores.ts";
 * const s = scoreAll({ tp: 2, fp: 0, fn: 2, tn: 4 });
 * console.assert(s.sensitivity === 0.5 && s.precision === 1);
 * ```
 */
export function scoreAll(c: Confusion, rule: ScoreRule = "standard"): Scores {
  return {
    dsc: dice(c, rule),
    iou: iou(c, rule),
    sensitivity: sensitivity(c, rule),
    specificity: specificity(c, rule),
    precision: precision(c, rule),
    accuracy: accuracy(c, rule),
  };
}
