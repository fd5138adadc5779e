/**
 * Scores a submission CSV locally against a Kaggle-layout folder's `polygons.jsonl`: every
 * `blood_vessel` annotation is one ground-truth instance, rasterised on its own with
 * `src/data/rasterize.ts` at the size the submission row gives (`height`, `width`); then AP at
 * IoU 0.6 (`./ap.ts`).
 *
 * Which tiles count: those that are both in the submission and in `polygons.jsonl` (a tile listed
 * there with no blood_vessel annotation is a tile without ground truth: its predictions are false
 * positives). Submission rows whose tile is not annotated, and annotated tiles missing from the
 * submission, are left out and counted in the result (`deno task predict` on `train/` also sees
 * unannotated tiles). An annotation whose raster is empty (entirely outside the tile) cannot be
 * matched by any mask and is left out too, and counted.
 *
 * @module
 */
import { join } from "node:path";
import { readPolygons } from "../data/kaggle.ts";
import { rasterizePolygons, type Ring } from "../data/rasterize.ts";
import {
  type ApResult,
  averagePrecision,
  IOU_THRESHOLD,
  type MatchedPrediction,
  matchTile,
} from "./ap.ts";
import { countsToMask, decodeCounts } from "./rle.ts";
import { readSubmission } from "./submission.ts";

/** What {@linkcode scoreSubmission} gives. */
export interface SubmissionScore extends ApResult {
  /** Tiles scored (in the submission and annotated). */
  tiles: number;
  /** Submission rows whose tile has no entry in polygons.jsonl (ids). */
  notAnnotated: string[];
  /** Annotated tiles that the submission does not list (ids). */
  notSubmitted: string[];
  /** blood_vessel annotations whose raster was empty. */
  emptyTruth: number;
  iouThreshold: number;
}

function pixelsOf(mask: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) n++;
  const out = new Int32Array(n);
  for (let i = 0, k = 0; i < mask.length; i++) if (mask[i] !== 0) out[k++] = i;
  return out;
}

/**
 * Scores `submission` against `data/polygons.jsonl`.
 *
 * @throws {InputError} for a malformed submission or polygons file (`file:line: what`)
 *
 * @example
 * ```ts ignore
 * import { scoreSubmission } from "./score_submission.ts";
 * const s = await scoreSubmission("out/demo/predict/submission.csv", "out/demo/data");
 * console.log(s.ap.toFixed(4));
 * ```
 */
export async function scoreSubmission(
  submission: string,
  data: string,
  opts: { iouThreshold?: number } = {},
): Promise<SubmissionScore> {
  const iouThreshold = opts.iouThreshold ?? IOU_THRESHOLD;
  const rows = await readSubmission(submission);
  const truth = new Map<string, Ring[][]>();
  for await (const tile of readPolygons(join(data, "polygons.jsonl"))) {
    truth.set(
      tile.id,
      tile.annotations.filter((a) => a.type === "blood_vessel").map((a) => a.rings),
    );
  }
  const submitted = new Set(rows.map((r) => r.id));
  const notAnnotated: string[] = [];
  const matched: MatchedPrediction[] = [];
  let truthCount = 0, emptyTruth = 0, tiles = 0;
  for (const row of rows) {
    const annotations = truth.get(row.id);
    if (annotations === undefined) {
      notAnnotated.push(row.id);
      continue;
    }
    tiles++;
    const { width, height } = row;
    const gt: Int32Array[] = [];
    const mask = new Uint8Array(width * height);
    for (const rings of annotations) {
      mask.fill(0);
      rasterizePolygons(mask, width, height, [rings]);
      const px = pixelsOf(mask);
      if (px.length === 0) emptyTruth++;
      else gt.push(px);
    }
    const predictions = row.instances.map((inst) => ({
      confidence: inst.confidence,
      pixels: pixelsOf(countsToMask(decodeCounts(inst.encoded), width, height)),
    }));
    matched.push(...matchTile({ predictions, truth: gt }, iouThreshold));
    truthCount += gt.length;
  }
  const notSubmitted = [...truth.keys()].filter((id) => !submitted.has(id));
  return {
    ...averagePrecision(matched, truthCount),
    tiles,
    notAnnotated,
    notSubmitted,
    emptyTruth,
    iouThreshold,
  };
}
