import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { openPrepared, ShardWriter } from "./prepared_io.ts";
import type { Manifest, PreparedTile } from "./prepared.ts";

/** A hand-built prepared directory: 3 tiles of 2×2 with known bytes. */
async function writeTiny(dir: string): Promise<Manifest> {
  const tiles: PreparedTile[] = ["a", "b", "c"].map((id, index) => ({
    id,
    index,
    split: index === 2 ? "val" : "train",
    sourceWsi: 1,
    dataset: 1,
    vesselPx: index,
    sourceWidth: 512,
    sourceHeight: 512,
  }));
  const img = await ShardWriter.open(join(dir, "images.u8"), 12);
  const msk = await ShardWriter.open(join(dir, "masks.u8"), 4);
  for (let k = 0; k < 3; k++) {
    await img.append(new Uint8Array(12).map((_, i) => 10 * k + i));
    await msk.append(new Uint8Array(4).map((_, i) => (i < k ? 1 : 0)));
  }
  img.close();
  msk.close();
  const manifest = {
    format: "vessel-seg-prepared",
    formatVersion: 1,
    tool: { name: "t", version: "0" },
    command: [],
    options: {},
    seed: 0,
    scale: 1,
    tileSizePx: 2,
    classes: ["blood_vessel"],
    shards: {
      images: "images.u8",
      masks: { blood_vessel: "masks.u8" },
      imageStride: 12,
      maskStride: 4,
    },
    split: { method: "random", valFraction: 0.1 },
    stats: { mean: [0, 0, 0], std: [1, 1, 1], computedOn: "train", tiles: 2 },
    tiles,
    summary: {},
    skipped: [],
    inputHashes: {},
  } satisfies Manifest;
  await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(manifest));
  return manifest;
}

Deno.test("openPrepared: read, readBatch and split filter", async () => {
  const dir = await Deno.makeTempDir();
  await writeTiny(dir);
  const ds = await openPrepared(dir);
  try {
    assert.deepEqual(ds.tiles("train").map((t) => t.id), ["a", "b"]);
    assert.deepEqual(ds.tiles("val").map((t) => t.id), ["c"]);
    assert.equal(ds.tiles().length, 3);
    const c = await ds.read(ds.tiles("val")[0]);
    assert.deepEqual(Array.from(c.rgbHWC), [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);
    assert.deepEqual(Array.from(c.maskU8), [1, 1, 0, 0]);
    const [a, b] = ds.tiles("train");
    const batch = await ds.readBatch([b, a]);
    assert.deepEqual(Array.from(batch.rgbHWC.subarray(0, 3)), [10, 11, 12]);
    assert.deepEqual(Array.from(batch.rgbHWC.subarray(12, 15)), [0, 1, 2]);
    assert.deepEqual(Array.from(batch.maskU8), [1, 0, 0, 0, 0, 0, 0, 0]);
    await assert.rejects(ds.readClassMask(a, "glomerulus"), /not prepared/);
  } finally {
    ds.close();
  }
});

Deno.test("openPrepared: missing manifest and short shard are InputErrors", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    openPrepared(dir),
    (e) => e instanceof InputError && /deno task prepare/.test(e.message),
  );
  await writeTiny(dir);
  await Deno.truncate(join(dir, "masks.u8"), 11);
  await assert.rejects(
    openPrepared(dir),
    (e) =>
      e instanceof InputError && /masks\.u8: 11 bytes, manifest says 3 tiles × 4/.test(e.message),
  );
});

Deno.test("ShardWriter: keep, truncate and append at the right offset", async () => {
  const dir = await Deno.makeTempDir();
  const p = join(dir, "s.u8");
  const w = await ShardWriter.open(p, 2);
  await w.append(new Uint8Array([1, 2]));
  await w.append(new Uint8Array([3, 4]));
  await w.append(new Uint8Array([5, 6]));
  await w.truncate(1);
  await w.append(new Uint8Array([7, 8]));
  await assert.rejects(w.append(new Uint8Array(3)), RangeError);
  w.close();
  assert.deepEqual(Array.from(await Deno.readFile(p)), [1, 2, 7, 8]);
  const w2 = await ShardWriter.open(p, 2, 1);
  assert.equal(w2.count, 1);
  await w2.append(new Uint8Array([9, 9]));
  w2.close();
  assert.deepEqual(Array.from(await Deno.readFile(p)), [1, 2, 9, 9]);
});
