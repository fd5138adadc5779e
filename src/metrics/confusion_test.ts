import assert from "node:assert/strict";
import { addConfusion, confusion, emptyConfusion, sumConfusion } from "./confusion.ts";

Deno.test("confusion counts each cell, any nonzero byte is positive", () => {
  //             pred: 1  1  0  0  255 0  7  0
  //            truth: 1  0  1  0  9   0  0  1
  const pred = new Uint8Array([1, 1, 0, 0, 255, 0, 7, 0]);
  const truth = new Uint8Array([1, 0, 1, 0, 9, 0, 0, 1]);
  assert.deepEqual(confusion(pred, truth), { tp: 2, fp: 2, fn: 2, tn: 2 });
});

Deno.test("confusion of empty masks is all zero", () => {
  assert.deepEqual(confusion(new Uint8Array(0), new Uint8Array(0)), emptyConfusion());
});

Deno.test("confusion rejects masks of different length with RangeError", () => {
  assert.throws(
    () => confusion(new Uint8Array(4), new Uint8Array(5)),
    (e: unknown) => e instanceof RangeError && /4 pixels.*5/.test(e.message),
  );
});

Deno.test("accumulating 20 000 tiles of 512² does not overflow 32 bits", () => {
  // 20 000 · 262 141 = 5 242 820 000 > 2^32 = 4 294 967 296: an int32 (or uint32) accumulator
  // wraps long before; the totals must stay exact.
  const tile = { tp: 512 * 512 - 3, fp: 1, fn: 1, tn: 1 };
  const total = emptyConfusion();
  for (let i = 0; i < 20_000; i++) addConfusion(total, tile);
  assert.equal(total.tp, 5_242_820_000);
  assert.equal(total.tp + total.fp + total.fn + total.tn, 20_000 * 262_144);
  const many = sumConfusion(Array.from({ length: 20_000 }, () => tile));
  assert.deepEqual(many, { tp: 5_242_820_000, fp: 20_000, fn: 20_000, tn: 20_000 });
});

Deno.test("confusion on a real-sized tile matches a direct count", () => {
  const n = 512 * 512;
  const pred = new Uint8Array(n), truth = new Uint8Array(n);
  // pred: first half of the rows; truth: even columns. Hand count: each quarter n/4.
  pred.fill(1, 0, n / 2);
  for (let i = 0; i < n; i += 2) truth[i] = 1;
  assert.deepEqual(confusion(pred, truth), { tp: n / 4, fp: n / 4, fn: n / 4, tn: n / 4 });
});

Deno.test("confusion: truth 2 (ignore) leaves the pixel out whatever the prediction — the same counts as the other pixels alone", () => {
  let s = 5;
  const next = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const n = 5000;
  const truth = Uint8Array.from({ length: n }, () => {
    const u = next();
    return u < 0.2 ? 2 : u < 0.5 ? 1 : 0;
  });
  const pred = Uint8Array.from({ length: n }, () => (next() < 0.4 ? 255 : 0));
  const kept = [...truth.keys()].filter((i) => truth[i] !== 2);
  const expected = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const i of kept) {
    const p = pred[i] !== 0, t = truth[i] === 1;
    if (p && t) expected.tp++;
    else if (p) expected.fp++;
    else if (t) expected.fn++;
    else expected.tn++;
  }
  assert.deepEqual(confusion(pred, truth), expected);
  const flipped = pred.map((v, i) => (truth[i] === 2 ? 255 - v : v));
  assert.deepEqual(confusion(flipped, truth), expected);
});
