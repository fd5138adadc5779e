import assert from "node:assert/strict";
import {
  confusionOverlay,
  contactSheet,
  maskToRgb,
  outline,
  OVERLAY_COLOURS,
  predictionOverlay,
} from "./overlay.ts";

const px = (rgb: Uint8Array, i: number) => Array.from(rgb.subarray(i * 3, i * 3 + 3));

Deno.test("outline keeps set pixels that touch an unset neighbour or the edge", () => {
  // 5×5 with a 3×3 square in the middle: its ring is outline, its centre is not.
  const m = new Uint8Array(25);
  for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) m[y * 5 + x] = 1;
  const o = outline(m, 5, 5);
  assert.equal(o.reduce((a, b) => a + b, 0), 8);
  assert.equal(o[12], 0);
  assert.equal(o[6], 1);
  assert.throws(() => outline(m, 4, 4), RangeError);
});

Deno.test("confusion overlay: TP, FP, FN in their colours; TN untouched", () => {
  const rgb = new Uint8Array(4 * 3).fill(100);
  const truth = new Uint8Array([1, 1, 0, 0]);
  const pred = new Uint8Array([1, 0, 1, 0]);
  const o = confusionOverlay(rgb, 2, 2, truth, pred, { alpha: 1 });
  assert.deepEqual(px(o, 0), [...OVERLAY_COLOURS.tp]);
  assert.deepEqual(px(o, 1), [...OVERLAY_COLOURS.fn]);
  assert.deepEqual(px(o, 2), [...OVERLAY_COLOURS.fp]);
  assert.deepEqual(px(o, 3), [100, 100, 100]);
  assert.deepEqual(px(rgb, 0), [100, 100, 100], "input unchanged");
  // alpha 0.5 on grey 100: round(50 + colour/2)
  const h = confusionOverlay(rgb, 2, 2, truth, pred, { alpha: 0.5 });
  assert.deepEqual(px(h, 2), [157, 97, 50]); // FP (213, 94, 0)
  const c = OVERLAY_COLOURS;
  assert.equal(new Set([c.tp.join(), c.fp.join(), c.fn.join()]).size, 3);
});

Deno.test("prediction overlay: prediction blended, truth outline opaque on top", () => {
  const rgb = new Uint8Array(9 * 3); // 3×3 black
  const truth = new Uint8Array(9).fill(1); // outline = all but the centre
  const pred = new Uint8Array(9);
  pred[4] = 1;
  const o = predictionOverlay(rgb, 3, 3, truth, pred, { alpha: 0.5 });
  assert.deepEqual(px(o, 4), [120, 114, 33]); // round(0.5·(240, 228, 66))
  assert.deepEqual(px(o, 0), [...OVERLAY_COLOURS.truthOutline]);
  assert.throws(() => predictionOverlay(rgb, 3, 3, truth, new Uint8Array(8)), RangeError);
});

Deno.test("contact sheet places images in a grid on the background", () => {
  const a = { width: 2, height: 1, rgb: new Uint8Array([1, 1, 1, 2, 2, 2]) };
  const b = { width: 1, height: 2, rgb: new Uint8Array([3, 3, 3, 4, 4, 4]) };
  const s = contactSheet([a, b, a], { columns: 2, gapPx: 1, background: [9, 9, 9] });
  // cells 2×2, 2 columns, 2 rows → width 2·2 + 3 = 7, height 7
  assert.equal(s.width, 7);
  assert.equal(s.height, 7);
  assert.deepEqual(px(s.rgb, 1 * 7 + 1), [1, 1, 1]);
  assert.deepEqual(px(s.rgb, 1 * 7 + 2), [2, 2, 2]);
  assert.deepEqual(px(s.rgb, 1 * 7 + 4), [3, 3, 3]);
  assert.deepEqual(px(s.rgb, 2 * 7 + 4), [4, 4, 4]);
  assert.deepEqual(px(s.rgb, 2 * 7 + 5), [9, 9, 9]);
  assert.deepEqual(px(s.rgb, 4 * 7 + 1), [1, 1, 1]);
  assert.deepEqual(px(s.rgb, 0), [9, 9, 9]);
  assert.throws(() => contactSheet([]), RangeError);
});

Deno.test("maskToRgb", () => {
  assert.deepEqual(Array.from(maskToRgb(new Uint8Array([0, 1]))), [0, 0, 0, 255, 255, 255]);
});

Deno.test("overlays draw ignored truth pixels (2) in their own colour whatever the prediction, and no outline around them", () => {
  const rgb = new Uint8Array(4 * 3).fill(100);
  const truth = new Uint8Array([2, 2, 1, 0]), pred = new Uint8Array([1, 0, 1, 1]);
  const c = confusionOverlay(rgb, 4, 1, truth, pred, { alpha: 1 });
  assert.deepEqual(px(c, 0), [...OVERLAY_COLOURS.ignore]);
  assert.deepEqual(px(c, 1), [...OVERLAY_COLOURS.ignore]);
  assert.deepEqual(px(c, 2), [...OVERLAY_COLOURS.tp]);
  assert.deepEqual(px(c, 3), [...OVERLAY_COLOURS.fp]);
  const p = predictionOverlay(rgb, 4, 1, truth, pred, { alpha: 1 });
  assert.deepEqual(px(p, 0), [...OVERLAY_COLOURS.ignore]);
  assert.deepEqual(px(p, 2), [...OVERLAY_COLOURS.truthOutline]); // the vessel pixel's outline
  assert.deepEqual(px(p, 3), [...OVERLAY_COLOURS.prediction]);
});
