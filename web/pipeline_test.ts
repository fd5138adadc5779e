import assert from "node:assert/strict";
import * as page from "./pipeline.ts";
import type { ModelMeta } from "./pipeline.ts";

const META: ModelMeta = {
  tileSizePx: 4,
  scale: 1,
  depth: 1,
  threshold: 0.5,
  checkpoint: "c",
  epoch: 1,
  trainedOn: "t",
  synthetic: null,
};

Deno.test("countComponents8: hand-made cases", () => {
  const cases: { rows: string[]; count: number }[] = [
    { rows: ["000", "000"], count: 0 },
    { rows: ["111", "111"], count: 1 },
    { rows: ["100", "010", "001"], count: 1 }, // diagonal chain: one 8-connected component
    { rows: ["101", "000", "101"], count: 4 },
    { rows: ["1001", "1001", "0110"], count: 1 }, // a U joined through corners
    { rows: ["10101", "00000", "11011"], count: 5 },
  ];
  for (const { rows, count } of cases) {
    const w = rows[0].length, h = rows.length;
    const mask = Uint8Array.from(rows.join(""), (c) => Number(c));
    assert.equal(page.countComponents8(mask, w, h), count, rows.join("/"));
  }
});

Deno.test("countComponents8: equals scikit-image label(connectivity=2) on random masks", async () => {
  const golden = JSON.parse(
    await Deno.readTextFile(new URL("../fixtures/web/components_golden.json", import.meta.url)),
  ) as { cases: { width: number; height: number; mask: string; count8: number }[] };
  assert.equal(golden.cases.length, 5);
  for (const c of golden.cases) {
    const mask = Uint8Array.from(c.mask, (ch) => Number(ch));
    assert.equal(
      page.countComponents8(mask, c.width, c.height),
      c.count8,
      `${c.width}×${c.height}`,
    );
  }
});

Deno.test("countComponents8: rejects a mask of the wrong size", () => {
  assert.throws(() => page.countComponents8(new Uint8Array(5), 2, 2), RangeError);
});

Deno.test("binarize: strictly above the threshold, as in validation", () => {
  const prob = new Float32Array([0, 0.49, 0.5, 0.51, 1]);
  assert.deepEqual(Array.from(page.binarize(prob, 0.5)), [0, 0, 0, 1, 1]);
});

Deno.test("rgbaToRgb drops alpha", () => {
  assert.deepEqual(
    Array.from(page.rgbaToRgb(new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 0]))),
    [1, 2, 3, 4, 5, 6],
  );
});

Deno.test("prepareInput: normalises (v/255 − mean)/std per channel", () => {
  const rgb = new Uint8Array(4 * 4 * 3);
  for (let i = 0; i < rgb.length; i += 3) rgb.set([255, 51, 0], i);
  const meta = { ...META, normalize: { mean: [0.5, 0.2, 0.1], std: [0.25, 0.5, 0.1] } };
  const inp = page.prepareInput(rgb, 4, 4, meta);
  assert.equal(inp.factor, 1);
  assert.equal(inp.widthPx, 4);
  // hand: (1 − 0.5)/0.25 = 2; (0.2 − 0.2)/0.5 = 0; (0 − 0.1)/0.1 = −1
  const want = [2, 0, -1];
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(inp.x[c] - want[c]) < 1e-6, `channel ${c}`);
  const plain = page.prepareInput(rgb, 4, 4, META);
  assert.ok(Math.abs(plain.x[1] - 0.2) < 1e-7);
});

Deno.test("prepareInput: area-averages to the model's scale", () => {
  // 4×2 grey-ish tile at scale 0.5 → 2×1; block means by hand: (1+2+2+2)/4 = 1.75 → 2,
  // (10+10+20+20)/4 = 15
  const grey = [1, 2, 10, 10, 2, 2, 20, 20];
  const rgb = new Uint8Array(grey.flatMap((v) => [v, v, v]));
  const inp = page.prepareInput(rgb, 4, 2, { ...META, scale: 0.5, depth: 0 });
  assert.equal(inp.factor, 2);
  assert.deepEqual([inp.widthPx, inp.heightPx], [2, 1]);
  assert.deepEqual(Array.from(inp.rgbHWC), [2, 2, 2, 15, 15, 15]);
});

Deno.test("prepareInput: rejects sizes the model cannot take", () => {
  const rgb = new Uint8Array(6 * 6 * 3);
  assert.throws(() => page.prepareInput(rgb, 6, 6, { ...META, scale: 0.25 }), /divisible by 4/);
  assert.throws(() => page.prepareInput(rgb, 6, 6, { ...META, depth: 2 }), /multiples of 4/);
  assert.throws(() => page.prepareInput(rgb, 6, 6, { ...META, scale: 0.3 }), /not 1\/n/);
});

Deno.test("overlayRgba: no tint at p = 0, green blend where the mask is set", () => {
  const rgb = new Uint8Array([100, 100, 100, 100, 100, 100]);
  const out = page.overlayRgba(rgb, new Float32Array([0, 1]), new Uint8Array([0, 1]));
  assert.deepEqual(Array.from(out.subarray(0, 4)), [100, 100, 100, 255]);
  // a = 0.6: 0.4·100 + 0.6·(0, 255, 90) = (40, 193, 94)
  assert.deepEqual(Array.from(out.subarray(4, 8)), [40, 193, 94, 255]);
});
