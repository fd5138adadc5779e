import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  bceLoss,
  comboLoss,
  DEFAULT_LOSS,
  diceLoss,
  FOCAL_VARIANTS,
  focalLoss,
  LOSS_NAMES,
  type LossFn,
  makeLoss,
} from "./losses.ts";
import { Rng } from "../rng.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

const LN2 = Math.log(2);
const BIG = 20; // sigmoid(20) rounds to 1 in float32; BCE of a wrong ±20 logit is 20 + 2e-9

function value(fn: LossFn, logits: number[], targets: number[]): number {
  return tf.tidy(() => fn(tf.tensor(logits), tf.tensor(targets)).dataSync()[0]);
}

function close(actual: number, expected: number, tol: number, label: string): void {
  const diff = Math.abs(actual - expected);
  assert.ok(
    diff <= tol * Math.max(1, Math.abs(expected)),
    `${label}: got ${actual}, expected ${expected} (|diff| ${diff.toExponential(2)})`,
  );
}

// Each row: [case, logits, targets, expected]. Expected values are worked out by hand from the
// formulas in the module doc (e.g. "half": every logit 0, so p = 0.5 and per-pixel BCE = ln 2).
const Y = [1, 0, 1, 0];
const ideal = [BIG, -BIG, BIG, -BIG];
const worst = [-BIG, BIG, -BIG, BIG];
const zeros = [0, 0, 0, 0];
const empty = [0, 0, 0, 0];
const negs = [-BIG, -BIG, -BIG, -BIG];

type Row = [string, number[], number[], number];
const tables: Record<string, { fn: LossFn; rows: Row[] }> = {
  bce: {
    fn: bceLoss,
    rows: [
      ["ideal", ideal, Y, 0],
      ["worst", worst, Y, BIG],
      ["half", zeros, Y, LN2],
      ["empty mask, confident", negs, empty, 0],
      ["empty mask, unsure", zeros, empty, LN2],
    ],
  },
  dice: {
    fn: diceLoss,
    rows: [
      ["ideal", ideal, Y, 0], // (2·2 + 1) / (2 + 2 + 1) = 1
      ["worst", worst, Y, 1 - 1 / 5], // (0 + 1) / (2 + 2 + 1)
      ["half", zeros, Y, 1 - 3 / 5], // (2·1 + 1) / (2 + 2 + 1)
      ["empty mask, confident", negs, empty, 0], // (0 + 1) / (0 + 0 + 1)
      ["empty mask, unsure", zeros, empty, 1 - 1 / 3], // 1 / (2 + 0 + 1)
    ],
  },
  "focal per-pixel": {
    fn: (x, y) => focalLoss(x, y, { alpha: 0.8, gamma: 2, variant: "per-pixel" }),
    rows: [
      ["ideal", ideal, Y, 0],
      // every pixel wrong: (1 − p_t)² = 1, α_t 0.8 on vessel and 0.2 on background
      ["worst", worst, Y, (0.8 * BIG + 0.2 * BIG + 0.8 * BIG + 0.2 * BIG) / 4],
      ["half", zeros, Y, (0.25 * LN2 * (0.8 + 0.2 + 0.8 + 0.2)) / 4],
      ["empty mask, confident", negs, empty, 0],
      ["empty mask, unsure", zeros, empty, 0.2 * 0.25 * LN2],
    ],
  },
  "focal mean-bce": {
    fn: (x, y) => focalLoss(x, y, { alpha: 0.8, gamma: 2, variant: "mean-bce" }),
    rows: [
      ["ideal", ideal, Y, 0],
      ["worst", worst, Y, 0.8 * BIG], // (1 − e^−20)² ≈ 1
      ["half", zeros, Y, 0.8 * 0.25 * LN2], // (1 − e^−ln2)² = (1/2)²
      ["empty mask, confident", negs, empty, 0],
      ["empty mask, unsure", zeros, empty, 0.8 * 0.25 * LN2],
    ],
  },
  "combo (study default)": {
    fn: (x, y) => comboLoss(x, y),
    rows: [
      ["ideal", ideal, Y, 0],
      ["worst", worst, Y, 0.5 * BIG + 0.5 * 0.8],
      ["half", zeros, Y, 0.5 * LN2 + 0.5 * 0.4],
      ["empty mask, confident", negs, empty, 0],
      ["empty mask, unsure", zeros, empty, 0.5 * LN2 + 0.5 * (2 / 3)],
    ],
  },
  "combo α 0.3 β 0.8": {
    fn: (x, y) => comboLoss(x, y, { alpha: 0.3, beta: 0.8 }),
    rows: [
      // one vessel pixel of four, all logits 0: wce = 2·ln2·(0.8·1 + 0.2·3)/4 = 0.7·ln2;
      // dice = (2·0.5 + 1) / (2 + 1 + 1) = 0.5
      ["half, one vessel pixel", zeros, [1, 0, 0, 0], 0.3 * 0.7 * LN2 + 0.7 * 0.5],
      // a missed vessel costs more than a false alarm when β > 0.5:
      // missed: wce = 2·0.8·20/4 = 8; dice = (0 + 1)/(0 + 1 + 1) = 0.5
      ["one missed vessel pixel", [-BIG, -BIG, -BIG, -BIG], [1, 0, 0, 0], 0.3 * 8 + 0.7 * 0.5],
      // false alarm: wce = 2·0.2·20/4 = 2; dice = (2·1 + 1)/(2 + 1 + 1) = 0.75
      ["one false-alarm pixel", [BIG, BIG, -BIG, -BIG], [1, 0, 0, 0], 0.3 * 2 + 0.7 * 0.25],
    ],
  },
};

