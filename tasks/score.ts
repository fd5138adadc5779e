/**
 * `deno task score` — the competition's metric computed locally: average precision at IoU 0.6 of a
 * submission CSV against a Kaggle-layout folder's `polygons.jsonl` (each blood_vessel polygon one
 * instance).
 *
 * ```
 * deno task score --submission FILE --data DIR [--iou 0.6] [--json FILE]
 * ```
 *
 * See `src/predict/ap.ts` for the exact AP definition and `src/predict/score_submission.ts` for
 * which tiles count. Prints AP, TP/FP/instances and the tiles left out; `--json` also writes them.
 *
 * @module
 */
import { defineTask, flag, runMain, taskMain, type TaskOptions } from "../src/cli.ts";
import { writeJsonAtomic } from "../src/io.ts";
import { scoreSubmission, type SubmissionScore } from "../src/predict/score_submission.ts";

/** The command line of `deno task score`. */
export const SCORE = defineTask({
  synopsis: "deno task score --submission FILE --data DIR [flags]",
  summary:
    "Average precision at IoU 0.6 (OpenImages-style, the competition's metric) of a submission CSV\n" +
    "against DIR/polygons.jsonl (every blood_vessel polygon is one instance). Tiles in the submission\n" +
    "that polygons.jsonl does not annotate, and annotated tiles the submission lacks, are left out and\n" +
    "counted.",
  flags: {
    submission: flag.string({
      required: true,
      arg: "FILE",
      help: "submission CSV id,height,width,prediction_string",
    }),
    data: flag.string({
      required: true,
      arg: "DIR",
      help: "Kaggle-layout folder with polygons.jsonl",
    }),
    iou: flag.number({
      default: 0.6,
      min: 0.01,
      max: 1,
      help: "IoU threshold (the competition's)",
    }),
    json: flag.string({ arg: "FILE", help: "also write the result as JSON" }),
  },
});

/** Options for tests and the demo. */
export type ScoreMainOptions = TaskOptions<SubmissionScore>;

/** Entry point; returns the exit code. */
export const main: (args: string[], opts?: ScoreMainOptions) => Promise<number> = taskMain(
  SCORE,
  async (f, opts) => {
    const { submission, data } = f;
    const r = await scoreSubmission(submission, data, { iouThreshold: f.iou });
    opts.onResult?.(r);
    const print = opts.print ?? ((t: string) => console.log(t));
    const ap = Number.isNaN(r.ap) ? "undefined (no ground-truth instance)" : r.ap.toFixed(4);
    print(`AP@${r.iouThreshold} = ${ap}`);
    print(
      `${r.tiles} tile(s) scored: ${r.predictions} prediction(s) (${r.tp} TP, ${r.fp} FP), ` +
        `${r.truth} ground-truth instance(s)`,
    );
    if (r.notAnnotated.length > 0) {
      print(`left out: ${r.notAnnotated.length} submission tile(s) not in polygons.jsonl`);
    }
    if (r.notSubmitted.length > 0) {
      print(`left out: ${r.notSubmitted.length} annotated tile(s) not in the submission`);
    }
    if (r.emptyTruth > 0) print(`left out: ${r.emptyTruth} polygon(s) with an empty raster`);
    if (f.json !== undefined) {
      const { precision: _p, recall: _r, ...rest } = r;
      await writeJsonAtomic(f.json, {
        ...rest,
        ap: Number.isNaN(r.ap) ? null : r.ap,
        submission,
        data,
      });
    }
    return 0;
  },
);

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
