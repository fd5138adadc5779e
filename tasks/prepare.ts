/**
 * `deno task prepare --data DIR --out DIR [--scale 1|0.5|0.25] [--split random|wsi]
 * [--val-fraction 0.1] [--seed 0] [--classes blood_vessel[,glomerulus,unsure]] [--skip-invalid]
 * [--quiet]`
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
    split: flag.choice(["random", "wsi"], {
      default: "random",
      help: "random tiles, or whole source_wsi slides held out",
    }),
    "val-fraction": flag.number({
      default: 0.1,
      min: 0,
      max: 1,
      arg: "F",
      help: "validation share, 0 < F < 1",
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
    if (valFraction <= 0 || valFraction >= 1) {
      throw new UsageError(
        `--val-fraction must be between 0 and 1 (exclusive), got ${valFraction}`,
      );
    }
    await withOutput(f.out, { inputs: [f.data] }, () =>
      prepare({
        data: f.data,
        out: f.out,
        scale: Number(f.scale),
        split: f.split,
        valFraction,
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
