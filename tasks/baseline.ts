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
import { defineTask, flag, QUIET, runMain, taskMain } from "../src/cli.ts";
import { withOutput } from "../src/io.ts";
import { REDUCTIONS } from "../src/metrics/reduce.ts";
import { writeBaselineReport } from "../src/baseline/report.ts";

/** The command line of `deno task baseline`. */
export const BASELINE = defineTask({
  synopsis: "deno task baseline --prepared DIR --out DIR [flags]",
  summary:
    "Scores the none / full / random / Otsu baselines on the prepared tiles (the study's Table 1) and\n" +
    "writes table1.{md,csv,json}, per-tile score distributions (SVG) and example overlays (PNG).",
  flags: {
    prepared: flag.string({ required: true, arg: "DIR", help: "output of deno task prepare" }),
    out: flag.string({
      required: true,
      arg: "DIR",
      help: "where the table, plots and examples go",
    }),
    split: flag.choice(["all", "train", "val"], { default: "all", help: "tiles to score" }),
    mode: flag.choice(REDUCTIONS, {
      default: "micro",
      help:
        "reduction: pooled pixels, mean of per-tile scores, or the study's convention (score 0 when TP = 0)",
    }),
    seed: flag.seed("seed of the random baseline"),
    invert: flag.boolean({ help: "Otsu foreground is the dark side instead of the bright side" }),
    quiet: QUIET,
  },
});

/** Entry point; returns the exit code. */
export const main: (args: string[]) => Promise<number> = taskMain(BASELINE, async (f) => {
  const md = await withOutput(f.out, { inputs: [f.prepared] }, () =>
    writeBaselineReport({
      preparedDir: f.prepared,
      outDir: f.out,
      split: f.split,
      mode: f.mode,
      seed: f.seed,
      invert: f.invert,
      quiet: f.quiet,
    }));
  console.log(md);
  return 0;
});

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
