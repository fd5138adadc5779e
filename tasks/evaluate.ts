/**
 * `deno task evaluate` — the study's Table 3 and figures for a training run: every epoch
 * checkpoint and the Otsu baseline scored on one split (DSC, IoU, sensitivity, specificity,
 * precision; `micro`, `per-image` and `seed` modes), training curves from `log.jsonl`, the
 * per-tile DSC distribution, overlays of the best/median/worst tile and `report.md`.
 *
 * ```
 * deno task evaluate --run RUN --prepared DIR [--split val|train|all] [--threshold 0.5]
 *                    [--out RUN/eval] [--backend auto|webgpu|wasm|cpu] [--batch-size N]
 *                    [--baseline DIR] [--quiet]
 * ```
 *
 * `--baseline DIR`: a `deno task baseline --out` directory whose Table 1 `report.md` includes.
 * `--batch-size`: tiles per forward pass (default: the run's training batch size).
 * See `src/evaluate/run.ts` for the files written. Prints Table 3 and the path of `report.md`.
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
import { type EvaluateResult, evaluateRun } from "../src/evaluate/run.ts";
import { toMarkdown } from "../src/report/table.ts";
import { BACKEND_CHOICES } from "../src/train/backends.ts";

const SPLITS = ["val", "train", "all"] as const;

/** Options for tests and the demo: keep the active backend, silence logs. */
export interface EvaluateMainOptions {
  keepBackend?: boolean;
  log?: (line: string) => void;
  /** Receives the result (the demo prints its own table). */
  onResult?: (r: EvaluateResult) => void;
  /** Where Table 3 is printed. Default: stdout. */
  print?: (text: string) => void;
}

const USAGE = `deno task evaluate --run RUN --prepared DIR [flags]

Scores every checkpoint of a training run and the Otsu baseline on one split (the study's
Table 3), draws the training curves, the per-tile DSC distribution and overlays, and writes
report.md linking them.

  --run RUN                  training run folder (deno task train --out) (required)
  --prepared DIR             prepared dataset the run was trained on (required)
  --split val|train|all      tiles to score (default val)
  --threshold X              probability threshold of the predicted masks (default 0.5)
  --out DIR                  where the tables and figures go (default RUN/eval)
  --backend auto|webgpu|wasm|cpu  inference backend (default auto)
  --batch-size N             tiles per forward pass (default: the run's training batch size)
  --baseline DIR             a deno task baseline --out folder whose Table 1 report.md includes
  --quiet                    no progress output
  --help                     print this text`;

/** Entry point; returns the exit code. */
export async function main(args: string[], opts: EvaluateMainOptions = {}): Promise<number> {
  if (wantsHelp(args)) {
    console.log(USAGE);
    return 0;
  }
  const flags = parseFlags(args, {
    run: { type: "string" },
    prepared: { type: "string" },
    split: { type: "string" },
    threshold: { type: "string" },
    out: { type: "string" },
    backend: { type: "string" },
    "batch-size": { type: "string" },
    baseline: { type: "string" },
    quiet: { type: "boolean" },
  });
  const run = requireString(flags, "run");
  const prepared = requireString(flags, "prepared");
  const split = choiceFlag(flags.split, "split", SPLITS, "val");
  const threshold = numberFlag(flags.threshold, "threshold", 0.5, { min: 0, max: 1 });
  const backend = choiceFlag(flags.backend, "backend", BACKEND_CHOICES, "auto");
  const batchSize = flags["batch-size"] === undefined
    ? undefined
    : numberFlag(flags["batch-size"], "batch-size", 8, { min: 1, max: 4096, integer: true });
  if (typeof flags.out === "string" && flags.out === "") {
    throw new UsageError("--out needs a directory");
  }
  const result = await evaluateRun({
    run,
    prepared,
    split,
    threshold,
    backend,
    ...(typeof flags.out === "string" ? { out: flags.out } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(typeof flags.baseline === "string" ? { baseline: flags.baseline } : {}),
    quiet: flags.quiet === true,
    keepBackend: opts.keepBackend,
    ...(opts.log ? { log: opts.log } : {}),
  });
  opts.onResult?.(result);
  const print = opts.print ?? ((t: string) => console.log(t));
  print(toMarkdown(result.table));
  print(`report: ${result.reportPath}`);
  return 0;
}

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