for (const [name, { fn, rows }] of Object.entries(tables)) {
  Deno.test(`losses: ${name} table (ideal, worst, half, empty mask)`, () => {
    for (const [label, logits, targets, expected] of rows) {
      close(value(fn, logits, targets), expected, 1e-5, `${name} ${label}`);
    }
  });
}

Deno.test("losses: BCE stays finite for huge logits", () => {
  const v = value(bceLoss, [1e4, -1e4], [0, 1]);
  close(v, 1e4, 1e-6, "bce ±1e4");
  assert.ok(Number.isFinite(value(diceLoss, [1e4, -1e4], [0, 1])));
  assert.ok(Number.isFinite(value((x, y) => focalLoss(x, y), [1e4, -1e4], [0, 1])));
});

// Independent float64 references, written from the formulas (not from losses.ts), used for the
// finite-difference gradient check.
const sig = (x: number) => 1 / (1 + Math.exp(-x));
const bcePx = (x: number, y: number) => -(y * Math.log(sig(x)) + (1 - y) * Math.log(1 - sig(x)));
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
function refDice(x: number[], y: number[]): number {
  let inter = 0, sp = 0, sy = 0;
  for (let i = 0; i < x.length; i++) {
    const p = sig(x[i]);
    inter += p * y[i];
    sp += p;
    sy += y[i];
  }
  return (2 * inter + 1) / (sp + sy + 1);
}
const refs: Record<string, (x: number[], y: number[]) => number> = {
  bce: (x, y) => mean(x.map((v, i) => bcePx(v, y[i]))),
  dice: (x, y) => 1 - refDice(x, y),
  "focal per-pixel": (x, y) =>
    mean(x.map((v, i) => {
      const b = bcePx(v, y[i]);
      const at = y[i] === 1 ? 0.8 : 0.2;
      return at * (1 - Math.exp(-b)) ** 2 * b;
    })),
  "focal mean-bce": (x, y) => {
    const b = mean(x.map((v, i) => bcePx(v, y[i])));
    return 0.8 * (1 - Math.exp(-b)) ** 2 * b;
  },
  "combo α 0.3 β 0.8": (x, y) => {
    const wce = mean(
      x.map((v, i) =>
        2 * (-0.8 * y[i] * Math.log(sig(v)) - 0.2 * (1 - y[i]) * Math.log(1 - sig(v)))
      ),
    );
    return 0.3 * wce + 0.7 * (1 - refDice(x, y));
  },
};

