import assert from "node:assert/strict";
import { confusion } from "./confusion.ts";
import { METRICS, scoreAll, type ScoreRule, type Scores } from "./scores.ts";

/** Hand-computed cases: masks → expected scores under each rule. */
const CASES: {
  name: string;
  pred: number[];
  truth: number[];
  standard: Scores;
  seed: Scores;
}[] = [
  {
    name: "ideal", // tp 2 fp 0 fn 0 tn 2
    pred: [1, 1, 0, 0],
    truth: [1, 1, 0, 0],
    standard: s(1, 1, 1, 1, 1, 1),
    seed: s(1, 1, 1, 1, 1, 1),
  },
  {
    name: "worst", // tp 0 fp 2 fn 2 tn 0
    pred: [0, 0, 1, 1],
    truth: [1, 1, 0, 0],
    standard: s(0, 0, 0, 0, 0, 0),
    seed: s(0, 0, 0, 0, 0, 0),
  },
  {
    name: "half overlap", // tp 1 fp 1 fn 1 tn 1: DSC 2/4, IoU 1/3
    pred: [1, 0, 1, 0],
    truth: [1, 1, 0, 0],
    standard: s(0.5, 1 / 3, 0.5, 0.5, 0.5, 0.5),
    seed: s(0.5, 1 / 3, 0.5, 0.5, 0.5, 0.5),
  },
  {
    name: "two thirds", // tp 2 fp 1 fn 1 tn 2: DSC 4/6, IoU 2/4
    pred: [1, 1, 0, 1, 0, 0],
    truth: [1, 1, 1, 0, 0, 0],
    standard: s(2 / 3, 0.5, 2 / 3, 2 / 3, 2 / 3, 4 / 6),
    seed: s(2 / 3, 0.5, 2 / 3, 2 / 3, 2 / 3, 4 / 6),
  },
  {
    name: "empty truth, one false positive", // tp 0 fp 1 fn 0 tn 3
    pred: [1, 0, 0, 0],
    truth: [0, 0, 0, 0],
    standard: s(0, 0, NaN, 0.75, 0, 0.75),
    seed: s(0, 0, 0, 0.75, 0, 0.75),
  },
  {
    name: "empty truth and empty prediction", // tp 0 fp 0 fn 0 tn 4: MISeval rule DSC = IoU = 1
    pred: [0, 0, 0, 0],
    truth: [0, 0, 0, 0],
    standard: s(1, 1, NaN, 1, NaN, 1),
    seed: s(0, 0, 0, 1, 0, 1),
  },
  {
    name: "empty prediction", // tp 0 fp 0 fn 3 tn 1
    pred: [0, 0, 0, 0],
    truth: [1, 1, 1, 0],
    standard: s(0, 0, 0, 1, NaN, 0.25),
    seed: s(0, 0, 0, 1, 0, 0.25),
  },
  {
    name: "all vessel, full prediction", // tp 4: no negatives, specificity undefined / 0
    pred: [1, 1, 1, 1],
    truth: [1, 1, 1, 1],
    standard: s(1, 1, 1, NaN, 1, 1),
    seed: s(1, 1, 1, 0, 1, 1),
  },
  {
    name: "full prediction, one vessel pixel", // tp 1 fp 3: DSC 2/5, IoU 1/4
    pred: [1, 1, 1, 1],
    truth: [0, 1, 0, 0],
    standard: s(0.4, 0.25, 1, 0, 0.25, 0.25),
    seed: s(0.4, 0.25, 1, 0, 0.25, 0.25),
  },
];

function s(
  dsc: number,
  iou: number,
  sensitivity: number,
  specificity: number,
  precision: number,
  accuracy: number,
): Scores {
  return { dsc, iou, sensitivity, specificity, precision, accuracy };
}

for (const rule of ["standard", "seed"] as ScoreRule[]) {
  for (const c of CASES) {
    Deno.test(`scores (${rule}): ${c.name}`, () => {
      const got = scoreAll(confusion(new Uint8Array(c.pred), new Uint8Array(c.truth)), rule);
      for (const m of METRICS) {
        const want = c[rule][m];
        if (Number.isNaN(want)) assert.ok(Number.isNaN(got[m]), `${m}: want NaN, got ${got[m]}`);
        else assert.ok(Math.abs(got[m] - want) < 1e-12, `${m}: want ${want}, got ${got[m]}`);
      }
    });
  }
}
