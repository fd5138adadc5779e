/**
 * `deno task mosaic` on fixtures/kaggle-mini (the demo's synthetic tiles): slide 2 has five tiles
 * spanning 4096 × 1024 slide pixels, so at `--width 256` every picture pixel is a 16 × 16 block.
 * Expected pixels are computed here from the tiles (block means), from `prepare`'s rasteriser
 * (the labels) and from `deno task predict`'s masks (the predictions).
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeImage, readImage } from "../src/data/image.ts";
import { readPolygons, readTileMeta } from "../src/data/kaggle.ts";
import { rasterizePolygons } from "../src/data/rasterize.ts";
import { UsageError } from "../src/errors.ts";
import { writePointwiseRun } from "../src/predict/testing.ts";
import { MOSAIC_COLOURS } from "../src/mosaic/mosaic.ts";
import { GLYPH_H } from "../src/report/bitmap_font.ts";
import { main } from "./mosaic.ts";
import { main as predictMain } from "./predict.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

const root = await Deno.makeTempDir({ prefix: "vessel-seg-mosaic-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const MINI = "fixtures/kaggle-mini", B = 16; // slide px per picture px at --width 256
const silent = { keepBackend: true, log: () => {}, print: () => {} };

const meta = [...(await readTileMeta(`${MINI}/tile_meta.csv`)).values()].filter((t) =>
  t.sourceWsi === 2
);
const X0 = Math.min(...meta.map((t) => t.i)), Y0 = Math.min(...meta.map((t) => t.j));

async function picture(file: string) {
  const img = decodeImage(await Deno.readFile(file), file);
  return img;
}

/** The picture pixels of tile `t`: [picture x, picture y, block mean RGB, any label, any pred]. */
async function blocks(
  id: string,
  masks: { label?: Uint8Array; pred?: Uint8Array } = {},
): Promise<{ X: number; Y: number; mean: number[]; label: boolean; pred: boolean }[]> {
  const t = meta.find((m) => m.id === id)!;
  const img = await readImage(`${MINI}/train/${id}.tif`);
  const out = [];
  for (let by = 0; by < 512 / B; by++) {
    for (let bx = 0; bx < 512 / B; bx++) {
      const sum = [0, 0, 0];
      let label = false, pred = false;
      for (let y = by * B; y < (by + 1) * B; y++) {
        for (let x = bx * B; x < (bx + 1) * B; x++) {
          const k = y * 512 + x;
          for (let c = 0; c < 3; c++) sum[c] += img.rgb[3 * k + c];
          if (masks.label?.[k]) label = true;
          if (masks.pred?.[k]) pred = true;
        }
      }
      out.push({
        X: (t.i - X0) / B + bx,
        Y: (t.j - Y0) / B + by,
        mean: sum.map((v) => v / (B * B)),
        label,
        pred,
      });
    }
  }
  return out;
}

const pixel = (
  img: { rgb: Uint8Array; width: number },
  X: number,
  Y: number,
) => [...img.rgb.subarray((Y * img.width + X) * 3, (Y * img.width + X) * 3 + 3)];

const blend = (mean: number[], over: readonly number[]) =>
  mean.map((v, c) => Math.round(0.35 * v + 0.65 * over[c]));

Deno.test("mosaic: tiles at their tile_meta positions as 16×16 block means, a legend below", async () => {
  const out = join(root, "plain.png");
  let r: { width: number; height: number; tiles: number; missing: number } | undefined;
  assert.equal(
    await main(["--data", MINI, "--wsi", "2", "--width", "256", "--out", out, "--quiet"], {
      ...silent,
      onResult: (x) => (r = x),
    }),
    0,
  );
  assert.deepEqual([r?.tiles, r?.missing], [5, 0]);
  const img = await picture(out);
  assert.equal(img.width, 256);
  assert.ok(img.height > 64 + 2 * GLYPH_H, `${img.height}: slide 64 px and a legend`);
  for (const t of meta) {
    for (const b of await blocks(t.id)) {
      const got = pixel(img, b.X, b.Y), want = b.mean.map(Math.round);
      assert.ok(
        got.every((v, c) => Math.abs(v - want[c]) <= 1),
        `${t.id} (${b.X},${b.Y}) ${got} vs ${want}`,
      );
    }
  }
  // slide 2 leaves slide x 2560..3584, y 2048..2560 uncovered: white
  assert.deepEqual(pixel(img, 10, 10), [255, 255, 255]);
  // the legend has ink
  let ink = 0;
  for (let Y = 64; Y < img.height; Y++) {
    for (let X = 0; X < 256; X++) ink += pixel(img, X, Y)[0] < 128 ? 1 : 0;
  }
  assert.ok(ink > 50, `${ink} dark legend pixels`);
});

