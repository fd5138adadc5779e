/**
 * Scores the four baselines of the study's Table 1 (`none`, `full`, `random`, `otsu`) on the
 * tiles of a prepared dataset, one tile at a time, at the prepared scale, and builds the table.
 *
 * @module
 */
import type { PreparedTile, Split } from "../data/prepared.ts";
import type { PreparedDataset } from "../data/prepared_io.ts";
import { type Confusion, confusion } from "../metrics/confusion.ts";
import { reduce, type Reduced, type Reduction } from "../metrics/reduce.ts";
import { METRIC_LABELS, METRICS } from "../metrics/scores.ts";
import type { Table } from "../report/table.ts";
import { otsuMask, type OtsuScratch } from "./otsu.ts";
import { fullMask, noneMask, randomMask } from "./trivial.ts";

/** The baselines, in table order. */
export const BASELINES = ["none", "full", "random", "otsu"] as const;

/** One of {@linkcode BASELINES}. */
export type Baseline = typeof BASELINES[number];

/**
 * The reference study's Table 1 (1633 real labelled tiles, `seed` rule, averaged per batch);
 * `null` where the study gives no number.
 */
export const STUDY_TABLE1: Record<
  Baseline,
  { dsc: number | null; iou: number | null; sensitivity: number | null; specificity: number | null }
> = {
  none: { dsc: 0, iou: 0, sensitivity: 0, specificity: 1 },
  full: { dsc: 0.097, iou: 0.053, sensitivity: null, specificity: null },
  random: { dsc: 0.090, iou: 0.053, sensitivity: 0.49, specificity: 0.50 },
  otsu: { dsc: 0.099, iou: 0.063, sensitivity: 0.378, specificity: 0.621 },
};

/** Options of {@linkcode scoreBaselines}. */
export interface ScoreBaselinesOptions {
  /** Which tiles. Default "all". */
  split?: Split | "all";
  /** Seed of the `random` baseline (combined with each tile's shard index). Default 0. */
  seed?: number;
  /** Otsu foreground is the dark side. Default false (bright side, as the study). */
  invert?: boolean;
  /** Called after each tile with the number done. */
  onTile?: (done: number) => void;
}

/** Per-tile results of every baseline. */
export interface BaselineScores {
  /** The tiles scored, in shard order. */
  tiles: PreparedTile[];
  tileSizePx: number;
  /** Per baseline, one confusion per tile (same order as `tiles`). */
  confusions: Record<Baseline, Confusion[]>;
  /** Otsu threshold of each tile. */
  otsuThresholds: Int32Array;
  /** Vessel pixels / all pixels of each tile's truth mask. */
  vesselFraction: Float64Array;
}

/**
 * Runs the four baselines on every tile of `opts.split`, reading one tile at a time.
 *
 * @example
 * ```ts ignore
 * import { openPrepared } from "../data/prepared_io.ts";
 * import { scoreBaselines } from "./run.ts";
 * const ds = await openPrepared("out/prepared");
 * const scores = await scoreBaselines(ds, { split: "val" });
 * ds.close();
 * ```
 */
export async function scoreBaselines(
  ds: PreparedDataset,
  opts: ScoreBaselinesOptions = {},
): Promise<BaselineScores> {
  const tiles = ds.tiles(opts.split ?? "all");
  const seed = opts.seed ?? 0;
  const tileSizePx = ds.manifest.tileSizePx;
  const n = tileSizePx * tileSizePx;
  const confusions = { none: [], full: [], random: [], otsu: [] } as Record<Baseline, Confusion[]>;
  const otsuThresholds = new Int32Array(tiles.length);
  const vesselFraction = new Float64Array(tiles.length);
  const none = noneMask(n), full = fullMask(n), random = new Uint8Array(n);
  const scratch: OtsuScratch = {};
  for (let k = 0; k < tiles.length; k++) {
    const { rgbHWC, maskU8 } = await ds.read(tiles[k]);
    confusions.none.push(confusion(none, maskU8));
    confusions.full.push(confusion(full, maskU8));
    confusions.random.push(confusion(randomMask(n, seed, tiles[k].index, random), maskU8));
    const otsu = otsuMask(rgbHWC, { invert: opts.invert, scratch });
    confusions.otsu.push(confusion(otsu.maskU8, maskU8));
    otsuThresholds[k] = otsu.threshold;
    const c = confusions.none[k];
    vesselFraction[k] = (c.fn + c.tp) / n;
    opts.onTile?.(k + 1);
  }
  return { tiles, tileSizePx, confusions, otsuThresholds, vesselFraction };
}

