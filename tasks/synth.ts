/**
 * `deno task synth --out DIR --tiles N --seed S [--test-tiles 2] [--compression deflate|none]
 * [--force] [--quiet]` — writes a synthetic dataset in the Kaggle HuBMAP layout (see
 * `src/data/synth_dataset.ts`): `train/*.tif`, `test/*.tif`, `polygons.jsonl`, `tile_meta.csv`,
 * `wsi_meta.csv`.
 *
 * @module
 */
import { defineTask, flag, QUIET, runMain, taskMain } from "../src/cli.ts";
import { Progress } from "../src/progress.ts";
import { writeSynthDataset } from "../src/data/synth_dataset.ts";

/** The command line of `deno task synth`. */
export const SYNTH = defineTask({
  synopsis: "deno task synth --out DIR [flags]",
  summary:
    "Writes a synthetic PAS-like dataset in the Kaggle HuBMAP layout: train/*.tif, test/*.tif,\n" +
    "polygons.jsonl, tile_meta.csv, wsi_meta.csv. Same seed → byte-identical files.",
  flags: {
    out: flag.string({
      required: true,
      arg: "DIR",
      help: "output folder; must be empty or absent unless --force",
    }),
    tiles: flag.number({
      default: 100,
      min: 1,
      max: 100_000,
      integer: true,
      help: "training tiles (some get no annotation line, like Kaggle)",
    }),
    seed: flag.seed("random seed"),
    "test-tiles": flag.number({
      default: 2,
      min: 0,
      max: 1000,
      integer: true,
      help: "tiles in test/",
    }),
    compression: flag.choice(["deflate", "none"], {
      default: "deflate",
      help: "TIFF compression (deflate with horizontal predictor)",
    }),
    force: flag.boolean({ help: "replace a non-empty --out" }),
    quiet: QUIET,
  },
});

/** Entry point; returns the exit code. */
export const main: (args: string[]) => Promise<number> = taskMain(SYNTH, async (f) => {
  const progress = new Progress("synth", f.tiles + f["test-tiles"], {
    unit: "tiles",
    quiet: f.quiet,
  });
  const summary = await writeSynthDataset(f.out, {
    tiles: f.tiles,
    seed: f.seed,
    testTiles: f["test-tiles"],
    compression: f.compression,
    force: f.force,
    onTile: () => progress.tick(),
  });
  progress.done();
  if (!f.quiet) {
    console.log(
      `synth: wrote ${summary.tiles} train + ${summary.testTiles} test tiles to ${f.out} ` +
        `(${summary.annotatedTiles} annotated, ${summary.vessels} vessels, ` +
        `${summary.tilesWithoutVessel} annotated without vessel, ${summary.glomeruli} glomeruli, ` +
        `${summary.unsure} unsure, ${summary.holes} with holes)`,
    );
  }
  return 0;
});

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
