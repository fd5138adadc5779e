import assert from "node:assert/strict";
import { fullMask, noneMask, randomMask, tileSeed } from "./trivial.ts";

Deno.test("none and full masks", () => {
  assert.deepEqual(Array.from(noneMask(3)), [0, 0, 0]);
  assert.deepEqual(Array.from(fullMask(3)), [1, 1, 1]);
  assert.deepEqual(Array.from(noneMask(2, new Uint8Array([5, 5]))), [0, 0]);
});

Deno.test("random mask: seeded by (seed, tile), independent of order, about half ones", () => {
  const n = 128 * 128;
  const a = randomMask(n, 3, 10);
  randomMask(n, 3, 11); // another tile drawn in between changes nothing
  assert.deepEqual(randomMask(n, 3, 10), a);
  assert.notDeepEqual(randomMask(n, 3, 11), a);
  assert.notDeepEqual(randomMask(n, 4, 10), a);
  const ones = a.reduce((s, v) => s + v, 0);
  // Binomial(16384, 0.5): sd 64; 6 sd either side
  assert.ok(Math.abs(ones - n / 2) < 6 * 64, `ones ${ones}`);
  assert.ok(a.every((v) => v === 0 || v === 1));
});

Deno.test("random mask covers lengths that are not multiples of 32", () => {
  const m = randomMask(33, 0, 0);
  assert.equal(m.length, 33);
  assert.deepEqual(randomMask(33, 0, 0).subarray(0, 32), randomMask(32, 0, 0));
});

Deno.test("tileSeed separates neighbouring seeds and tiles", () => {
  const seen = new Set<number>();
  for (let s = 0; s < 20; s++) for (let t = 0; t < 50; t++) seen.add(tileSeed(s, t));
  assert.equal(seen.size, 1000);
});
