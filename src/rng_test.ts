import assert from "node:assert/strict";
import { Rng } from "./rng.ts";

Deno.test("Rng: same seed gives the same sequence, different seeds differ", () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const sa = Array.from({ length: 8 }, () => a.uint32());
  const sb = Array.from({ length: 8 }, () => b.uint32());
  const sc = Array.from({ length: 8 }, () => c.uint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

Deno.test("Rng: state round-trips and continues the sequence", () => {
  const a = new Rng(123);
  for (let i = 0; i < 10; i++) a.uint32();
  const b = Rng.fromState(a.state());
  for (let i = 0; i < 20; i++) assert.equal(b.uint32(), a.uint32());
});

Deno.test("Rng: float is in [0, 1) with a plausible mean; int stays in range", () => {
  const r = new Rng(1);
  let sum = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
    sum += f;
  }
  // Mean of U(0,1) over 20000 draws: sd of the mean ≈ 0.002, so 0.02 is a 10-sigma bound.
  assert.ok(Math.abs(sum / n - 0.5) < 0.02, `mean ${sum / n}`);
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 5000; i++) counts[r.int(5)]++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `counts ${counts}`);
});

Deno.test("Rng: normal has mean ≈ 0 and variance ≈ 1", () => {
  const r = new Rng(99);
  const n = 20000;
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = r.normal();
    s += x;
    s2 += x * x;
  }
  const mean = s / n, variance = s2 / n - mean * mean;
  assert.ok(Math.abs(mean) < 0.05, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
});

Deno.test("Rng: shuffle is a seeded permutation", () => {
  const a = new Rng(5).shuffle([...Array(50).keys()]);
  const b = new Rng(5).shuffle([...Array(50).keys()]);
  assert.deepEqual(a, b);
  assert.deepEqual([...a].sort((x, y) => x - y), [...Array(50).keys()]);
  assert.notDeepEqual(a, [...Array(50).keys()]);
});

Deno.test("Rng: rejects bad arguments", () => {
  assert.throws(() => new Rng(NaN), RangeError);
  assert.throws(() => new Rng(1).int(0), RangeError);
  assert.throws(() => Rng.fromState([1, 2, 3]), RangeError);
});
