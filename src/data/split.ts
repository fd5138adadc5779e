/**
 * Train/validation splits for `deno task prepare`.
 *
 * - `random` (the study's split, 90/10 by default): tiles sorted by id, shuffled with the seed; the
 *   first `round(n · valFraction)` (at least 1 and at most n − 1 when n ≥ 2) go to validation.
 * - `wsi`: whole slides (`source_wsi`) are held out, so neighbouring tiles of one slide never
 *   straddle the split. Slides are sorted, shuffled with the seed and taken in that order into
 *   validation while that brings the validation count closer to `n · valFraction`; at least one
 *   slide goes to validation and at least one stays in training.
 *
 * - `fold`: K folds grouped by slide (no slide on both sides), balanced by tile count: slides are
 *   shuffled with the seed, then taken largest first (a stable sort, so equal slides keep the
 *   shuffled order) into the fold with the fewest tiles so far (the lowest-numbered on a tie).
 *   Fold `k` (0-based) is validation, the others training.
 *
 * `valFraction` 0 puts every tile in training (an all-train set), 1 every tile in validation (an
 * evaluation-only set), whatever the method. All depend only on the set of tiles and the seed,
 * not on input order.
 *
 * @module
 */
import { Rng } from "../rng.ts";
import type { Split } from "./prepared.ts";

/** Split methods. */
export const SPLIT_METHODS = ["random", "wsi", "fold"] as const;
/** Split method. */
export type SplitMethod = typeof SPLIT_METHODS[number];

/** Minimal tile description a split needs. */
export interface SplitItem {
  id: string;
  sourceWsi: number;
}

/** Options for {@linkcode splitTiles}. */
export interface SplitOptions {
  /** Default "random". */
  method?: SplitMethod;
  /** Target share of validation tiles, in [0, 1] (0: all train, 1: all val). Default 0.1.
   * Not used by `fold`. */
  valFraction?: number;
  /** Default 0. */
  seed?: number;
  /** `fold`: the number of folds (≥ 2). */
  folds?: number;
  /** `fold`: the validation fold, 0-based. */
  fold?: number;
}

/** One fold of a {@linkcode foldPlan}: its slides (ascending) and tiles. */
export interface Fold {
  fold: number;
  slides: number[];
  tiles: number;
}

/**
 * The `fold` plan: `folds` groups of whole slides, balanced by tile count (see the module doc).
 * Throws a `RangeError` when there are fewer slides than folds.
 *
 * @example
 * ```ts
 * import { foldPlan } from "./split.ts";
 * const items = Array.from({ length: 12 }, (_, k) => ({ id: `t${k}`, sourceWsi: k % 4 }));
 * const plan = foldPlan(items, 2, 0);
 * console.assert(plan.every((f) => f.slides.length === 2 && f.tiles === 6));
 * ```
 */
export function foldPlan(items: readonly SplitItem[], folds: number, seed: number): Fold[] {
  if (!Number.isInteger(folds) || folds < 2) {
    throw new RangeError(`--folds must be an integer ≥ 2, got ${folds}`);
  }
  const perSlide = countPerSlide(items);
  const slides = [...perSlide.keys()].sort((a, b) => a - b);
  if (slides.length < folds) {
    throw new RangeError(
      `${folds} folds need tiles from at least ${folds} slides (source_wsi), found ${slides.length}`,
    );
  }
  new Rng(seed).shuffle(slides);
  slides.sort((a, b) => perSlide.get(b)! - perSlide.get(a)!); // stable: ties keep the shuffle
  const plan: Fold[] = Array.from({ length: folds }, (_, fold) => ({ fold, slides: [], tiles: 0 }));
  for (const s of slides) {
    let best = plan[0];
    for (const f of plan) if (f.tiles < best.tiles) best = f;
    best.slides.push(s);
    best.tiles += perSlide.get(s)!;
  }
  for (const f of plan) f.slides.sort((a, b) => a - b);
  return plan;
}

function countPerSlide(items: readonly SplitItem[]): Map<number, number> {
  const perSlide = new Map<number, number>();
  for (const t of items) perSlide.set(t.sourceWsi, (perSlide.get(t.sourceWsi) ?? 0) + 1);
  return perSlide;
}

/**
 * Assigns every tile to `train` or `val`. Throws a `RangeError` with a clear message when the
 * split is impossible (fewer than two tiles, or `wsi` with a single slide).
 *
 * @example
 * ```ts
 * import { splitTiles } from "./split.ts";
 * const items = Array.from({ length: 20 }, (_, k) => ({ id: `t${k}`, sourceWsi: k % 4 }));
 * const split = splitTiles(items, { method: "wsi", valFraction: 0.25, seed: 1 });
 * console.assert([...split.values()].filter((s) => s === "val").length === 5);
 * ```
 */
export function splitTiles(
  items: readonly SplitItem[],
  opts: SplitOptions = {},
): Map<string, Split> {
  const method = opts.method ?? "random";
  const valFraction = opts.valFraction ?? 0.1;
  const seed = opts.seed ?? 0;
  if (!(valFraction >= 0 && valFraction <= 1)) {
    throw new RangeError(`val fraction must be between 0 and 1, got ${valFraction}`);
  }
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const n = sorted.length;
  const out = new Map<string, Split>();
  if (method === "fold") {
    const folds = opts.folds ?? 5, fold = opts.fold ?? 0;
    if (!Number.isInteger(fold) || fold < 0 || fold >= folds) {
      throw new RangeError(`--fold must be an integer from 0 to ${folds - 1}, got ${fold}`);
    }
    const held = new Set(foldPlan(sorted, folds, seed)[fold].slides);
    for (const t of sorted) out.set(t.id, held.has(t.sourceWsi) ? "val" : "train");
    return out;
  }
  if (valFraction === 0 || valFraction === 1) {
    if (n === 0) throw new RangeError("no tiles to put in a split");
    for (const t of sorted) out.set(t.id, valFraction === 1 ? "val" : "train");
    return out;
  }
  if (n < 2) {
    throw new RangeError(`cannot split ${n} tile${n === 1 ? "" : "s"} into train and val`);
  }
  const target = n * valFraction;
  const rng = new Rng(seed);
  if (method === "random") {
    const nVal = Math.min(n - 1, Math.max(1, Math.round(target)));
    rng.shuffle(sorted);
    sorted.forEach((t, k) => out.set(t.id, k < nVal ? "val" : "train"));
    return out;
  }
  const perSlide = countPerSlide(sorted);
  const slides = [...perSlide.keys()].sort((a, b) => a - b);
  if (slides.length < 2) {
    throw new RangeError(
      `--split wsi needs tiles from at least 2 slides (source_wsi), found ${slides.length}` +
        (slides.length === 1 ? ` (${slides[0]})` : ""),
    );
  }
  rng.shuffle(slides);
  const held = new Set<number>();
  let nVal = 0;
  for (const s of slides.slice(0, slides.length - 1)) {
    const c = perSlide.get(s)!;
    if (held.size > 0 && Math.abs(nVal + c - target) >= Math.abs(nVal - target)) continue;
    held.add(s);
    nVal += c;
  }
  for (const t of sorted) out.set(t.id, held.has(t.sourceWsi) ? "val" : "train");
  return out;
}
