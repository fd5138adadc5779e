import assert from "node:assert/strict";
import { reduce } from "../metrics/reduce.ts";
import { toCsv } from "../report/table.ts";
import { BASELINES, pickExamples, STUDY_TABLE1, table1 } from "./run.ts";

Deno.test("pickExamples: percentiles of vessel fraction, ties broken by id, duplicates once", () => {
  const tiles = ["e", "d", "c", "b", "a"].map((id) => ({ id }));
  const frac = [0.3, 0, 0, 0.1, 0.2]; // sorted: c(0) d(0) b(0.1) a(0.2) e(0.3)
  // ranks round(0.1·4) = 0 → c, round(0.5·4) = 2 → b, round(0.9·4) = 4 → e
  assert.deepEqual(pickExamples(tiles, frac), [
    { index: 2, percentile: 0.1 },
    { index: 3, percentile: 0.5 },
    { index: 0, percentile: 0.9 },
  ]);
  assert.deepEqual(pickExamples([{ id: "x" }], [0.5]), [{ index: 0, percentile: 0.1 }]);
  assert.deepEqual(pickExamples([], []), []);
});

Deno.test("table1 has the four rows, six metrics and the study's numbers", () => {
  const c = [{ tp: 1, fp: 1, fn: 1, tn: 1 }];
  const reduced = Object.fromEntries(BASELINES.map((b) => [b, reduce(c, "micro")])) as Parameters<
    typeof table1
  >[0];
  const t = table1(reduced, { mode: "micro", split: "val", tiles: 1, tileSizePx: 128 });
  assert.deepEqual(t.rows.map((r) => r.baseline), ["none", "full", "random", "otsu"]);
  assert.equal(t.rows[3].dsc, 0.5);
  assert.equal(t.rows[3].study_dsc, 0.099);
  assert.equal(t.rows[1].study_sensitivity, null);
  assert.match(t.title!, /mode micro, split val, 1 tiles of 128²/);
  assert.ok(
    toCsv(t).startsWith("Baseline,DSC,IoU,Sensitivity,Specificity,Precision,Accuracy,Study DSC"),
  );
  assert.deepEqual(STUDY_TABLE1.otsu, {
    dsc: 0.099,
    iou: 0.063,
    sensitivity: 0.378,
    specificity: 0.621,
  });
});
