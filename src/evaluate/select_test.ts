import assert from "node:assert/strict";
import { pickBestMedianWorst } from "./select.ts";

const roles = (ids: string[], dsc: number[]) =>
  pickBestMedianWorst(ids, dsc).map((p) => `${p.role}:${ids[p.index]}`).join(" ");

Deno.test("select: best, median, worst by DSC", () => {
  // sorted ascending: e(0.0) c(0.2) a(0.5) d(0.7) b(0.9); median = position 2 = a
  assert.equal(
    roles(["a", "b", "c", "d", "e"], [0.5, 0.9, 0.2, 0.7, 0]),
    "best:b median:a worst:e",
  );
});

Deno.test("select: ties are broken by id (smallest id first for every role)", () => {
  // all equal: ascending order by id a b c d; worst a, median position 1 = b, best a → best a
  // is picked first, worst a is a duplicate and left out.
  assert.equal(roles(["d", "b", "a", "c"], [1, 1, 1, 1]), "best:a median:b");
  // two best at 0.9: x and y → x; two worst at 0.1: p and q → p
  assert.equal(
    roles(["y", "q", "x", "p", "m"], [0.9, 0.1, 0.9, 0.1, 0.5]),
    "best:x median:m worst:p",
  );
});

Deno.test("select: NaN counts as lowest; small and empty inputs", () => {
  assert.equal(roles(["a", "b", "c"], [NaN, 0.3, 0.2]), "best:b median:c worst:a");
  assert.equal(roles(["a"], [0.4]), "best:a");
  assert.equal(roles(["a", "b"], [0.4, 0.6]), "best:b median:a");
  assert.deepEqual(pickBestMedianWorst([], []), []);
  assert.throws(() => pickBestMedianWorst(["a"], []), RangeError);
});
