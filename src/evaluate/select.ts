/**
 * The fixed rule that picks the tiles shown as overlays, so that nothing is hand-picked: tiles
 * are sorted by DSC (ascending) and then by id; the **worst** is the first, the **median** the one
 * at position ⌊(n − 1) / 2⌋, the **best** the tile with the highest DSC and, among equals, the
 * smallest id. A tile picked twice (fewer than three tiles, or ties) is kept once, at its first
 * role in the order best, median, worst.
 *
 * @module
 */

/** A picked tile: index into the input and why it was picked. */
export interface TilePick {
  index: number;
  role: "best" | "median" | "worst";
}

/**
 * Picks best, median and worst tiles by `dsc` (NaN counts as lowest).
 *
 * @example
 * ```ts
 * import { pickBestMedianWorst } from "./select.ts";
 * const picks = pickBestMedianWorst(["a", "b", "c", "d"], [0.5, 0.9, 0.1, 0.9]);
 * console.assert(picks.map((p) => `${p.role}:${p.index}`).join() === "best:1,median:0,worst:2");
 * ```
 */
export function pickBestMedianWorst(ids: readonly string[], dsc: ArrayLike<number>): TilePick[] {
  if (ids.length !== dsc.length) {
    throw new RangeError(`pickBestMedianWorst: ${ids.length} ids but ${dsc.length} scores`);
  }
  if (ids.length === 0) return [];
  const key = (i: number) => (Number.isNaN(dsc[i]) ? -Infinity : dsc[i]);
  const byId = (a: number, b: number) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0);
  const ascending = ids.map((_, i) => i).sort((a, b) => key(a) - key(b) || byId(a, b));
  const top = key(ascending[ascending.length - 1]);
  const best = ascending.filter((i) => key(i) === top).sort(byId)[0];
  const candidates: TilePick[] = [
    { index: best, role: "best" },
    { index: ascending[Math.floor((ascending.length - 1) / 2)], role: "median" },
    { index: ascending[0], role: "worst" },
  ];
  const out: TilePick[] = [];
  for (const c of candidates) if (!out.some((p) => p.index === c.index)) out.push(c);
  return out;
}
