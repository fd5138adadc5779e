/**
 * Table 3 of the study — the U-Net's scores after each checkpointed epoch — built from per-tile
 * confusions, with the Otsu baseline on the same tiles beside it for contrast. Every reduction
 * (`micro`, `per-image`, `seed`; see `src/metrics/reduce.ts`) gets its own block of rows.
 *
 * @module
 */
import type { Confusion } from "../metrics/confusion.ts";
import { reduce, type Reduced, type Reduction, REDUCTIONS } from "../metrics/reduce.ts";
import { METRIC_LABELS } from "../metrics/scores.ts";
import { MODE_NOTES } from "../baseline/run.ts";
import type { Table } from "../report/table.ts";

/** The scores Table 3 shows, in column order. */
export const TABLE3_METRICS = ["dsc", "iou", "sensitivity", "specificity", "precision"] as const;

/** One of {@linkcode TABLE3_METRICS}. */
export type Table3Metric = typeof TABLE3_METRICS[number];

/** One scored model: a checkpoint (`epoch` set) or a baseline (`epoch` null). */
export interface ScoredModel {
  /** Row label, e.g. "U-Net" or "Otsu". */
  name: string;
  /** Epochs trained, or `null` for a baseline. */
  epoch: number | null;
  /** One confusion per tile, same tile order for every model. */
  confusions: Confusion[];
}

/** A row of Table 3 as numbers. */
export interface Table3Row {
  mode: Reduction;
  model: string;
  epoch: number | null;
  scores: Record<Table3Metric, number>;
  /** Tiles (per-image, seed) or 1 (micro) each score is over. */
  counts: Record<Table3Metric, number>;
}

/** Reduces every model under every reduction: rows grouped by mode, models in the given order. */
export function table3Rows(models: readonly ScoredModel[]): Table3Row[] {
  const rows: Table3Row[] = [];
  for (const mode of REDUCTIONS) {
    for (const m of models) {
      const r: Reduced = reduce(m.confusions, mode);
      const scores = {} as Record<Table3Metric, number>;
      const counts = {} as Record<Table3Metric, number>;
      for (const k of TABLE3_METRICS) {
        scores[k] = r.scores[k];
        counts[k] = r.counts[k];
      }
      rows.push({ mode, model: m.name, epoch: m.epoch, scores, counts });
    }
  }
  return rows;
}

/**
 * Table 3 as a {@linkcode Table} (Markdown/CSV/JSON through `src/report/table.ts`).
 *
 * @example
 * ```ts
 * import { table3, table3Rows } from "./table3.ts";
 * const c = { tp: 1, fp: 1, fn: 0, tn: 2 };
 * const t = table3(table3Rows([{ name: "U-Net", epoch: 2, confusions: [c] }]), { split: "val", tiles: 1 });
 * console.assert(t.rows.length === 3 && t.rows[0].dsc === 2 / 3);
 * ```
 */
export function table3(
  rows: readonly Table3Row[],
  meta: { split: string; tiles: number; tileSizePx?: number; threshold?: number },
): Table {
  return {
    title: `Table 3 — U-Net checkpoints vs Otsu (split ${meta.split}, ${meta.tiles} tiles` +
      `${meta.tileSizePx ? ` of ${meta.tileSizePx}²` : ""}` +
      `${meta.threshold !== undefined ? `, threshold ${meta.threshold}` : ""})`,
    columns: [
      { key: "mode", label: "Mode" },
      { key: "model", label: "Model" },
      { key: "epoch", label: "Epoch", digits: 0 },
      ...TABLE3_METRICS.map((m) => ({ key: m, label: METRIC_LABELS[m] })),
    ],
    rows: rows.map((r) => ({ mode: r.mode, model: r.model, epoch: r.epoch, ...r.scores })),
    notes: [
      ...REDUCTIONS.map((m) => MODE_NOTES[m]),
      "Epoch: epochs trained when the checkpoint was written; – for the baseline. Otsu is " +
      "scored on the same tiles at the same scale (bright side, as the study).",
    ],
  };
}

/**
 * The short comparison the demo prints: Otsu and the last checkpoint, DSC / IoU / sensitivity /
 * specificity under `micro` and `per-image`.
 */
export function comparisonTable(rows: readonly Table3Row[], otsuName = "Otsu"): Table {
  const lastEpoch = Math.max(...rows.filter((r) => r.epoch !== null).map((r) => r.epoch!));
  const pick = rows.filter((r) =>
    (r.mode === "micro" || r.mode === "per-image") &&
    (r.model === otsuName || r.epoch === lastEpoch)
  );
  return {
    columns: [
      { key: "model", label: "Model" },
      { key: "mode", label: "Mode" },
      { key: "dsc", label: "DSC" },
      { key: "iou", label: "IoU" },
      { key: "sensitivity", label: "Sensitivity" },
      { key: "specificity", label: "Specificity" },
    ],
    rows: pick.map((r) => ({
      model: r.epoch === null ? r.model : `${r.model} (epoch ${r.epoch})`,
      mode: r.mode,
      ...r.scores,
    })),
  };
}
