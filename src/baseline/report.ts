/**
 * `deno task baseline`'s work: the study's Table 1 — the `none`, `full`, `random` and `otsu`
 * baselines scored on prepared tiles (at their prepared scale) — and its files.
 *
 * Outputs in `outDir`: `table1.md`, `table1.csv`, `table1.json`; `scores_dsc.svg` and
 * `scores_iou.svg` (box plots of per-tile scores per baseline) and `scores_dsc_hist.svg`
 * (histogram); `examples/` with one PNG per example tile (tile | truth outline over the Otsu
 * prediction | TP/FP/FN) and `examples/contact_sheet.png`. Example tiles are those at the
 * 10th/50th/90th percentile of vessel fraction (ties broken by id), never hand-picked. Every file
 * is written atomically.
 *
 * @module
 */
import { join } from "node:path";
import { encodePng } from "../data/png.ts";
import type { Split } from "../data/prepared.ts";
import { openPrepared, type PreparedDataset, tilesOfSplit } from "../data/prepared_io.ts";
import { writeFileAtomic, writeJsonAtomic, writeTextFileAtomic } from "../io.ts";
import { perTile, type Reduction, ruleOf } from "../metrics/reduce.ts";
import { type Metric, METRIC_LABELS } from "../metrics/scores.ts";
import { Progress } from "../progress.ts";
import { contactSheet, overlayPanels, type RgbPicture } from "../report/overlay.ts";
import { boxPlot, histogram } from "../report/svg.ts";
import { toCsv, toJson, toMarkdown } from "../report/table.ts";
import { otsuMask } from "./otsu.ts";
import {
  BASELINES,
  type BaselineScores,
  pickExamples,
  reduceBaselines,
  scoreBaselines,
  STUDY_TABLE1,
  table1,
} from "./run.ts";

/** Percentiles of vessel fraction whose tiles are shown as examples. */
export const EXAMPLE_PERCENTILES = [0.1, 0.5, 0.9];

/** Options of {@linkcode writeBaselineReport}. */
export interface BaselineReportOptions {
  preparedDir: string;
  outDir: string;
  split: Split | "all";
  mode: Reduction;
  /** Seed of the random baseline. */
  seed: number;
  /** Otsu foreground is the dark side. */
  invert: boolean;
  quiet?: boolean;
}

/** Writes the example strips (tile | outline over Otsu | TP/FP/FN) and their contact sheet. */
async function writeExamples(
  ds: PreparedDataset,
  scores: BaselineScores,
  outDir: string,
  invert: boolean,
): Promise<string[]> {
  const picks = pickExamples(scores.tiles, scores.vesselFraction, EXAMPLE_PERCENTILES);
  const strips: RgbPicture[] = [];
  const files: string[] = [];
  for (const { index: i, percentile } of picks) {
    const { rgbHWC, maskU8 } = await ds.read(scores.tiles[i]);
    const pred = otsuMask(rgbHWC, { invert }).maskU8;
    const panels = overlayPanels(rgbHWC, scores.tileSizePx, maskU8, pred);
    const strip = contactSheet(panels, { columns: 3, gapPx: 2 });
    strips.push(...panels);
    const p = String(Math.round(percentile * 100)).padStart(2, "0");
    const name = `examples/p${p}_${scores.tiles[i].id}.png`;
    files.push(name);
    await writeFileAtomic(join(outDir, name), encodePng(strip.rgb, strip.width, strip.height, 3));
  }
  if (strips.length > 0) {
    const sheet = contactSheet(strips, { columns: 3 });
    await writeFileAtomic(
      join(outDir, "examples/contact_sheet.png"),
      encodePng(sheet.rgb, sheet.width, sheet.height, 3),
    );
  }
  return files;
}

/** Writes the per-tile score distributions: DSC and IoU box plots, the DSC histogram. */
async function writeDistributions(
  scores: BaselineScores,
  outDir: string,
  mode: Reduction,
  subtitle: string,
): Promise<void> {
  const dist = (metric: Metric) =>
    BASELINES.map((b) => ({ name: b, values: perTile(scores.confusions[b], metric, mode) }));
  for (const metric of ["dsc", "iou"] as const) {
    await writeTextFileAtomic(
      join(outDir, `scores_${metric}.svg`),
      boxPlot(dist(metric), {
        yDomain: [0, 1],
        title: `Per-tile ${METRIC_LABELS[metric]} of the baselines (${subtitle})`,
        yLabel: METRIC_LABELS[metric],
      }),
    );
  }
  await writeTextFileAtomic(
    join(outDir, "scores_dsc_hist.svg"),
    histogram(dist("dsc"), {
      range: [0, 1],
      bins: 20,
      normalize: true,
      title: `Per-tile DSC of the baselines (${subtitle})`,
      xLabel: "DSC",
      yLabel: "fraction of tiles",
    }),
  );
}

function otsuThresholdSummary(scores: BaselineScores) {
  const t = Array.from(scores.otsuThresholds).sort((a, b) => a - b);
  if (t.length === 0) return null;
  return { min: t[0], median: t[Math.floor(t.length / 2)], max: t[t.length - 1] };
}

/**
 * Scores the baselines and writes every output file; returns Table 1 as Markdown.
 *
 * @example
 * ```ts ignore
 * const md = await writeBaselineReport({ preparedDir: "p", outDir: "b", split: "val", mode: "micro", seed: 0, invert: false });
 * ```
 */
export async function writeBaselineReport(opts: BaselineReportOptions): Promise<string> {
  const { preparedDir, outDir, split, mode, seed, invert } = opts;
  const ds = await openPrepared(preparedDir);
  try {
    const tiles = tilesOfSplit(ds, preparedDir, split);
    const progress = new Progress("baseline", tiles.length, { unit: "tiles", quiet: opts.quiet });
    const scores = await scoreBaselines(ds, { split, seed, invert, onTile: () => progress.tick() });
    progress.done();
    const reduced = reduceBaselines(scores, mode);
    const table = table1(reduced, {
      mode,
      split,
      tiles: tiles.length,
      tileSizePx: scores.tileSizePx,
    });
    const examples = await writeExamples(ds, scores, outDir, invert);
    await writeDistributions(
      scores,
      outDir,
      mode,
      `${split}, ${tiles.length} tiles, ${ruleOf(mode)} rule`,
    );
    table.notes!.push(
      `Examples (examples/): tiles at the ${EXAMPLE_PERCENTILES.map((p) => p * 100).join("/")}th ` +
        "percentile of vessel fraction, ties by id: tile | truth outline (green) over the Otsu " +
        "prediction (yellow) | TP green, FP orange, FN blue" +
        (ds.manifest.ignore?.length
          ? `; ignored pixels (${ds.manifest.ignore.join(", ")}) dark grey, counted nowhere.`
          : "."),
      `Otsu foreground: ${invert ? "dark side (--invert)" : "bright side (grey > threshold)"}; ` +
        `random baseline seed ${seed}.`,
    );
    const md = toMarkdown(table);
    await writeTextFileAtomic(join(outDir, "table1.md"), md);
    await writeTextFileAtomic(join(outDir, "table1.csv"), toCsv(table));
    await writeJsonAtomic(join(outDir, "table1.json"), {
      mode,
      split,
      tiles: tiles.length,
      tileSizePx: scores.tileSizePx,
      seed,
      invert,
      prepared: preparedDir,
      table: toJson(table),
      counts: Object.fromEntries(BASELINES.map((b) => [b, reduced[b].counts])),
      otsuThreshold: otsuThresholdSummary(scores),
      study: STUDY_TABLE1,
      examples,
    });
    return md;
  } finally {
    ds.close();
  }
}
