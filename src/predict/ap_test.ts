import assert from "node:assert/strict";
import { apOfTiles, averagePrecision, iou, matchTile, type TileInstances } from "./ap.ts";

const W = 40; // tile width of the hand-made cases

/** Pixels of the axis-aligned rectangle x0 ≤ x < x1, y0 ≤ y < y1 on a W-wide tile. */
function rect(x0: number, y0: number, x1: number, y1: number): Int32Array {
  const out: number[] = [];
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out.push(y * W + x);
  return Int32Array.from(out);
}

function union(a: Int32Array, b: Int32Array): Int32Array {
  return Int32Array.from(new Set([...a, ...b])).sort();
}

const G1 = rect(0, 0, 10, 10); // 100 px
const G2 = rect(20, 20, 30, 30); // 100 px

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: got ${actual}, expected ${expected}`);
}

Deno.test("iou: hand-computed overlaps", () => {
  close(iou(G1, G1), 1, "same");
  close(iou(G1, rect(2, 0, 12, 10)), 80 / 120, "shift 2");
  close(iou(G1, rect(3, 0, 13, 10)), 70 / 130, "shift 3");
  close(iou(G1, G2), 0, "disjoint");
  close(iou(new Int32Array(0), G1), 0, "empty");
});

Deno.test("AP: perfect prediction is 1", () => {
  const r = apOfTiles([{
    predictions: [{ pixels: G1, confidence: 0.9 }, { pixels: G2, confidence: 0.8 }],
    truth: [G1, G2],
  }]);
  close(r.ap, 1, "ap");
  assert.equal(r.tp, 2);
  assert.equal(r.fp, 0);
});

Deno.test("AP: shifted by 2 px (IoU ⅔) matches, by 3 px (IoU 0.54) does not", () => {
  // ranked TP, FP: precision 1, ½ at recall ½, ½ → AP = ½·1
  const r = apOfTiles([{
    predictions: [
      { pixels: rect(2, 0, 12, 10), confidence: 0.9 },
      { pixels: rect(23, 20, 33, 30), confidence: 0.8 },
    ],
    truth: [G1, G2],
  }]);
  close(r.ap, 0.5, "ap");
  assert.deepEqual(r.precision, [1, 0.5]);
  assert.deepEqual(r.recall, [0.5, 0.5]);
});

Deno.test("AP: a split instance (two halves, IoU ½ each) gives two false positives", () => {
  // ranked FP, FP, TP: precision 0, 0, ⅓ at recall 0, 0, ½ → AP = ½·⅓
  const r = apOfTiles([{
    predictions: [
      { pixels: rect(0, 0, 5, 10), confidence: 0.9 },
      { pixels: rect(5, 0, 10, 10), confidence: 0.8 },
      { pixels: G2, confidence: 0.7 },
    ],
    truth: [G1, G2],
  }]);
  close(r.ap, 1 / 6, "ap");
});

Deno.test("AP: merged instances match the big one only (IoU 100/140), or none (IoU ½)", () => {
  const small = rect(10, 0, 14, 10); // 40 px touching G1
  const merged = apOfTiles([{
    predictions: [{ pixels: union(G1, small), confidence: 0.9 }],
    truth: [G1, small],
  }]);
  close(merged.ap, 0.5, "big + small merged"); // TP at recall ½ with precision 1
  const equal = apOfTiles([{
    predictions: [{ pixels: union(G1, G2), confidence: 0.9 }],
    truth: [G1, G2],
  }]);
  close(equal.ap, 0, "two equal instances merged");
});

Deno.test("AP: extra instances cost according to their rank", () => {
  const extra = rect(30, 0, 40, 5);
  // TP(0.9), FP(0.7), TP(0.5): precision 1, ½, ⅔ at recall ½, ½, 1; envelope 1, ⅔, ⅔
  const mid = apOfTiles([{
    predictions: [
      { pixels: G1, confidence: 0.9 },
      { pixels: G2, confidence: 0.5 },
      { pixels: extra, confidence: 0.7 },
    ],
    truth: [G1, G2],
  }]);
  close(mid.ap, 0.5 + 0.5 * (2 / 3), "extra ranked in the middle");
  // ranked last it does not change the area
  const last = apOfTiles([{
    predictions: [
      { pixels: G1, confidence: 0.9 },
      { pixels: G2, confidence: 0.5 },
      { pixels: extra, confidence: 0.1 },
    ],
    truth: [G1, G2],
  }]);
  close(last.ap, 1, "extra ranked last");
  // a duplicate of a matched instance is a false positive
  const dup = apOfTiles([{
    predictions: [{ pixels: G1, confidence: 0.9 }, { pixels: G1, confidence: 0.8 }],
    truth: [G1],
  }]);
  close(dup.ap, 1, "duplicate after the match");
  assert.equal(dup.fp, 1);
});

Deno.test("AP: empty prediction is 0; no ground truth at all is NaN", () => {
  const empty = apOfTiles([{ predictions: [], truth: [G1, G2] }]);
  close(empty.ap, 0, "empty prediction");
  assert.ok(
    Number.isNaN(apOfTiles([{ predictions: [{ pixels: G1, confidence: 1 }], truth: [] }]).ap),
  );
  assert.ok(Number.isNaN(apOfTiles([]).ap));
});

Deno.test("AP: predictions on tiles without ground truth are false positives across tiles", () => {
  // ranked FP(0.95, tile B), TP, TP: precision 0, ½, ⅔ at recall 0, ½, 1; envelope ⅔ everywhere
  const tiles: TileInstances[] = [
    {
      predictions: [{ pixels: G1, confidence: 0.9 }, { pixels: G2, confidence: 0.8 }],
      truth: [G1, G2],
    },
    { predictions: [{ pixels: G1, confidence: 0.95 }], truth: [] },
  ];
  close(apOfTiles(tiles).ap, 2 / 3, "ap");
  // tiles without ground truth and without predictions change nothing
  close(apOfTiles([tiles[0], { predictions: [], truth: [] }]).ap, 1, "empty tile");
});

Deno.test("matchTile: OpenImages rule — a taken best match is not replaced by the second best", () => {
  const near = rect(0, 0, 10, 9); // IoU 0.9 with G1
  const m = matchTile({
    predictions: [{ pixels: G1, confidence: 0.9 }, { pixels: G1, confidence: 0.8 }],
    truth: [G1, near],
  });
  assert.deepEqual(m.map((p) => p.tp), [true, false]);
  close(averagePrecision(m, 2).ap, 0.5, "ap");
});

Deno.test("averagePrecision: ties keep input order; envelope uses the running maximum", () => {
  // FP then TP at equal confidence, in this order: precision 0, ½ at recall 0, 1 → AP ½
  const r = averagePrecision([
    { confidence: 0.5, tp: false, iou: 0 },
    { confidence: 0.5, tp: true, iou: 1 },
  ], 1);
  close(r.ap, 0.5, "ap");
  assert.throws(() => averagePrecision([{ confidence: 1, tp: true, iou: 1 }], 0), /true positives/);
});
