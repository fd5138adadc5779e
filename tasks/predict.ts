/**
 * `deno task predict` — a trained model applied to any tiles (TIFF or PNG): binary masks,
 * probability maps and, optionally, the competition's submission CSV.
 *
 * ```
 * deno task predict --model RUN[/checkpoints/NAME] --input FILES|DIR [--input …] --out DIR
 *                   [--threshold X] [--tta none|flips] [--submission FILE] [--min-area 0]
 *                   [--dilate 0] [--geojson] [--polygons FILE] [--simplify 0.5]
 *                   [--backend auto|webgpu|wasm|cpu] [--batch-size 4] [--quiet]
 * ```
 *
 * The model's training scale, normalisation and threshold come from the checkpoint (see
 * `src/model/artifact.ts`); see `src/predict/predict.ts` for the inference path and
 * `src/predict/run.ts` for the files written.
 *
 * @module
 */
import * as cli from "../src/cli.ts";
import { flag, QUIET, type TaskOptions } from "../src/cli.ts";
import { predictFiles, type PredictFilesResult } from "../src/predict/run.ts";
import { BACKEND_FLAG } from "../src/runtime/backends.ts";
import { DEFAULT_SIMPLIFY_PX } from "../src/predict/vectors.ts";

/** Options for tests and the demo. */
export type PredictMainOptions = TaskOptions<PredictFilesResult>;

/** The command line of `deno task predict`. */
export const PREDICT = cli.defineTask({
  synopsis: "deno task predict --model RUN --input FILES|DIR --out DIR [flags]",
  summary:
    "Runs a trained model on tiles (TIFF or PNG, any size) at the scale it was trained at and writes\n" +
    "masks/{id}.png (0/255) and prob/{id}.png (8-bit probability) in --out, one tile at a time.",
  flags: {
    model: flag.string({
      required: true,
      arg: "RUN|CHECKPOINT[,…]",
      help: "a training run (its best, else latest checkpoint) or RUN/checkpoints/NAME; " +
        "several, comma-separated: an ensemble averaging their probabilities",
    }),
    input: flag.repeated({
      required: true,
      arg: "FILE|DIR",
      help: "an image file or a folder of .tif/.tiff/.png files; repeatable (required)",
    }),
    out: flag.string({ required: true, arg: "DIR", help: "output folder" }),
    quiet: QUIET,
    threshold: flag.number({
      min: 0,
      max: 1,
      defaultText: "the run's saved threshold",
      help: "vessel when probability > X",
    }),
    tta: flag.choice(["none", "flips"], {
      default: "none",
      help: "flips: average with the h, v and hv flipped predictions",
    }),
    submission: flag.string({
      arg: "FILE",
      help: "also write the competition CSV id,height,width,prediction_string",
    }),
    "min-area": flag.number({
      default: 0,
      min: 0,
      integer: true,
      help: "submission, GeoJSON, polygons: drop instances under N pixels (before dilation)",
    }),
    dilate: flag.number({
      default: 0,
      min: 0,
      max: 64,
      integer: true,
      help: "submission: dilate each instance by N pixels, square element",
    }),
    geojson: flag.boolean({
      help: "also write geojson/{id}.geojson: the vessels as polygons for QuPath (pixel corners " +
        "at integers)",
    }),
    polygons: flag.string({
      arg: "FILE",
      help: "also write the vessels in the competition's polygons.jsonl schema (prepare reads " +
        "it as labels)",
    }),
    simplify: flag.number({
      default: DEFAULT_SIMPLIFY_PX,
      min: 0,
      max: 10,
      arg: "PX",
      help: "GeoJSON, polygons: Douglas–Peucker tolerance of the outlines; 0 keeps every corner",
    }),
    backend: BACKEND_FLAG,
    "batch-size": flag.number({
      default: 4,
      min: 1,
      integer: true,
      help: "model-scale windows per forward pass",
    }),
  },
});

/** Entry point; returns the exit code. */
export const main: (args: string[], opts?: PredictMainOptions) => Promise<number> = cli.taskMain(
  PREDICT,
  async (f, opts) => {
    const r = await predictFiles({
      ...cli.camelFlags(f),
      inputs: f.input,
      keepBackend: opts.keepBackend,
      log: opts.log,
    });
    const submission =
      (r.submission === undefined ? "" : `; ${r.instances} instance(s) in ${r.submission}`) +
      (f.geojson ? `; ${r.out}/geojson` : "") +
      (r.polygonsFile === undefined ? "" : `; ${r.polygons} polygon(s) in ${r.polygonsFile}`);
    cli.deliver(
      opts,
      r,
      `predicted ${r.tiles} tile(s) with ${r.checkpoint} (threshold ${r.threshold}) on ` +
        `${r.backend}: ${r.out}/masks, ${r.out}/prob${submission}`,
    );
    return 0;
  },
);

if (import.meta.main) Deno.exit(await cli.runMain(main, Deno.args));
