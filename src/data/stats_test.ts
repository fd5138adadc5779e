import assert from "node:assert/strict";
import { addMoments, finishStats, newStats, tileMoments } from "./stats.ts";
import { Rng } from "../rng.ts";

Deno.test("stats: hand-computed mean/std on a 0–1 scale", () => {
  const s = newStats();
  // Pixels (R,G,B): (0, 51, 255), (255, 51, 255) → R mean 0.5 std 0.5; G 0.2 std 0; B 1 std 0.
  addMoments(s, tileMoments(new Uint8Array([0, 51, 255])));
  addMoments(s, tileMoments(new Uint8Array([255, 51, 255])));
  const { mean, std } = finishStats(s);
  assert.deepEqual(mean, [0.5, 0.2, 1]);
  assert.deepEqual(std, [0.5, 0, 0]);
  assert.equal(s.tiles, 2);
});

Deno.test("stats: streaming merge equals a two-pass float64 computation", () => {
  const rng = new Rng(1);
  const tiles = Array.from({ length: 7 }, () => {
    const t = new Uint8Array(3 * (50 + rng.int(200)));
    for (let i = 0; i < t.length; i++) t[i] = 200 + rng.int(56); // bright, low variance
    return t;
  });
  const s = newStats();
  for (const t of tiles) addMoments(s, tileMoments(t));
  const got = finishStats(s);
  for (let c = 0; c < 3; c++) {
    const vals: number[] = [];
    for (const t of tiles) for (let i = c; i < t.length; i += 3) vals.push(t[i] / 255);
    const m = vals.reduce((a, b) => a + b, 0) / vals.length;
    const sd = Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / vals.length);
    assert.ok(Math.abs(got.mean[c] - m) < 1e-12, `mean ${got.mean[c]} vs ${m}`);
    assert.ok(Math.abs(got.std[c] - sd) < 1e-12, `std ${got.std[c]} vs ${sd}`);
  }
});
