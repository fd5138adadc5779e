/**
 * The competition's metric: average precision of instance masks at IoU 0.6, OpenImages-style
 * (the TensorFlow Object Detection API's `OpenImagesInstanceSegmentationChallengeEvaluator`, one
 * class):
 *
 * 1. **Matching, per tile.** Predictions are taken in descending confidence (ties keep their
 *    order in the submission). Each one's best ground-truth instance is the one with the highest
 *    mask IoU (the first on ties). When that IoU is ≥ 0.6 and that instance is not matched yet,
 *    the prediction is a true positive and the instance becomes matched; otherwise it is a false
 *    positive — also when its best instance was already taken by a more confident prediction
 *    (OpenImages does not fall back to the second-best instance; with IoU ≥ 0.6 > 0.5 and
 *    non-overlapping instances a prediction can reach the threshold with at most one instance, so
 *    the rule only matters for overlapping ground truth).
 * 2. **Ranking, over all tiles.** All predictions of all tiles are sorted by descending
 *    confidence (ties: tile order, then the tile's order); precision_k = TP_k / k and recall_k =
 *    TP_k / G after the k-th, where G counts every ground-truth instance of every scored tile.
 * 3. **Area.** With sentinels recall 0 / precision 0 before the first point and recall 1 /
 *    precision 0 after the last, precision is replaced by its running maximum from the right
 *    (the interpolated envelope), and AP = Σ (r_i − r_{i−1}) · p_i over the points where recall
 *    changes (`compute_average_precision` of `object_detection/utils/metrics.py`, the VOC 2010+
 *    all-points rule).
 *
 * Empty cases: no prediction at all gives AP 0 when there is ground truth; no ground truth at all
 * gives `NaN` (undefined, as OpenImages returns). A tile without ground truth adds only false
 * positives.
 *
 * Instances are sets of pixels given as increasing row-major indices.
 *
 * @module
 */

/** The default IoU threshold of the competition. */
export const IOU_THRESHOLD = 0.6;

/** A predicted instance: its pixels and its confidence. */
export interface ScoredInstance {
  /** Increasing row-major pixel indices. */
  pixels: Int32Array;
  confidence: number;
}

/** One tile: predictions and ground-truth instances. */
export interface TileInstances {
  predictions: readonly ScoredInstance[];
  /** Increasing row-major pixel indices of each ground-truth instance. */
  truth: readonly Int32Array[];
}

/** A ranked prediction after matching. */
export interface MatchedPrediction {
  confidence: number;
  tp: boolean;
  /** IoU with its best ground-truth instance (0 when the tile has none). */
  iou: number;
}

/** What {@linkcode averagePrecision} reports. */
export interface ApResult {
  /** Average precision; `NaN` when there is no ground truth. */
  ap: number;
  tp: number;
  fp: number;
  /** Ground-truth instances (G). */
  truth: number;
  predictions: number;
  /** Precision and recall after each ranked prediction. */
  precision: number[];
  recall: number[];
}

/**
 * IoU of two increasing index lists.
 *
 * @example
 * ```ts
 * import { iou } from "./ap.ts";
 * console.assert(iou(Int32Array.of(1, 2, 3), Int32Array.of(2, 3, 4)) === 0.5);
 * ```
 */
export function iou(a: Int32Array, b: Int32Array): number {
  if (a.length === 0 && b.length === 0) return 0;
  let i = 0, j = 0, inter = 0;
  if (a.length > 0 && b.length > 0 && (a[a.length - 1] < b[0] || b[b.length - 1] < a[0])) return 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      inter++;
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return inter / (a.length + b.length - inter);
}

/**
 * Matches one tile's predictions to its ground truth (rule 1 of the module doc); the result is in
 * descending confidence.
 *
 * @example
 * ```ts
 * import { matchTile } from "./ap.ts";
 * const gt = Int32Array.of(0, 1, 2, 3, 4);
 * const m = matchTile({ predictions: [{ pixels: gt, confidence: 0.9 }], truth: [gt] });
 * console.assert(m[0].tp && m[0].iou === 1);
 * ```
 */
export function matchTile(
  tile: TileInstances,
  iouThreshold: number = IOU_THRESHOLD,
): MatchedPrediction[] {
  const order = tile.predictions.map((_, k) => k);
  order.sort((a, b) => tile.predictions[b].confidence - tile.predictions[a].confidence || a - b);
  const matched = new Uint8Array(tile.truth.length);
  return order.map((k) => {
    const p = tile.predictions[k];
    let best = -1, bestIou = 0;
    for (let g = 0; g < tile.truth.length; g++) {
      const v = iou(p.pixels, tile.truth[g]);
      if (v > bestIou) {
        bestIou = v;
        best = g;
      }
    }
    let tp = false;
    if (best >= 0 && bestIou >= iouThreshold && matched[best] === 0) {
      matched[best] = 1;
      tp = true;
    }
    return { confidence: p.confidence, tp, iou: bestIou };
  });
}

/**
 * AP over ranked, matched predictions (rules 2 and 3 of the module doc). `matched` is the
 * concatenation of every tile's {@linkcode matchTile} result, in tile order.
 *
 * @example
 * ```ts
 * import { averagePrecision } from "./ap.ts";
 * // TP, FP, TP of 2 instances: precision 1, ½, ⅔ at recall ½, ½, 1 → envelope 1, ⅔, ⅔
 * const r = averagePrecision([
 *   { confidence: 0.9, tp: true, iou: 1 },
 *   { confidence: 0.8, tp: false, iou: 0 },
 *   { confidence: 0.7, tp: true, iou: 1 },
 * ], 2);
 * console.assert(Math.abs(r.ap - (0.5 * 1 + 0.5 * 2 / 3)) < 1e-12);
 * ```
 */
export function averagePrecision(matched: readonly MatchedPrediction[], truth: number): ApResult {
  const order = matched.map((_, k) => k);
  order.sort((a, b) => matched[b].confidence - matched[a].confidence || a - b);
  const precision: number[] = [], recall: number[] = [];
  let tp = 0, fp = 0;
  for (const k of order) {
    if (matched[k].tp) tp++;
    else fp++;
    precision.push(tp / (tp + fp));
    recall.push(truth > 0 ? tp / truth : NaN);
  }
  const result = { tp, fp, truth, predictions: matched.length, precision, recall };
  if (tp > truth) throw new RangeError(`${tp} true positives but only ${truth} instances`);
  if (truth === 0) return { ap: NaN, ...result };
  const r = [0, ...recall, 1];
  const p = [0, ...precision, 0];
  for (let i = p.length - 2; i >= 0; i--) p[i] = Math.max(p[i], p[i + 1]);
  let ap = 0;
  for (let i = 1; i < r.length; i++) if (r[i] !== r[i - 1]) ap += (r[i] - r[i - 1]) * p[i];
  return { ap, ...result };
}

/**
 * AP of a set of tiles: {@linkcode matchTile} on each, then {@linkcode averagePrecision}.
 *
 * @example
 * ```ts
 * import { apOfTiles } from "./ap.ts";
 * const gt = Int32Array.of(5, 6, 7);
 * console.assert(apOfTiles([{ predictions: [{ pixels: gt, confidence: 1 }], truth: [gt] }]).ap === 1);
 * ```
 */
export function apOfTiles(
  tiles: readonly TileInstances[],
  iouThreshold: number = IOU_THRESHOLD,
): ApResult {
  const matched: MatchedPrediction[] = [];
  let truth = 0;
  for (const t of tiles) {
    matched.push(...matchTile(t, iouThreshold));
    truth += t.truth.length;
  }
  return averagePrecision(matched, truth);
}
