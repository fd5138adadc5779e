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
 * Both depend only on the set of tiles and the seed, not on input order.
 *
 * @module
 */
import { Rng } from "../rng.ts";
import type { Split } from "./prepared.ts";

/** Split method. */
export type SplitMethod = "random" | "wsi";

/** Minimal tile description a split needs. */
export interface SplitItem {
  id: string;
  sourceWsi: number;
}

/** Options for {@linkcode splitTiles}. */
export interface SplitOptions {
  /** Default "random". */
  method?: SplitMethod;
  /** Target share of validation tiles, in (0, 1). Default 0.1. */
  valFraction?: number;
  /** Default 0. */
  seed?: number;
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
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new RangeError(`val fraction must be between 0 and 1 (exclusive), got ${valFraction}`);
  }
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const n = sorted.length;
  if (n < 2) {
    throw new RangeError(`cannot split ${n} tile${n === 1 ? "" : "s"} into train and val`);
  }
  const target = n * valFraction;
  const rng = new Rng(seed);
  const out = new Map<string, Split>();
  if (method === "random") {
    const nVal = Math.min(n - 1, Math.max(1, Math.round(target)));
    rng.shuffle(sorted);
    sorted.forEach((t, k) => out.set(t.id, k < nVal ? "val" : "train"));
    return out;
  }
  const perSlide = new Map<number, number>();
  for (const t of sorted) perSlide.set(t.sourceWsi, (perSlide.get(t.sourceWsi) ?? 0) + 1);
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
