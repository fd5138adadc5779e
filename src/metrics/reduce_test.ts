import assert from "node:assert/strict";
import type { Confusion } from "./confusion.ts";
import { perTile, reduce } from "./reduce.ts";

// Three tiles of 4 pixels each:
//   A: half overlap      tp 1 fp 1 fn 1 tn 1   DSC 1/2  IoU 1/3  sens 1/2  spec 1/2  prec 1/2
//   B: empty, empty pred tp 0 fp 0 fn 0 tn 4   DSC 1    IoU 1    sens NaN  spec 1    prec NaN
//   C: missed vessel     tp 0 fp 0 fn 2 tn 2   DSC 0    IoU 0    sens 0    spec 1    prec NaN
const A: Confusion = { tp: 1, fp: 1, fn: 1, tn: 1 };
const B: Confusion = { tp: 0, fp: 0, fn: 0, tn: 4 };
const C: Confusion = { tp: 0, fp: 0, fn: 2, tn: 2 };
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

Deno.test("micro pools the pixels: tp 1 fp 1 fn 3 tn 7", () => {
  const r = reduce([A, B, C], "micro");
  close(r.scores.dsc, 2 / 6);
  close(r.scores.iou, 1 / 5);
  close(r.scores.sensitivity, 1 / 4);
  close(r.scores.specificity, 7 / 8);
  close(r.scores.precision, 1 / 2);
  close(r.scores.accuracy, 8 / 12);
  assert.equal(r.tiles, 3);
  assert.equal(r.counts.dsc, 1);
});

Deno.test("per-image averages tile scores, empty/empty counts as DSC 1, NaN tiles skipped", () => {
  const r = reduce([A, B, C], "per-image");
  close(r.scores.dsc, (0.5 + 1 + 0) / 3);
  close(r.scores.iou, (1 / 3 + 1 + 0) / 3);
  close(r.scores.sensitivity, (0.5 + 0) / 2);
  assert.equal(r.counts.sensitivity, 2);
  close(r.scores.specificity, (0.5 + 1 + 1) / 3);
  close(r.scores.precision, 0.5);
  assert.equal(r.counts.precision, 1);
  close(r.scores.accuracy, (0.5 + 1 + 0.5) / 3);
});

Deno.test("seed scores 0 when TP = 0 and counts every tile", () => {
  const r = reduce([A, B, C], "seed");
  close(r.scores.dsc, 0.5 / 3);
  close(r.scores.iou, 1 / 9);
  close(r.scores.sensitivity, 0.5 / 3);
  close(r.scores.precision, 0.5 / 3);
  close(r.scores.specificity, (0.5 + 1 + 1) / 3);
  assert.equal(r.counts.precision, 3);
});

Deno.test("seed with batchSize pools consecutive groups before scoring", () => {
  // groups [A, B] = tp 1 fp 1 fn 1 tn 5 (DSC 1/2) and [C] (DSC 0 by the seed rule)
  const r = reduce([A, B, C], "seed", { batchSize: 2 });
  close(r.scores.dsc, 0.25);
  close(r.scores.specificity, (5 / 6 + 1) / 2);
  assert.equal(r.counts.dsc, 2);
  assert.throws(() => reduce([A], "seed", { batchSize: 0 }), RangeError);
});

Deno.test("an empty set gives NaN scores with zero counts", () => {
  const r = reduce([], "per-image");
  assert.ok(Number.isNaN(r.scores.dsc));
  assert.equal(r.counts.dsc, 0);
});

Deno.test("perTile lists each tile's score under the mode's rule", () => {
  assert.deepEqual(Array.from(perTile([A, B, C], "dsc")), [0.5, 1, 0]);
  assert.deepEqual(Array.from(perTile([A, B, C], "dsc", "seed")), [0.5, 0, 0]);
});