Deno.test("losses: gradients match finite differences of float64 references", () => {
  // logits [1, 3, 3, 1]: a fixed spread of values in (−3, 3); targets a fixed 0/1 pattern
  const x = [-2.1, -1.3, -0.6, -0.05, 0.2, 0.7, 1.4, 2.2, 2.9];
  const y = [1, 0, 0, 1, 0, 1, 1, 0, 1];
  const h = 1e-5;
  for (const [name, ref] of Object.entries(refs)) {
    const fn = tables[name].fn;
    const grad = tf.tidy(() => {
      const g = tf.grad((t: tf.Tensor) => fn(t, tf.tensor(y, [1, 3, 3, 1])));
      return Array.from(g(tf.tensor(x, [1, 3, 3, 1])).dataSync());
    });
    close(value(fn, x, y), ref(x, y), 1e-5, `${name} value`);
    let maxDiff = 0;
    for (let i = 0; i < x.length; i++) {
      const xp = x.slice(), xm = x.slice();
      xp[i] += h;
      xm[i] -= h;
      const fd = (ref(xp, y) - ref(xm, y)) / (2 * h);
      maxDiff = Math.max(maxDiff, Math.abs(fd - grad[i]));
    }
    console.log(`  ${name}: largest |grad − finite difference| = ${maxDiff.toExponential(2)}`);
    assert.ok(maxDiff < 1e-5, `${name}: gradient off by ${maxDiff}`);
  }
});

Deno.test("losses with ignore: ignored pixels change neither the loss nor its gradient, whatever the prediction; the rest is the plain loss", () => {
  const rng = new Rng(21);
  const n = 2 * 8 * 8;
  const logits = Float32Array.from({ length: n }, () => 3 * rng.normal());
  // targets: 0/1, with −1 (ignore) on about a third of the pixels
  const y = Float32Array.from({ length: n }, () => {
    const u = rng.float();
    return u < 0.33 ? -1 : u < 0.6 ? 1 : 0;
  });
  const other = logits.map((v, i) => (y[i] < 0 ? 50 * rng.normal() : v));
  const kept = [...y.keys()].filter((i) => y[i] >= 0);
  for (const name of LOSS_NAMES) {
    for (const variant of FOCAL_VARIANTS) {
      if (name !== "focal" && variant !== "per-pixel") continue;
      const cfg = { ...DEFAULT_LOSS, name, focalVariant: variant };
      const masked = makeLoss(cfg, { ignore: true });
      const shape = [2, 8, 8, 1];
      const value = (l: Float32Array) =>
        tf.tidy(() => masked(tf.tensor(l, shape), tf.tensor(y, shape)).dataSync()[0]);
      const a = value(logits), b = value(other);
      assert.equal(a, b, `${name}/${variant}: another prediction on ignored pixels`);
      // The plain loss of the counted pixels alone (an independent path: no mask at all).
      const plain = tf.tidy(() =>
        makeLoss(cfg)(
          tf.tensor(kept.map((i) => logits[i])),
          tf.tensor(kept.map((i) => y[i])),
        ).dataSync()[0]
      );
      assert.ok(
        Math.abs(a - plain) <= 1e-6 * Math.max(1, Math.abs(plain)),
        `${name}: ${a} vs ${plain}`,
      );
      const grad = tf.tidy(() =>
        tf.grad((x: tf.Tensor) => masked(x, tf.tensor(y, shape)))(tf.tensor(logits, shape))
          .dataSync()
      );
      assert.ok(
        [...y.keys()].every((i) => y[i] >= 0 || grad[i] === 0),
        `${name}: gradient on ignored pixels`,
      );
    }
  }
});