Deno.test("mosaic --labels --model: overlay colours exactly where the labels and predict's masks have a vessel", async () => {
  const run = await writePointwiseRun(root);
  const predicted = join(root, "predicted");
  const ids = meta.map((t) => t.id);
  const inputs = ids.flatMap((id) => ["--input", `${MINI}/train/${id}.tif`]);
  assert.equal(
    await predictMain(["--model", run, ...inputs, "--out", predicted, "--quiet"], silent),
    0,
  );
  const rings = new Map<string, [number, number][][][]>();
  for await (const t of readPolygons(`${MINI}/polygons.jsonl`)) {
    rings.set(t.id, t.annotations.filter((a) => a.type === "blood_vessel").map((a) => a.rings));
  }
  const out = join(root, "both.png");
  const args = ["--data", MINI, "--wsi", "2", "--width", "256", "--labels", "--model", run];
  assert.equal(await main([...args, "--out", out, "--quiet"], silent), 0);
  const img = await picture(out);
  const seen = { label: 0, pred: 0, both: 0 };
  for (const id of ids) {
    const label = rasterizePolygons(new Uint8Array(512 * 512), 512, 512, rings.get(id) ?? []);
    const m = decodeImage(await Deno.readFile(join(predicted, "masks", `${id}.png`)), id);
    const pred = Uint8Array.from({ length: 512 * 512 }, (_, i) => m.rgb[3 * i] ? 1 : 0);
    for (const b of await blocks(id, { label, pred })) {
      const over = b.label && b.pred
        ? (seen.both++, MOSAIC_COLOURS.both)
        : b.label
        ? (seen.label++, MOSAIC_COLOURS.label)
        : b.pred
        ? (seen.pred++, MOSAIC_COLOURS.prediction)
        : undefined;
      const want = over === undefined ? b.mean.map(Math.round) : blend(b.mean, over);
      const got = pixel(img, b.X, b.Y);
      assert.ok(
        got.every((v, c) => Math.abs(v - want[c]) <= 1),
        `${id} (${b.X},${b.Y}) ${got} vs ${want}`,
      );
    }
  }
  assert.ok(seen.label > 0 && seen.pred > 0 && seen.both > 0, JSON.stringify(seen));
});

Deno.test("mosaic: a tile whose image is missing is hatched and counted", async () => {
  const data = join(root, "gappy");
  await Deno.mkdir(join(data, "train"), { recursive: true });
  for (const f of ["tile_meta.csv", "wsi_meta.csv", "polygons.jsonl"]) {
    await Deno.copyFile(join(MINI, f), join(data, f));
  }
  const gone = meta[2];
  for (const t of meta) {
    if (t !== gone) {
      await Deno.copyFile(`${MINI}/train/${t.id}.tif`, join(data, "train", `${t.id}.tif`));
    }
  }
  const out = join(root, "gappy.png");
  let missing = -1;
  assert.equal(
    await main([
      "--data",
      data,
      "--wsi",
      "2",
      "--width",
      "256",
      "--labels",
      "--out",
      out,
      "--quiet",
    ], {
      ...silent,
      onResult: (r) => (missing = r.missing),
    }),
    0,
  );
  assert.equal(missing, 1);
  const img = await picture(out);
  const X = (gone.i - X0) / B, Y = (gone.j - Y0) / B;
  const colours = new Set<string>();
  for (let y = Y; y < Y + 32; y++) {
    for (let x = X; x < X + 32; x++) colours.add(pixel(img, x, y).join(","));
  }
  assert.deepEqual([...colours].sort(), [MOSAIC_COLOURS.gap.join(","), "235,235,235"]);
});

Deno.test("mosaic: bad flags are one error each and write nothing", async () => {
  const out = join(root, "bad.png");
  await assert.rejects(
    main(["--data", MINI, "--wsi", "99", "--out", out], silent),
    (e: unknown) =>
      e instanceof UsageError &&
      /--wsi 99: no tile of that slide in .*\(slides there: 1, 2, 5\)/.test(e.message),
  );
  await assert.rejects(
    main(["--data", MINI, "--wsi", "2", "--out", join(root, "x.jpg")], silent),
    /name the file \*\.png/,
  );
  await assert.rejects(
    main(["--data", MINI, "--wsi", "2", "--out", join(MINI, "m.png")], silent),
    /would write into the input/,
  );
  const folder = join(root, "folder.png");
  await Deno.mkdir(folder);
  await assert.rejects(
    main(["--data", MINI, "--wsi", "2", "--out", folder], silent),
    (e: unknown) =>
      e instanceof UsageError && e.message === `--out ${folder} is a folder, expected a file path`,
  );
  assert.deepEqual([...Deno.readDirSync(folder)], []);
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});
