import assert from "node:assert/strict";
import { Rng } from "../rng.ts";
import { foldPlan, splitTiles } from "./split.ts";

function items(n: number, slides: number) {
  return Array.from({ length: n }, (_, k) => ({
    id: k.toString(16).padStart(12, "0"),
    sourceWsi: 1 + (k % slides),
  }));
}

Deno.test("random split: 90/10, seeded, independent of input order", () => {
  const tiles = items(100, 4);
  const a = splitTiles(tiles, { seed: 7 });
  const b = splitTiles([...tiles].reverse(), { seed: 7 });
  assert.deepEqual([...a.entries()].sort(), [...b.entries()].sort());
  assert.equal([...a.values()].filter((s) => s === "val").length, 10);
  const c = splitTiles(tiles, { seed: 8 });
  assert.notDeepEqual([...a.entries()].sort(), [...c.entries()].sort());
  assert.equal(
    [...splitTiles(tiles, { valFraction: 0.25 }).values()].filter((s) => s === "val").length,
    25,
  );
  // Tiny sets still get one tile on each side.
  const tiny = splitTiles(items(3, 1), { valFraction: 0.1 });
  assert.deepEqual([...tiny.values()].filter((s) => s === "val").length, 1);
  assert.throws(() => splitTiles(items(1, 1)), /cannot split 1 tile/);
});

Deno.test("wsi split: no slide straddles, fraction near target, seeded", () => {
  // Uneven slides: 40, 30, 20, 10 tiles.
  const tiles = [
    ...items(40, 1).map((t) => ({ ...t, id: `a${t.id}`, sourceWsi: 1 })),
    ...items(30, 1).map((t) => ({ ...t, id: `b${t.id}`, sourceWsi: 2 })),
    ...items(20, 1).map((t) => ({ ...t, id: `c${t.id}`, sourceWsi: 3 })),
    ...items(10, 1).map((t) => ({ ...t, id: `d${t.id}`, sourceWsi: 4 })),
  ];
  for (let seed = 0; seed < 20; seed++) {
    const s = splitTiles(tiles, { method: "wsi", valFraction: 0.1, seed });
    const sides = new Map<number, Set<string>>();
    for (const t of tiles) {
      if (!sides.has(t.sourceWsi)) sides.set(t.sourceWsi, new Set());
      sides.get(t.sourceWsi)!.add(s.get(t.id)!);
    }
    for (const [slide, set] of sides) assert.equal(set.size, 1, `slide ${slide} straddles`);
    const nVal = [...s.values()].filter((v) => v === "val").length;
    assert.ok(nVal > 0 && nVal < tiles.length);
    assert.deepEqual(s, splitTiles(tiles, { method: "wsi", valFraction: 0.1, seed }));
  }
  // With the 10-tile slide available, the closest choice to 10 % is exactly that slide whenever it
  // is reached; over seeds the mean val share stays near the target.
  const shares = Array.from({ length: 50 }, (_, seed) => {
    const s = splitTiles(tiles, { method: "wsi", valFraction: 0.3, seed });
    return [...s.values()].filter((v) => v === "val").length / tiles.length;
  });
  const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
  assert.ok(Math.abs(mean - 0.3) < 0.1, `mean val share ${mean}`);
  // Even slides: 8 slides of 10 tiles, 25 % → 2 or 3 slides.
  const even = splitTiles(items(80, 8), { method: "wsi", valFraction: 0.25, seed: 3 });
  const v = [...even.values()].filter((x) => x === "val").length;
  assert.ok(v === 20 || v === 30, `val ${v}`);
});

Deno.test("wsi split with a single slide is a clear error", () => {
  assert.throws(
    () => splitTiles(items(10, 1), { method: "wsi" }),
    /--split wsi needs tiles from at least 2 slides \(source_wsi\), found 1 \(1\)/,
  );
});

Deno.test("fold split: every slide on one side, folds balanced by tiles, seeded, independent of input order", () => {
  const rng = new Rng(7);
  // 23 slides of 1–40 tiles each
  const list: { id: string; sourceWsi: number }[] = [];
  for (let s = 0; s < 23; s++) {
    const n = 1 + rng.int(40);
    for (let k = 0; k < n; k++) list.push({ id: `s${s}-t${k}`, sourceWsi: 100 + s });
  }
  const largest = Math.max(
    ...Array.from({ length: 23 }, (_, s) => list.filter((t) => t.sourceWsi === 100 + s).length),
  );
  for (const folds of [2, 3, 5]) {
    const plan = foldPlan(list, folds, 3);
    // every slide in exactly one fold; counts add up
    const seen = plan.flatMap((f) => f.slides).sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: 23 }, (_, s) => 100 + s));
    for (const f of plan) {
      assert.equal(f.tiles, list.filter((t) => f.slides.includes(t.sourceWsi)).length);
    }
    // greedy largest-first: no fold is more than one slide's worth above another
    const sizes = plan.map((f) => f.tiles);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= largest, `${sizes}`);
    const inVal = new Map<string, number>();
    for (let fold = 0; fold < folds; fold++) {
      const split = splitTiles(list, { method: "fold", folds, fold, seed: 3 });
      const reversed = splitTiles([...list].reverse(), { method: "fold", folds, fold, seed: 3 });
      assert.deepEqual([...split].sort(), [...reversed].sort(), "input order does not matter");
      for (const slide of new Set(list.map((t) => t.sourceWsi))) {
        const sides = new Set(
          list.filter((t) => t.sourceWsi === slide).map((t) => split.get(t.id)),
        );
        assert.equal(sides.size, 1, `slide ${slide} on both sides in fold ${fold}`);
      }
      for (const [id, s] of split) if (s === "val") inVal.set(id, (inVal.get(id) ?? 0) + 1);
    }
    // the folds' validation sets partition the tiles
    assert.equal(inVal.size, list.length);
    assert.ok([...inVal.values()].every((c) => c === 1));
  }
  assert.notDeepEqual(foldPlan(list, 5, 3), foldPlan(list, 5, 4), "another seed, another plan");
  assert.throws(
    () => foldPlan(list.slice(0, 2), 3, 0),
    /3 folds need tiles from at least 3 slides/,
  );
  assert.throws(() => splitTiles(list, { method: "fold", folds: 3, fold: 3 }), /--fold must be/);
});

Deno.test("val fraction 0 puts every tile in train, 1 every tile in val, whatever the method", () => {
  const list = items(9, 3);
  for (const method of ["random", "wsi"] as const) {
    const all = (f: number) => new Set(splitTiles(list, { method, valFraction: f }).values());
    assert.deepEqual(all(0), new Set(["train"]));
    assert.deepEqual(all(1), new Set(["val"]));
  }
  // one tile: an all-train or evaluation-only set is fine, a split is not
  assert.equal(splitTiles(items(1, 1), { valFraction: 1 }).get("000000000000"), "val");
  assert.throws(() => splitTiles(items(1, 1), { valFraction: 0.5 }), /cannot split 1 tile/);
});
