/**
 * `deno task prepare --data DIR --out DIR [--scale 1|0.5|0.25] [--split random|wsi|fold]
 * [--val-fraction 0.1] [--folds 5 --fold 0] [--datasets 1,2] [--ignore unsure,glomerulus]
 * [--seed 0] [--classes blood_vessel[,glomerulus,unsure]] [--skip-invalid] [--quiet]`
 *
 * Turns a Kaggle "HuBMAP – Hacking the Human Vasculature" layout into masks, a train/val split,
 * training-split statistics and raw shards for the trainer (see `src/data/prepare.ts`).
 *
 * @module
 */
import { defineTask, flag, QUIET, runMain, taskMain } from "../src/cli.ts";
import { UsageError } from "../src/errors.ts";
import { withOutput } from "../src/io.ts";
import { ALL_CLASSES, prepare } from "../src/data/prepare.ts";
import { SPLIT_METHODS } from "../src/data/split.ts";

/** The command line of `deno task prepare`. */
export const PREPARE = defineTask({
  synopsis: "deno task prepare --data DIR --out DIR [flags]",
  summary:
    "Rasterises the blood_vessel polygons of every annotated tile into masks, splits train/val,\n" +
    "computes training-split colour statistics and writes raw shards for the trainer.",
  flags: {
    data: flag.string({
      required: true,
      arg: "DIR",
      help: "Kaggle layout: polygons.jsonl, tile_meta.csv, wsi_meta.csv, train/",
    }),
    out: flag.string({
      required: true,
      arg: "DIR",
      help: "prepared folder: manifest.json, images.u8, masks.u8, masks/{id}.png",
    }),
    scale: flag.choice(["1", "0.5", "0.25"], {
      default: "1",
      help: "downscale with area averaging (OpenCV INTER_AREA); the study used 0.25",
    }),
    split: flag.choice(SPLIT_METHODS, {
      default: "random",
      help: "random tiles; whole source_wsi slides held out (wsi); K folds of slides (fold)",
    }),
    "val-fraction": flag.number({
      default: 0.1,
      min: 0,
      max: 1,
      arg: "F",
      help: "validation share; 0 = all train, 1 = all val (an evaluation-only set)",
    }),
    folds: flag.number({ default: 5, min: 2, integer: true, help: "--split fold: folds" }),
    fold: flag.number({
      default: 0,
      min: 0,
      integer: true,
      help: "--split fold: the validation fold, 0 to folds − 1",
    }),
    datasets: flag.list({
      arg: "1,2,…",
      defaultText: "all",
      help: "keep tiles of these tile_meta.csv datasets (Kaggle: 1 reviewed, 2 not, 3 unannotated)",
    }),
    ignore: flag.list({
      choices: ALL_CLASSES.filter((c) => c !== "blood_vessel"),
      defaultText: "none",
      help: "classes whose pixels no loss or metric counts (stored as 2 in the masks)",
    }),
    seed: flag.number({ default: 0, min: 0, integer: true, help: "split seed" }),
    classes: flag.list({
      choices: ALL_CLASSES,
      defaultText: "blood_vessel",
      help: "mask classes, comma-separated",
    }),
    "skip-invalid": flag.boolean({
      help: "skip and list bad annotations/tiles in manifest.json instead of stopping",
    }),
    quiet: QUIET,
  },
});

/** Entry point; returns the exit code. */
export const main: (args: string[]) => Promise<number> = taskMain(
  PREPARE,
  async (f, _opts, args) => {
    const valFraction = f["val-fraction"];
    if (f.split === "fold" && f.fold >= f.folds) {
      throw new UsageError(
        `--fold must be from 0 to ${f.folds - 1} (--folds ${f.folds}), got ${f.fold}`,
      );
    }
    if (f.split !== "fold" && args.some((a) => /^--folds?(=|$)/.test(a))) {
      throw new UsageError("--folds and --fold need --split fold");
    }
    const datasets = f.datasets?.map((d) => {
      if (!/^[0-9]+$/.test(d)) throw new UsageError(`--datasets: "${d}" is not a dataset number`);
      return Number(d);
    });
    await withOutput(f.out, { inputs: [f.data] }, () =>
      prepare({
        data: f.data,
        out: f.out,
        scale: Number(f.scale),
        split: f.split,
        valFraction,
        folds: f.folds,
        fold: f.fold,
        ...(datasets ? { datasets } : {}),
        ignore: f.ignore ?? [],
        seed: f.seed,
        skipInvalid: f["skip-invalid"],
        classes: f.classes ?? [],
        command: ["deno", "task", "prepare", ...args],
        quiet: f.quiet,
      }));
    return 0;
  },
);

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
