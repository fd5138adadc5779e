import assert from "node:assert/strict";
import { InputError } from "../errors.ts";
import { kaggleLayout, readTiles, tilePath } from "./tiles.ts";

const FIX = new URL("../../fixtures/", import.meta.url);
const crop = Deno.readFileSync(new URL("tiff/crop.rgb", FIX));

/** A Kaggle layout in a temporary directory: train/ holds a TIFF, a PNG and a truncated TIFF. */
async function layoutWithTiles() {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/train`);
  await Deno.mkdir(`${dir}/test`);
  await Deno.copyFile(new URL("tiff/crop_lzw.tif", FIX), `${dir}/train/small.tif`); // 96×80
  await Deno.copyFile(new URL("real/0006ff2aa7cd.png", FIX), `${dir}/train/0006ff2aa7cd.png`);
  await Deno.copyFile(
    new URL("real/0006ff2aa7cd_deflate.tif", FIX),
    `${dir}/test/0006ff2aa7cd.tiff`,
  );
  await Deno.copyFile(new URL("bad/truncated.tif", FIX), `${dir}/train/broken.tif`);
  return { dir, layout: kaggleLayout(dir) };
}

Deno.test("kaggleLayout: the competition's file names", () => {
  assert.deepEqual(kaggleLayout("data/hubmap"), {
    dir: "data/hubmap",
    polygons: "data/hubmap/polygons.jsonl",
    tileMeta: "data/hubmap/tile_meta.csv",
    wsiMeta: "data/hubmap/wsi_meta.csv",
    trainDir: "data/hubmap/train",
    testDir: "data/hubmap/test",
  });
});

Deno.test("tilePath: .tif, then .tiff, then .png; missing names DIR/train/ID.tif", async () => {
  const { dir, layout } = await layoutWithTiles();
  try {
    assert.equal(await tilePath(layout, "small"), `${dir}/train/small.tif`);
    assert.equal(await tilePath(layout, "0006ff2aa7cd"), `${dir}/train/0006ff2aa7cd.png`);
    assert.equal(await tilePath(layout, "0006ff2aa7cd", "test"), `${dir}/test/0006ff2aa7cd.tiff`);
    await assert.rejects(
      () => tilePath(layout, "nothere"),
      (e: unknown) =>
        e instanceof InputError &&
        e.message ===
          `${dir}/train/nothere.tif: no image for tile nothere (also tried .tiff, .png)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTiles: decodes in order; a non-512×512 tile is yielded as it is", async () => {
  const { dir, layout } = await layoutWithTiles();
  try {
    const got = [];
    for await (const t of readTiles(layout, ["small", "0006ff2aa7cd"])) got.push(t);
    assert.deepEqual(got.map((t) => [t.id, t.image.width, t.image.height]), [["small", 96, 80], [
      "0006ff2aa7cd",
      512,
      512,
    ]]);
    assert.deepEqual(got[0].image.rgb, crop);
    assert.equal(got[1].path, `${dir}/train/0006ff2aa7cd.png`);
    const test = [];
    for await (const t of readTiles(layout, ["0006ff2aa7cd"], { folder: "test" })) test.push(t);
    // The committed real TIFF and PNG are the same tile.
    assert.deepEqual(test[0].image.rgb, got[1].image.rgb);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTiles: a tile id with no image names the path, and the polygons line when given", async () => {
  const { dir, layout } = await layoutWithTiles();
  try {
    await assert.rejects(async () => {
      for await (const _ of readTiles(layout, ["small", "ghost"])) { /* consume */ }
    }, (e: unknown) =>
      e instanceof InputError &&
      e.message === `${dir}/train/ghost.tif: no image for tile ghost (also tried .tiff, .png)`);
    await assert.rejects(async () => {
      for await (const _ of readTiles(layout, [{ id: "ghost", line: 17 }])) { /* consume */ }
    }, (e: unknown) =>
      e instanceof InputError &&
      e.message ===
        `${dir}/polygons.jsonl:17: tile ghost has no image: ${dir}/train/ghost.tif not found (also tried .tiff, .png)`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTiles: a truncated TIFF is an InputError naming the file", async () => {
  const { dir, layout } = await layoutWithTiles();
  try {
    await assert.rejects(async () => {
      for await (const _ of readTiles(layout, ["broken"])) { /* consume */ }
    }, (e: unknown) =>
      e instanceof InputError &&
      /^.*\/train\/broken\.tif: truncated TIFF: strip 3 ends at byte \d+, file has 14724$/.test(
        e.message,
      ));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTiles: with onInvalid, missing and broken tiles are reported and skipped", async () => {
  const { dir, layout } = await layoutWithTiles();
  try {
    const errors: string[] = [];
    const ids = [];
    for await (
      const t of readTiles(layout, ["ghost", "small", "broken", "0006ff2aa7cd"], {
        onInvalid: (e) => errors.push(e.message.slice(dir.length)),
      })
    ) ids.push(t.id);
    assert.deepEqual(ids, ["small", "0006ff2aa7cd"]);
    assert.equal(errors.length, 2);
    assert.match(errors[0], /^\/train\/ghost\.tif: no image/);
    assert.match(errors[1], /^\/train\/broken\.tif: truncated TIFF/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTiles: reads lazily, one tile per step (nothing is read ahead)", async () => {
  const { dir, layout } = await layoutWithTiles();
  try {
    const it = readTiles(layout, ["small", "0006ff2aa7cd"]);
    const first = await it.next();
    assert.equal(first.value?.id, "small");
    // Removing the second tile now must surface as an error on the next step: it was not read yet.
    await Deno.remove(`${dir}/train/0006ff2aa7cd.png`);
    await assert.rejects(() => it.next(), /no image for tile 0006ff2aa7cd/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
