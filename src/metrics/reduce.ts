/**
 * Reductions of per-tile confusion counts to one score per metric for a set of tiles. Three named
 * modes:
 *
 * - `micro` — pool all pixels of the set (sum the confusions), then score once with the
 *   `standard` rule. Large tiles and vessel-rich tiles weigh more.
 * - `per-image` — score every tile with the `standard` rule (so a tile with no vessel and an empty
 *   prediction has DSC = IoU = 1, MISeval's rule), then take the mean over tiles. Tiles where a
 *   score is undefined (NaN: sensitivity on a tile without vessel, precision of an empty
 *   prediction, specificity on an all-vessel tile) are left out of that score's mean; `counts`
 *   says how many tiles each mean is over.
 * - `seed` — the reference study's convention: the study scored each *batch* (the batch's pixels
 *   pooled) with the `seed` rule (a score is 0 when TP = 0; specificity 0 when TN = 0) and averaged
 *   the batch scores. Here consecutive groups of `batchSize` tiles (in the order given; default 1,
 *   i.e. one score per tile) are pooled, scored with the `seed` rule, and the group scores
 *   averaged. Nothing is left out: every group counts, with 0 where the rule says so. With
 *   batch size 1 an empty prediction on an empty tile counts as DSC 0, so `seed` is never above
 *   `per-image` on DSC/IoU.
 *
 * @module
 */
import { addConfusion, type Confusion, emptyConfusion, sumConfusion } from "./confusion.ts";
import { type Metric, METRICS, scoreAll, type ScoreRule, type Scores } from "./scores.ts";

/** The named reductions. */
export const REDUCTIONS = ["micro", "per-image", "seed"] as const;

/** One of {@linkcode REDUCTIONS}. */
export type Reduction = typeof REDUCTIONS[number];

/** A reduced set: the scores and, per metric, how many tiles (or groups) the mean is over. */
export interface Reduced {
  mode: Reduction;
  scores: Scores;
  /** Tiles (per-image), groups (seed) or 1 (micro) that each score is computed over. */
  counts: Record<Metric, number>;
  /** Number of tiles reduced. */
  tiles: number;
}

/** Options for {@linkcode reduce}. */
export interface ReduceOptions {
  /** `seed` mode only: tiles pooled per group, like the study's batches. Default 1. */
  batchSize?: number;
}

/** The score rule each reduction applies per tile or group. */
export function ruleOf(mode: Reduction): ScoreRule {
  return mode === "seed" ? "seed" : "standard";
}

/**
 * Reduces per-tile confusions to one score per metric.
 *
 * @example
 * ```ts
 * import { reduce } from "./reduce.ts";
 * const tiles = [{ tp: 0, fp: 0, fn: 0, tn: 4 }, { tp: 1, fp: 1, fn: 1, tn: 1 }];
 * console.assert(reduce(tiles, "per-image").scores.dsc === 0.75); // (1 + 0.5) / 2
 * console.assert(reduce(tiles, "micro").scores.dsc === 0.5);
 * console.assert(reduce(tiles, "seed").scores.dsc === 0.25); // (0 + 0.5) / 2
 * ```
 */
export function reduce(
  confusions: readonly Confusion[],
  mode: Reduction,
  opts: ReduceOptions = {},
): Reduced {
  if (mode === "micro") {
    const scores = scoreAll(sumConfusion(confusions), "standard");
    const counts = {} as Record<Metric, number>;
    for (const m of METRICS) counts[m] = Number.isNaN(scores[m]) ? 0 : 1;
    return { mode, scores, counts, tiles: confusions.length };
  }
  let units: Confusion[] = confusions as Confusion[];
  if (mode === "seed") {
    const batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`reduce: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (batchSize > 1) {
      units = [];
      for (let i = 0; i < confusions.length; i += batchSize) {
        const g = emptyConfusion();
        for (const c of confusions.slice(i, i + batchSize)) addConfusion(g, c);
        units.push(g);
      }
    }
  }
  const rule = ruleOf(mode);
  const sums = {} as Record<Metric, number>;
  const counts = {} as Record<Metric, number>;
  for (const m of METRICS) sums[m] = counts[m] = 0;
  for (const c of units) {
    const s = scoreAll(c, rule);
    for (const m of METRICS) {
      if (!Number.isNaN(s[m])) {
        sums[m] += s[m];
        counts[m]++;
      }
    }
  }
  const scores = {} as Scores;
  for (const m of METRICS) scores[m] = counts[m] === 0 ? NaN : sums[m] / counts[m];
  return { mode, scores, counts, tiles: confusions.length };
}

/** Per-tile scores of one metric under a reduction's rule (for distribution plots). */
export function perTile(
  confusions: readonly Confusion[],
  metric: Metric,
  mode: Reduction = "per-image",
): Float64Array {
  const rule = ruleOf(mode);
  const out = new Float64Array(confusions.length);
  for (let i = 0; i < confusions.length; i++) out[i] = scoreAll(confusions[i], rule)[metric];
  return out;
}
