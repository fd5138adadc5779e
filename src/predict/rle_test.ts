import assert from "node:assert/strict";
import {
  countsToMask,
  countsToString,
  decodeCounts,
  decodeMask,
  encodeCounts,
  encodeMask,
  rleCounts,
  rleCountsFromPixels,
  stringToCounts,
} from "./rle.ts";
import { Rng } from "../rng.ts";
import { inflateSync } from "node:zlib";

interface RleCase {
  name: string;
  width: number;
  height: number;
  maskPackedBits: string;
  counts: number[];
  string: string;
  encoded: string;
}

const CASES: RleCase[] = JSON.parse(
  await Deno.readTextFile(new URL("../../fixtures/rle/cases.json", import.meta.url)),
).cases;

function unpack(c: RleCase): Uint8Array {
  const bytes = Uint8Array.from(atob(c.maskPackedBits), (ch) => ch.charCodeAt(0));
  const mask = new Uint8Array(c.width * c.height);
  for (let i = 0; i < mask.length; i++) mask[i] = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  return mask;
}

function pixelsOf(mask: Uint8Array): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return Int32Array.from(out);
}

Deno.test("rle: hand-worked strings (maskApi.c rleToString)", () => {
  // 3×2 rows [0 1 1] / [1 1 0] → column-major 0 1 1 1 1 0 → [1, 4, 1] → "141"
  const mask = new Uint8Array([0, 1, 1, 1, 1, 0]);
  assert.deepEqual(rleCounts(mask, 3, 2), [1, 4, 1]);
  assert.equal(countsToString([1, 4, 1]), "141");
  // 20 has bit 0x10 set, so it needs a second group: "d0"; count 3 is 40 − 20 = 20 again
  assert.equal(countsToString([5, 20, 3, 40]), "5d03d0");
  // negative delta 3 − 10 = −7: one group, 25 + 48 = "I"
  assert.equal(countsToString([0, 10, 5, 3]), "0:5I");
  assert.deepEqual(stringToCounts("0:5I"), [0, 10, 5, 3]);
  assert.deepEqual(stringToCounts("5d03d0"), [5, 20, 3, 40]);
});

for (const c of CASES) {
  Deno.test(`rle: golden ${c.name} (${c.width}×${c.height}) from fixtures/rle/make_rle.py`, () => {
    const mask = unpack(c);
    const counts = rleCounts(mask, c.width, c.height);
    assert.deepEqual(counts, c.counts);
    assert.deepEqual(rleCountsFromPixels(pixelsOf(mask), c.width, c.height), c.counts);
    assert.equal(countsToString(counts), c.string);
    // Deno's zlib and Python's zlib may pick different (equally valid) level-9 deflate streams,
    // so the compressed bytes are compared through decompression: ours must inflate to the
    // golden string, and the golden bytes must decode to the golden counts.
    const ours = Uint8Array.from(atob(encodeCounts(counts)), (ch) => ch.charCodeAt(0));
    assert.equal(ours[0], 0x78); // zlib header
    assert.equal(ours[1], 0xda); // level 9 ("best compression") flag, as Python writes it
    assert.equal(new TextDecoder().decode(inflateSync(ours)), c.string);
    assert.deepEqual(decodeCounts(c.encoded), c.counts);
    assert.deepEqual(decodeMask(c.encoded, c.width, c.height), mask);
  });
}

Deno.test("rle: encode → decode round trip on random masks of odd shapes", () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 40; trial++) {
    const w = 1 + rng.int(40), h = 1 + rng.int(40);
    const p = rng.float();
    const mask = new Uint8Array(w * h);
    for (let i = 0; i < mask.length; i++) mask[i] = rng.float() < p ? 1 : 0;
    const counts = rleCounts(mask, w, h);
    assert.equal(counts.reduce((a, b) => a + b, 0), w * h);
    assert.deepEqual(rleCountsFromPixels(pixelsOf(mask), w, h), counts);
    assert.deepEqual(stringToCounts(countsToString(counts)), counts);
    assert.deepEqual(decodeMask(encodeMask(mask, w, h), w, h), mask);
  }
});

Deno.test("rle: large counts survive the round trip", () => {
  const counts = [0, 2 ** 20 + 5, 3, 17, 2 ** 21];
  assert.deepEqual(stringToCounts(countsToString(counts)), counts);
});

Deno.test("rle: malformed input is rejected", () => {
  assert.throws(() => stringToCounts("`"), /ends inside a value/);
  assert.throws(() => stringToCounts("5~"), /expected characters/);
  assert.throws(() => countsToMask([3, 2], 2, 2), /cover more than/);
  assert.throws(() => countsToMask([1, 2], 2, 2), /cover 3 pixels/);
  assert.throws(() => decodeCounts("!!!"), /not base64/);
  assert.throws(() => decodeCounts(btoa("plain")), /zlib/);
});
