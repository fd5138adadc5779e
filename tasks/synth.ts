/**
 * `deno task synth --out DIR --tiles N --seed S [--test-tiles 2] [--compression deflate|none]
 * [--force] [--quiet]` — writes a synthetic dataset in the Kaggle HuBMAP layout (see
 * `src/data/synth_dataset.ts`): `train/*.tif`, `test/*.tif`, `polygons.jsonl`, `tile_meta.csv`,
 * `wsi_meta.csv`.
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
import { Progress } from "../src/progress.ts";
import { writeSynthDataset } from "../src/data/synth_dataset.ts";

const USAGE = `deno task synth --out DIR [flags]

Writes a synthetic PAS-like dataset in the Kaggle HuBMAP layout: train/*.tif, test/*.tif,
polygons.jsonl, tile_meta.csv, wsi_meta.csv. Same seed → byte-identical files.

  --out DIR                  output folder; must be empty or absent unless --force (required)
  --tiles N                  training tiles (default 100; some get no annotation line, like Kaggle)
  --seed S                   random seed (default 0)
  --test-tiles N             tiles in test/ (default 2)
  --compression deflate|none TIFF compression (default deflate, with horizontal predictor)
  --force                    replace a non-empty --out
  --quiet                    no progress output
  --help                     print this text`;

/** Entry point; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(USAGE);
    return 0;
  }
  const flags = parseFlags(args, {
    out: { type: "string" },
    tiles: { type: "string" },
    seed: { type: "string" },
    "test-tiles": { type: "string" },
    compression: { type: "string" },
    force: { type: "boolean" },
    quiet: { type: "boolean" },
  });
  const out = requireString(flags, "out");
  const tiles = numberFlag(flags.tiles, "tiles", 100, { min: 1, max: 100_000, integer: true });
  const seed = numberFlag(flags.seed, "seed", 0, { min: 0, max: 0xffffffff, integer: true });
  const testTiles = numberFlag(flags["test-tiles"], "test-tiles", 2, {
    min: 0,
    max: 1000,
    integer: true,
  });
  const compression = choiceFlag(
    flags.compression,
    "compression",
    ["deflate", "none"] as const,
    "deflate",
  );
  const quiet = flags.quiet === true;
  const progress = new Progress("synth", tiles + testTiles, { unit: "tiles", quiet });
  const summary = await writeSynthDataset(out, {
    tiles,
    seed,
    testTiles,
    compression,
    force: flags.force === true,
    onTile: () => progress.tick(),
  });
  progress.done();
  if (!quiet) {
    console.log(
      `synth: wrote ${summary.tiles} train + ${summary.testTiles} test tiles to ${out} ` +
        `(${summary.annotatedTiles} annotated, ${summary.vessels} vessels, ` +
        `${summary.tilesWithoutVessel} annotated without vessel, ${summary.glomeruli} glomeruli, ` +
        `${summary.unsure} unsure, ${summary.holes} with holes)`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
