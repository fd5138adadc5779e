/**
 * `deno task baseline` — the study's Table 1: scores the `none`, `full`, `random` and `otsu`
 * baselines on prepared tiles (at their prepared scale) and writes the table, the per-tile score
 * distributions and example overlays.
 *
 * ```
 * deno task baseline --prepared DIR --out DIR [--split all|train|val] [--mode micro|per-image|seed]
 *                    [--seed 0] [--invert]
 * ```
 *
 * Outputs in `--out`: `table1.md`, `table1.csv`, `table1.json`; `scores_dsc.svg` and
 * `scores_iou.svg` (box plots of per-tile scores per baseline) and `scores_dsc_hist.svg`
 * (histogram); `examples/` with one PNG per example tile (tile | truth outline over the Otsu
 * prediction | TP/FP/FN) and `examples/contact_sheet.png`. Example tiles are those at the
 * 10th/50th/90th percentile of vessel fraction (ties broken by id), never hand-picked. Every file
 * is written atomically. Prints the Markdown table.
 *
 * @module
 */
import { join } from "node:path";
import {
  choiceFlag,
  numberFlag,
  parseFlags,
  requireString,
  runMain,
  wantsHelp,
} from "../src/cli.ts";
import { encodePng } from "../src/data/png.ts";
import { openPrepared } from "../src/data/prepared_io.ts";
import { InputError } from "../src/errors.ts";
import { writeFileAtomic, writeJsonAtomic, writeTextFileAtomic } from "../src/io.ts";
import { perTile, REDUCTIONS, ruleOf } from "../src/metrics/reduce.ts";
import { type Metric, METRIC_LABELS } from "../src/metrics/scores.ts";
import { Progress } from "../src/progress.ts";
import {
  confusionOverlay,
  contactSheet,
  predictionOverlay,
  type RgbPicture,
} from "../src/report/overlay.ts";
import { boxPlot, histogram } from "../src/report/svg.ts";
import { toCsv, toJson, toMarkdown } from "../src/report/table.ts";
import { otsuMask } from "../src/baseline/otsu.ts";
import {
  BASELINES,
  pickExamples,
  reduceBaselines,
  scoreBaselines,
  STUDY_TABLE1,
  table1,
} from "../src/baseline/run.ts";

const SPLITS = ["all", "train", "val"] as const;
const PERCENTILES = [0.1, 0.5, 0.9];

const USAGE = `deno task baseline --prepared DIR --out DIR [flags]

Scores the none / full / random / Otsu baselines on the prepared tiles (the study's Table 1) and
writes table1.{md,csv,json}, per-tile score distributions (SVG) and example overlays (PNG).

  --prepared DIR             output of deno task prepare (required)
  --out DIR                  where the table, plots and examples go (required)
  --split all|train|val      tiles to score (default all)
  --mode micro|per-image|seed  reduction: pooled pixels, mean of per-tile scores, or the study's
                             convention (score 0 when TP = 0); default micro
  --seed N                   seed of the random baseline (default 0)
  --invert                   Otsu foreground is the dark side instead of the bright side
  --quiet                    no progress output
  --help                     print this text`;

/** Entry point; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(USAGE);
    return 0;
  }
  const flags = parseFlags(args, {
    prepared: { type: "string" },
    out: { type: "string" },
    split: { type: "string" },
    mode: { type: "string" },
    seed: { type: "string" },
    invert: { type: "boolean" },
    quiet: { type: "boolean" },
  });
  const preparedDir = requireString(flags, "prepared");
  const outDir = requireString(flags, "out");
  const split = choiceFlag(flags.split, "split", SPLITS, "all");
  const mode = choiceFlag(flags.mode, "mode", REDUCTIONS, "micro");
  const seed = numberFlag(flags.seed, "seed", 0, { integer: true, min: 0, max: 0xffffffff });
  const invert = flags.invert === true;

  const ds = await openPrepared(preparedDir);
  try {
    const tiles = ds.tiles(split);
    if (tiles.length === 0) {
      throw new InputError(
        join(preparedDir, "manifest.json"),
        undefined,
        `no tiles in split "${split}"`,
      );
    }
    const progress = new Progress("baseline", tiles.length, {
      unit: "tiles",
      quiet: flags.quiet === true,
    });
    const scores = await scoreBaselines(ds, { split, seed, invert, onTile: () => progress.tick() });
    progress.done();
    const reduced = reduceBaselines(scores, mode);
    const table = table1(reduced, {
      mode,
      split,
      tiles: tiles.length,
      tileSizePx: scores.tileSizePx,
    });

    // Examples: the tiles at fixed percentiles of vessel fraction.
    const picks = pickExamples(scores.tiles, scores.vesselFraction, PERCENTILES);
    const size = scores.tileSizePx;
    const strips: RgbPicture[] = [];
    const exampleFiles: string[] = [];
    for (const { index: i, percentile } of picks) {
      const { rgbHWC, maskU8 } = await ds.read(scores.tiles[i]);
      const pred = otsuMask(rgbHWC, { invert }).maskU8;
      const panels: RgbPicture[] = [
        { width: size, height: size, rgb: rgbHWC },
        { width: size, height: size, rgb: predictionOverlay(rgbHWC, size, size, maskU8, pred) },
        { width: size, height: size, rgb: confusionOverlay(rgbHWC, size, size, maskU8, pred) },
      ];
      const strip = contactSheet(panels, { columns: 3, gapPx: 2 });
      strips.push(...panels);
      const p = String(Math.round(percentile * 100)).padStart(2, "0");
      const name = `examples/p${p}_${scores.tiles[i].id}.png`;
      exampleFiles.push(name);
      await writeFileAtomic(join(outDir, name), encodePng(strip.rgb, strip.width, strip.height, 3));
    }
    if (strips.length > 0) {
      const sheet = contactSheet(strips, { columns: 3 });
      await writeFileAtomic(
        join(outDir, "examples/contact_sheet.png"),
        encodePng(sheet.rgb, sheet.width, sheet.height, 3),
      );
    }

    // Per-tile score distributions.
    const rule = ruleOf(mode);
    const dist = (metric: Metric) =>
      BASELINES.map((b) => ({ name: b, values: perTile(scores.confusions[b], metric, mode) }));
    const subtitle = `${split}, ${tiles.length} tiles, ${rule} rule`;
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

    table.notes!.push(
      `Examples (examples/): tiles at the ${PERCENTILES.map((p) => p * 100).join("/")}th ` +
        "percentile of vessel fraction, ties by id: tile | truth outline (green) over the Otsu " +
        "prediction (yellow) | TP green, FP orange, FN blue.",
      `Otsu foreground: ${invert ? "dark side (--invert)" : "bright side (grey > threshold)"}; ` +
        `random baseline seed ${seed}.`,
    );
    const md = toMarkdown(table);
    const counts = Object.fromEntries(BASELINES.map((b) => [b, reduced[b].counts]));
    const thresholds = Array.from(scores.otsuThresholds).sort((a, b) => a - b);
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
      counts,
      otsuThreshold: thresholds.length
        ? {
          min: thresholds[0],
          median: thresholds[Math.floor(thresholds.length / 2)],
          max: thresholds[thresholds.length - 1],
        }
        : null,
      study: STUDY_TABLE1,
      examples: exampleFiles,
    });
    console.log(md);
    return 0;
  } finally {
    ds.close();
  }
}

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
