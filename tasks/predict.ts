/**
 * `deno task predict` — a trained model applied to any tiles (TIFF or PNG): binary masks,
 * probability maps and, optionally, the competition's submission CSV.
 *
 * ```
 * deno task predict --model RUN[/checkpoints/epoch-NNNN] --input FILES|DIR [--input …] --out DIR
 *                   [--threshold 0.5] [--tta none|flips] [--submission FILE] [--min-area 0]
 *                   [--dilate 0] [--backend auto|webgpu|wasm|cpu] [--batch-size 4] [--quiet]
 * ```
 *
 * The model's training scale and normalisation come from the prepared dataset it was trained on
 * (its config's `prepared` → `manifest.json`); see `src/predict/predict.ts` for the inference path
 * and `src/predict/run.ts` for the files written.
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
import { predictFiles, type PredictFilesResult } from "../src/predict/run.ts";
import { BACKEND_CHOICES } from "../src/train/backends.ts";

/** Options for tests: keep the active backend, silence logs, receive the result. */
export interface PredictMainOptions {
  keepBackend?: boolean;
  log?: (line: string) => void;
  onResult?: (r: PredictFilesResult) => void;
  /** Where the summary line goes. Default: stdout. */
  print?: (text: string) => void;
}

const USAGE = `deno task predict --model RUN --input FILES|DIR --out DIR [flags]

Runs a trained model on tiles (TIFF or PNG, any size) at the scale it was trained at and writes
masks/{id}.png (0/255) and prob/{id}.png (8-bit probability) in --out, one tile at a time.

  --model RUN|CHECKPOINT     training run (its last checkpoint) or RUN/checkpoints/epoch-NNNN (required)
  --input FILE|DIR           an image file or a folder of .tif/.tiff/.png files; repeatable (required)
  --out DIR                  output folder (required)
  --threshold X              vessel when probability > X (default 0.5)
  --tta none|flips           flips: average with the h, v and hv flipped predictions (default none)
  --submission FILE          also write the competition CSV id,height,width,prediction_string
  --min-area N               submission: drop instances under N pixels, before dilation (default 0)
  --dilate N                 submission: dilate each instance by N pixels, square element (default 0)
  --backend auto|webgpu|wasm|cpu  inference backend (default auto)
  --batch-size N             model-scale windows per forward pass (default 4)
  --quiet                    no progress output
  --help                     print this text`;

/** Entry point; returns the exit code. */
export async function main(args: string[], opts: PredictMainOptions = {}): Promise<number> {
  if (wantsHelp(args)) {
    console.log(USAGE);
    return 0;
  }
  const flags = parseFlags(args, {
    model: { type: "string" },
    input: { type: "string", multiple: true },
    out: { type: "string" },
    threshold: { type: "string" },
    tta: { type: "string" },
    submission: { type: "string" },
    "min-area": { type: "string" },
    dilate: { type: "string" },
    backend: { type: "string" },
    "batch-size": { type: "string" },
    quiet: { type: "boolean" },
  });
  const model = requireString(flags, "model");
  const out = requireString(flags, "out");
  const inputs = (flags.input as unknown as string[] | undefined) ?? [];
  if (inputs.length === 0 || inputs.some((s) => s === "")) {
    throw new UsageError("--input is required (a file or a folder, repeatable)");
  }
  const threshold = numberFlag(flags.threshold, "threshold", 0.5, { min: 0, max: 1 });
  const tta = choiceFlag(flags.tta, "tta", ["none", "flips"] as const, "none");
  const minArea = numberFlag(flags["min-area"], "min-area", 0, { min: 0, integer: true });
  const dilate = numberFlag(flags.dilate, "dilate", 0, { min: 0, max: 64, integer: true });
  const backend = choiceFlag(flags.backend, "backend", BACKEND_CHOICES, "auto");
  const batchSize = numberFlag(flags["batch-size"], "batch-size", 4, { min: 1, integer: true });
  const submission = flags.submission;
  if (submission !== undefined && (typeof submission !== "string" || submission === "")) {
    throw new UsageError("--submission needs a file path");
  }
  const r = await predictFiles({
    model,
    inputs,
    out,
    threshold,
    tta,
    minArea,
    dilate,
    backend,
    batchSize,
    quiet: flags.quiet === true,
    keepBackend: opts.keepBackend,
    log: opts.log,
    ...(submission === undefined ? {} : { submission: submission as string }),
  });
  opts.onResult?.(r);
  const print = opts.print ?? ((t: string) => console.log(t));
  print(
    `predicted ${r.tiles} tile(s) with ${r.checkpoint} on ${r.backend}: ${r.out}/masks, ${r.out}/prob` +
      (r.submission === undefined ? "" : `; ${r.instances} instance(s) in ${r.submission}`),
  );
  return 0;
}

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
