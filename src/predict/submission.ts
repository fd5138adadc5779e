/**
 * The competition's submission CSV: a header `id,height,width,prediction_string`, then one row per
 * tile whose `prediction_string` lists its instances separated by spaces, each as
 * `0 {confidence} {encoded}` (class 0 = blood_vessel; `encoded` from `./rle.ts`). A tile without
 * instances has an empty `prediction_string`.
 *
 * @module
 */
import { imageSizeProblem } from "../data/limits.ts";
import { readLines, splitCsvLine } from "../data/csv.ts";
import { InputError } from "../errors.ts";
import type { Instance } from "./instances.ts";
import { decodeCounts, encodeCounts, rleCountsFromPixels } from "./rle.ts";

/** The header line. */
export const SUBMISSION_HEADER = "id,height,width,prediction_string";

/** One instance of a submission row. */
export interface SubmittedInstance {
  confidence: number;
  encoded: string;
}

/** One row of a submission. */
export interface SubmissionRow {
  id: string;
  height: number;
  width: number;
  instances: SubmittedInstance[];
  /** 1-based line in the file (header is line 1). */
  line: number;
}

/** Confidence as written: at most 6 decimals, no trailing zeros. */
export function formatConfidence(c: number): string {
  return String(Number(c.toFixed(6)));
}

/**
 * The CSV line of one tile (no newline).
 *
 * @example
 * ```ts
 * import { submissionLine } from "./submission.ts";
 * console.assert(submissionLine("abc", 2, 2, []) === "abc,2,2,");
 * ```
 */
export function submissionLine(
  id: string,
  width: number,
  height: number,
  instances: readonly Instance[],
): string {
  const parts = instances.map((inst) =>
    `0 ${formatConfidence(inst.confidence)} ${
      encodeCounts(rleCountsFromPixels(inst.pixels, width, height))
    }`
  );
  return `${id},${height},${width},${parts.join(" ")}`;
}

function positiveInt(text: string, path: string, line: number, field: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !(n >= 1)) {
    throw new InputError(path, line, `${field}: expected a positive integer, found "${text}"`);
  }
  return n;
}

/**
 * Reads and checks a submission: the header, the field count, sizes, and every instance's triple
 * (class `0`, a finite confidence, an `encoded` string that decodes to counts covering exactly
 * `height · width` pixels).
 *
 * @throws {InputError} `file:line: what` for the first problem found
 *
 * @example
 * ```ts ignore
 * import { readSubmission } from "./submission.ts";
 * for (const row of await readSubmission("submission.csv")) console.log(row.id, row.instances.length);
 * ```
 */
export async function readSubmission(path: string): Promise<SubmissionRow[]> {
  const rows: SubmissionRow[] = [];
  const seen = new Map<string, number>();
  let header = false;
  for await (const { line, text } of readLines(path)) {
    if (!header) {
      if (text.trim() !== SUBMISSION_HEADER) {
        throw new InputError(path, line, `expected the header "${SUBMISSION_HEADER}"`);
      }
      header = true;
      continue;
    }
    if (text.trim() === "") continue;
    const fields = splitCsvLine(text);
    if (typeof fields === "string") throw new InputError(path, line, fields);
    if (fields.length !== 4) {
      throw new InputError(path, line, `expected 4 fields, found ${fields.length}`);
    }
    const [id, h, w, preds] = fields;
    if (id === "") throw new InputError(path, line, "id: empty");
    const first = seen.get(id);
    if (first !== undefined) {
      throw new InputError(path, line, `duplicate id "${id}", first at line ${first}`);
    }
    seen.set(id, line);
    const height = positiveInt(h, path, line, "height");
    const width = positiveInt(w, path, line, "width");
    const tooLarge = imageSizeProblem(width, height);
    if (tooLarge !== undefined) throw new InputError(path, line, `height, width: ${tooLarge}`);
    const tokens = preds.trim() === "" ? [] : preds.trim().split(/\s+/);
    if (tokens.length % 3 !== 0) {
      throw new InputError(
        path,
        line,
        `prediction_string: expected triples "0 confidence encoded", found ${tokens.length} tokens`,
      );
    }
    const instances: SubmittedInstance[] = [];
    for (let k = 0; k < tokens.length; k += 3) {
      const n = k / 3;
      if (tokens[k] !== "0") {
        throw new InputError(path, line, `instance ${n}: class must be 0, found "${tokens[k]}"`);
      }
      const confidence = Number(tokens[k + 1]);
      if (!Number.isFinite(confidence)) {
        throw new InputError(
          path,
          line,
          `instance ${n}: confidence "${tokens[k + 1]}" is not a number`,
        );
      }
      const encoded = tokens[k + 2];
      try {
        const counts = decodeCounts(encoded);
        const total = counts.reduce((a, b) => a + b, 0);
        if (total !== width * height) {
          throw new RangeError(
            `covers ${total} pixels, expected ${width}×${height} = ${width * height}`,
          );
        }
      } catch (e) {
        throw new InputError(path, line, `instance ${n}: mask ${(e as Error).message}`);
      }
      instances.push({ confidence, encoded });
    }
    rows.push({ id, height, width, instances, line });
  }
  if (!header) throw new InputError(path, undefined, "empty file, expected a submission CSV");
  return rows;
}
