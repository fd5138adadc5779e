import assert from "node:assert/strict";
import { Rng } from "../rng.ts";
import { augmentSample, colorJitter, dihedral } from "./augment.ts";

Deno.test("augment: dihedral ops match numpy.fliplr(numpy.rot90(a, k)) on a 2×2 image", () => {
  // /usr/bin/python3: r = np.rot90([[1, 2], [3, 4]], op & 3); r = np.fliplr(r) if op & 4
  const expected = [
    [1, 2, 3, 4],
    [2, 4, 1, 3],
    [4, 3, 2, 1],
    [3, 1, 4, 2],
    [2, 1, 4, 3],
    [4, 2, 3, 1],
    [3, 4, 1, 2],
    [1, 3, 2, 4],
  ];
  const a = new Uint8Array([1, 2, 3, 4]);
  for (let op = 0; op < 8; op++) {
    assert.deepEqual([...dihedral(a, 2, 1, op)], expected[op], `op ${op}`);
  }
});

Deno.test("augment: four quarter turns and two flips are the identity; channels move together", () => {
  const size = 5;
  const img = new Uint8Array(size * size * 3).map((_, i) => (i * 37) % 251);
  let r: Uint8Array = img;
  for (let k = 0; k < 4; k++) r = dihedral(r, size, 3, 1);
  assert.deepEqual(r, img);
  assert.deepEqual(dihedral(dihedral(img, size, 3, 4), size, 3, 4), img);
  const rot = dihedral(img, size, 3, 1);
  // pixel (y=0, x=0) of the rotated image is source pixel (y=0, x=4): all three channels
  assert.deepEqual([...rot.subarray(0, 3)], [...img.subarray(4 * 3, 4 * 3 + 3)]);
});

Deno.test("augment: morph moves image and mask identically; colour leaves the mask alone", () => {
  const size = 8;
  const rng0 = new Rng(3);
  const img = new Uint8Array(size * size * 3);
  const mask = new Uint8Array(size * size);
  for (let i = 0; i < size * size; i++) {
    mask[i] = rng0.int(2);
    img[3 * i] = mask[i] * 200; // red channel carries the mask
    img[3 * i + 1] = i;
    img[3 * i + 2] = 7;
  }
  const seen = new Set<string>();
  for (let seed = 0; seed < 20; seed++) {
    const out = augmentSample(img, mask, size, "morph", new Rng(seed));
    for (let i = 0; i < size * size; i++) assert.equal(out.rgbHWC[3 * i], out.maskU8[i] * 200);
    seen.add(out.maskU8.join(""));
  }
  assert.ok(seen.size > 3, `only ${seen.size} distinct morphs in 20 seeds`);
  const a = augmentSample(img, mask, size, "color", new Rng(1));
  const b = augmentSample(img, mask, size, "color", new Rng(1));
  assert.deepEqual(a, b, "same seed, different result");
  assert.deepEqual(a.maskU8, mask);
  assert.notDeepEqual(a.rgbHWC, img);
  assert.equal(augmentSample(img, mask, size, "none", new Rng(1)).rgbHWC, img);
});

Deno.test("augment: colour jitter by hand (identity, brightness, contrast, hue, saturation, value)", () => {
  const id = { brightness: 1, contrast: 1, hueDeg: 0, saturation: 0, value: 0 };
  const img = new Uint8Array([0, 0, 0, 200, 200, 200, 255, 0, 0, 200, 100, 50]);
  assert.deepEqual(colorJitter(img, id), img);
  assert.deepEqual([...colorJitter(new Uint8Array([100, 50, 20]), { ...id, brightness: 1.5 })], [
    150,
    75,
    30,
  ]);
  // two pixels (0,0,0) and (200,200,200): mean grey 100; contrast 0.5 → 50 and 150
  assert.deepEqual(
    [...colorJitter(new Uint8Array([0, 0, 0, 200, 200, 200]), { ...id, contrast: 0.5 })],
    [50, 50, 50, 150, 150, 150],
  );
  // pure red turned by 120° is pure green, by 240° pure blue
  assert.deepEqual([...colorJitter(new Uint8Array([255, 0, 0]), { ...id, hueDeg: 120 })], [
    0,
    255,
    0,
  ]);
  assert.deepEqual([...colorJitter(new Uint8Array([255, 0, 0]), { ...id, hueDeg: -120 })], [
    0,
    0,
    255,
  ]);
  // saturation −1 keeps V = max: (200, 100, 50) → grey 200
  assert.deepEqual([...colorJitter(new Uint8Array([200, 100, 50]), { ...id, saturation: -1 })], [
    200,
    200,
    200,
  ]);
  // value +51/255 on grey 100 → 151
  assert.deepEqual([...colorJitter(new Uint8Array([100, 100, 100]), { ...id, value: 51 / 255 })], [
    151,
    151,
    151,
  ]);
});