/** Every baseline reduced under `mode`. */
export function reduceBaselines(
  scores: BaselineScores,
  mode: Reduction,
): Record<Baseline, Reduced> {
  const out = {} as Record<Baseline, Reduced>;
  for (const b of BASELINES) out[b] = reduce(scores.confusions[b], mode);
  return out;
}

/** Describes each reduction in one sentence for the table notes. */
export const MODE_NOTES: Record<Reduction, string> = {
  micro: "`micro`: all pixels of the split pooled, then scored once.",
  "per-image":
    "`per-image`: mean of per-tile scores; a tile with no vessel and an empty prediction has " +
    "DSC = IoU = 1 (MISeval's rule); sensitivity, specificity and precision leave out tiles " +
    "where they are undefined (0/0).",
  seed: "`seed`: the reference study's convention — a score is 0 when TP = 0 (specificity 0 when " +
    "TN = 0) — scored per tile and averaged over tiles (the study averaged per batch).",
};

/**
 * Table 1: the baselines' scores under `mode` with the study's numbers beside them.
 *
 * @example
 * ```ts ignore
 * import { toMarkdown } from "../report/table.ts";
 * console.log(toMarkdown(table1(reduceBaselines(scores, "seed"), { mode: "seed", split: "all", tiles: 12 })));
 * ```
 */
export function table1(
  reduced: Record<Baseline, Reduced>,
  meta: { mode: Reduction; split: string; tiles: number; tileSizePx?: number },
): Table {
  const columns = [
    { key: "baseline", label: "Baseline" },
    ...METRICS.map((m) => ({ key: m, label: METRIC_LABELS[m] })),
    { key: "study_dsc", label: "Study DSC" },
    { key: "study_iou", label: "Study IoU" },
    { key: "study_sensitivity", label: "Study Sens." },
    { key: "study_specificity", label: "Study Spec." },
  ];
  const rows = BASELINES.map((b) => {
    const r: Record<string, string | number | null> = { baseline: b };
    for (const m of METRICS) r[m] = reduced[b].scores[m];
    const s = STUDY_TABLE1[b];
    r.study_dsc = s.dsc;
    r.study_iou = s.iou;
    r.study_sensitivity = s.sensitivity;
    r.study_specificity = s.specificity;
    return r;
  });
  return {
    title: `Table 1 — baselines (mode ${meta.mode}, split ${meta.split}, ${meta.tiles} tiles` +
      `${meta.tileSizePx ? ` of ${meta.tileSizePx}²` : ""})`,
    columns,
    rows,
    notes: [
      MODE_NOTES[meta.mode],
      "Study columns: the reference study's Table 1 on 1633 real labelled tiles (seed rule, " +
      "averaged per batch); – where it gives no number. Accuracy is shown only to show its bias.",
    ],
  };
}

/**
 * The example tiles: those at the given percentiles (default 10th, 50th, 90th) of vessel
 * fraction, tiles sorted by (vessel fraction, id) and the percentile's position rounded to the
 * nearest rank; a tile picked twice is kept once (at its first percentile). Returns indices into
 * `tiles` with the percentile each was picked at.
 *
 * @example
 * ```ts
 * import { pickExamples } from "./run.ts";
 * const tiles = ["c", "a", "b"].map((id) => ({ id }));
 * const picked = pickExamples(tiles, [0.2, 0.1, 0.1], [0, 1]);
 * console.assert(picked.map((p) => p.index).join() === "1,0");
 * ```
 */
export function pickExamples(
  tiles: readonly { id: string }[],
  vesselFraction: ArrayLike<number>,
  percentiles: readonly number[] = [0.1, 0.5, 0.9],
): { index: number; percentile: number }[] {
  if (tiles.length === 0) return [];
  const order = tiles.map((_, i) => i).sort((a, b) =>
    vesselFraction[a] - vesselFraction[b] ||
    (tiles[a].id < tiles[b].id ? -1 : tiles[a].id > tiles[b].id ? 1 : 0)
  );
  const picked: { index: number; percentile: number }[] = [];
  for (const percentile of percentiles) {
    const index = order[Math.round(percentile * (tiles.length - 1))];
    if (!picked.some((p) => p.index === index)) picked.push({ index, percentile });
  }
  return picked;
}
