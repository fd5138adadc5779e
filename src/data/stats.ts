/**
 * Streaming per-channel mean and standard deviation on a 0–1 scale.
 *
 * Each tile's sums are exact integers (a 512² tile's sum of squares is below 2^34), turned into a
 * per-tile mean and sum of squared deviations, and merged with Chan et al.'s pairwise update in
 * float64 — numerically sound for any number of tiles, with memory independent of it. The std is
 * the population std (divide by the pixel count), like `numpy.std`.
 *
 * @module
 */

/** Running state: pixel count, per-channel mean and sum of squared deviations (0–255 scale). */
export interface StatsState {
  n: number;
  tiles: number;
  mean: [number, number, number];
  m2: [number, number, number];
}

/** Per-tile moments, as {@linkcode tileMoments} returns them (also journaled for resumes). */
export interface TileMoments {
  n: number;
  mean: [number, number, number];
  m2: [number, number, number];
}

/** An empty accumulator. */
export function newStats(): StatsState {
  return { n: 0, tiles: 0, mean: [0, 0, 0], m2: [0, 0, 0] };
}

/**
 * Exact moments of one RGB (HWC) tile.
 *
 * @example
 * ```ts
 * import { tileMoments } from "./stats.ts";
 * const m = tileMoments(new Uint8Array([0, 0, 0, 255, 255, 255]));
 * console.assert(m.mean[0] === 127.5 && m.m2[0] === 2 * 127.5 ** 2);
 * ```
 */
export function tileMoments(rgbHWC: Uint8Array): TileMoments {
  const n = rgbHWC.length / 3;
  let s0 = 0, s1 = 0, s2 = 0, q0 = 0, q1 = 0, q2 = 0;
  for (let i = 0; i < rgbHWC.length; i += 3) {
    const r = rgbHWC[i], g = rgbHWC[i + 1], b = rgbHWC[i + 2];
    s0 += r, s1 += g, s2 += b;
    q0 += r * r, q1 += g * g, q2 += b * b;
  }
  const sums = [s0, s1, s2], sq = [q0, q1, q2];
  const mean = [0, 1, 2].map((c) => (n > 0 ? sums[c] / n : 0)) as [number, number, number];
  // sq − s²/n: for a 512² tile s < 2^26, so s² is exact in float64.
  const m2 = [0, 1, 2].map((c) => (n > 0 ? Math.max(0, sq[c] - (sums[c] * sums[c]) / n) : 0)) as [
    number,
    number,
    number,
  ];
  return { n, mean, m2 };
}

/** Merges one tile's moments into `state` (Chan et al. 1979 pairwise update). */
export function addMoments(state: StatsState, t: TileMoments): void {
  if (t.n === 0) return;
  const n = state.n + t.n;
  for (let c = 0; c < 3; c++) {
    const delta = t.mean[c] - state.mean[c];
    state.mean[c] += (delta * t.n) / n;
    state.m2[c] += t.m2[c] + (delta * delta * state.n * t.n) / n;
  }
  state.n = n;
  state.tiles++;
}

/** Mean and population std on a 0–1 scale. */
export function finishStats(state: StatsState): {
  mean: [number, number, number];
  std: [number, number, number];
} {
  const mean = state.mean.map((m) => m / 255) as [number, number, number];
  const std = state.m2.map((m2) => (state.n > 0 ? Math.sqrt(m2 / state.n) / 255 : 0)) as [
    number,
    number,
    number,
  ];
  return { mean, std };
}
