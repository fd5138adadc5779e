/**
 * `deno task evaluate` — the study's Table 3 and figures for a training run: every epoch
 * checkpoint and the Otsu baseline scored on one split (DSC, IoU, sensitivity, specificity,
 * precision; `micro`, `per-image` and `seed` modes), training curves from `log.jsonl`, the
 * per-tile DSC distribution, overlays of the best/median/worst tile and `report.md`.
 *
 * ```
 * deno task evaluate --run RUN --prepared DIR [--split val|train|all] [--threshold X]
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
import * as cli from "../src/cli.ts";
import { flag, QUIET, type TaskOptions } from "../src/cli.ts";
import { type EvaluateResult, evaluateRun } from "../src/evaluate/run.ts";
import { join } from "node:path";
import { withOutput } from "../src/io.ts";
import { toMarkdown } from "../src/report/table.ts";
import { BACKEND_FLAG } from "../src/runtime/backends.ts";

const SPLITS = ["val", "train", "all"] as const;

/** Options for tests and the demo. */
export type EvaluateMainOptions = TaskOptions<EvaluateResult>;

/** The command line of `deno task evaluate`. */
export const EVALUATE = cli.defineTask({
  synopsis: "deno task evaluate --run RUN --prepared DIR [flags]",
  summary:
    "Scores every checkpoint of a training run and the Otsu baseline on one split (the study's\n" +
    "Table 3), draws the training curves, the per-tile DSC distribution and overlays, and writes\n" +
    "report.md linking them.",
  flags: {
    run: flag.string({
      required: true,
      arg: "RUN",
      help: "training run folder (deno task train --out)",
    }),
    prepared: flag.string({
      required: true,
      arg: "DIR",
      help: "prepared dataset, prepared like the run's (same scale and tile size)",
    }),
    split: flag.choice(SPLITS, { default: "val", help: "tiles to score" }),
    threshold: flag.number({
      min: 0,
      max: 1,
      defaultText: "the run's saved threshold",
      help: "probability threshold of the predicted masks",
    }),
    out: flag.string({
      arg: "DIR",
      defaultText: "RUN/eval",
      help: "where the tables and figures go",
    }),
    backend: BACKEND_FLAG,
    "batch-size": flag.number({
      min: 1,
      max: 4096,
      integer: true,
      defaultText: "the run's training batch size",
      help: "tiles per forward pass",
    }),
    baseline: flag.string({
      arg: "DIR",
      help: "a deno task baseline --out folder whose Table 1 report.md includes",
    }),
    quiet: QUIET,
  },
});

/** Entry point; returns the exit code. */
export const main: (args: string[], opts?: EvaluateMainOptions) => Promise<number> = cli.taskMain(
  EVALUATE,
  async (f, opts) => {
    const { keepBackend, log } = opts;
    const out = f.out ?? join(f.run, "eval");
    const inputs = [f.prepared, ...(f.baseline === undefined ? [] : [f.baseline])];
    const result = await withOutput(
      out,
      { inputs },
      () => evaluateRun({ ...cli.camelFlags(f), out, keepBackend, log }),
    );
    cli.deliver(opts, result, toMarkdown(result.table), `report: ${result.reportPath}`);
    return 0;
  },
);

if (import.meta.main) Deno.exit(await cli.runMain(main, Deno.args));
