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
import {
  choiceFlag,
  numberFlag,
  parseFlags,
  requireString,
  runMain,
  wantsHelp,
} from "../src/cli.ts";
import { UsageError } from "../src/errors.ts";
import type { AnnotationType } from "../src/data/kaggle.ts";
import { ALL_CLASSES, prepare } from "../src/data/prepare.ts";

const USAGE = `deno task prepare --data DIR --out DIR [flags]

Rasterises the blood_vessel polygons of every annotated tile into masks, splits train/val,
computes training-split colour statistics and writes raw shards for the trainer.

  --data DIR                 Kaggle layout: polygons.jsonl, tile_meta.csv, wsi_meta.csv, train/ (required)
  --out DIR                  prepared folder: manifest.json, images.u8, masks.u8, masks/{id}.png (required)
  --scale 1|0.5|0.25         downscale with area averaging (OpenCV INTER_AREA); default 1, the study used 0.25
  --split random|wsi         random tiles (default) or whole source_wsi slides held out
  --val-fraction F           validation share, 0 < F < 1 (default 0.1)
  --seed N                   split seed (default 0)
  --classes LIST             mask classes, comma-separated: blood_vessel (default), glomerulus, unsure
  --skip-invalid             skip and list bad annotations/tiles in manifest.json instead of stopping
  --quiet                    no progress output
  --help                     print this text`;

/** Entry point; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(USAGE);
    return 0;
  }
  const flags = parseFlags(args, {
    data: { type: "string" },
    out: { type: "string" },
    scale: { type: "string" },
    split: { type: "string" },
    "val-fraction": { type: "string" },
    seed: { type: "string" },
    classes: { type: "string" },
    "skip-invalid": { type: "boolean" },
    quiet: { type: "boolean" },
  });
  const data = requireString(flags, "data");
  const out = requireString(flags, "out");
  const scale = Number(choiceFlag(flags.scale, "scale", ["1", "0.5", "0.25"] as const, "1"));
  const split = choiceFlag(flags.split, "split", ["random", "wsi"] as const, "random");
  const valFraction = numberFlag(flags["val-fraction"], "val-fraction", 0.1, { min: 0, max: 1 });
  if (valFraction <= 0 || valFraction >= 1) {
    throw new UsageError(`--val-fraction must be between 0 and 1 (exclusive), got ${valFraction}`);
  }
  const seed = numberFlag(flags.seed, "seed", 0, { integer: true, min: 0 });
  const classes = typeof flags.classes === "string"
    ? flags.classes.split(",").map((c) => c.trim())
    : [];
  for (const c of classes) {
    if (!(ALL_CLASSES as readonly string[]).includes(c)) {
      throw new UsageError(`--classes: unknown class "${c}" (known: ${ALL_CLASSES.join(", ")})`);
    }
  }
  await prepare({
    data,
    out,
    scale,
    split,
    valFraction,
    seed,
    skipInvalid: flags["skip-invalid"] === true,
    classes: classes as AnnotationType[],
    command: ["deno", "task", "prepare", ...args],
    quiet: flags.quiet === true,
  });
  return 0;
}

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
