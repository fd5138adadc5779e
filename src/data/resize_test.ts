import assert from "node:assert/strict";
import { downscaleArea, downscaleMask } from "./resize.ts";

const GOLDEN = new URL("../../fixtures/golden/", import.meta.url);
const read = (name: string) => Deno.readFile(new URL(name, GOLDEN));

for (const [src, size] of [["resize", 128], ["noise", 64]] as const) {
  for (const f of [2, 4]) {
    Deno.test(`downscaleArea equals cv2.resize INTER_AREA: ${src} ×1/${f}`, async () => {
      const input = await read(`${src}_src.u8`);
      const golden = await read(`${src}_x${f}.u8`);
      const out = downscaleArea(input, size, size, 3, f);
      assert.equal(out.length, golden.length);
      let differ = 0;
      for (let i = 0; i < out.length; i++) if (out[i] !== golden[i]) differ++;
      assert.equal(differ, 0, `${differ} of ${out.length} values differ from OpenCV`);
    });
  }
}

Deno.test("downscaleArea rounding: factor 2 rounds half up, factor 4 half to even", () => {
  // 2×2 block sums 2 (0.5), 6 (1.5): half up → 1, 2.
  assert.deepEqual(Array.from(downscaleArea(new Uint8Array([0, 1, 0, 1]), 2, 2, 1, 2)), [1]);
  assert.deepEqual(Array.from(downscaleArea(new Uint8Array([1, 2, 1, 2]), 2, 2, 1, 2)), [2]);
  // 4×4 block with sum 8 → 0.5 → 0; sum 24 → 1.5 → 2.
  const a = new Uint8Array(16);
  a.fill(1, 0, 8);
  assert.deepEqual(Array.from(downscaleArea(a, 4, 4, 1, 4)), [0]);
  a.fill(1);
  a.fill(2, 0, 8);
  assert.deepEqual(Array.from(downscaleArea(a, 4, 4, 1, 4)), [2]);
  assert.throws(() => downscaleArea(new Uint8Array(6 * 6), 6, 6, 1, 4), /not divisible/);
});

for (const f of [2, 4]) {
  Deno.test(`downscaleMask equals the NumPy block mean ≥ 0.5: ×1/${f}`, async () => {
    const out = downscaleMask(await read("mask_src.u8"), 64, 64, f);
    assert.deepEqual(out, await read(`mask_x${f}.u8`));
  });
}

Deno.test("downscaleMask tie rule: exactly half set → 1, less → 0", () => {
  assert.deepEqual(Array.from(downscaleMask(new Uint8Array([1, 0, 0, 1]), 2, 2, 2)), [1]);
  assert.deepEqual(Array.from(downscaleMask(new Uint8Array([0, 0, 0, 255]), 2, 2, 2)), [0]);
  const m = new Uint8Array(16);
  m.fill(1, 0, 8);
  assert.deepEqual(Array.from(downscaleMask(m, 4, 4, 4)), [1]);
  m[7] = 0;
  assert.deepEqual(Array.from(downscaleMask(m, 4, 4, 4)), [0]);
});
