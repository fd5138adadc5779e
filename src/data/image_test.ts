import assert from "node:assert/strict";
import { InputError } from "../errors.ts";
import { decodeImage, readImage } from "./image.ts";
import { encodePng } from "./png.ts";

const FIX = new URL("../../fixtures/", import.meta.url);
const crop = Deno.readFileSync(new URL("tiff/crop.rgb", FIX));

Deno.test("decodeImage: sniffs PNG and TIFF from the bytes, not the name", () => {
  const tif = Deno.readFileSync(new URL("tiff/crop_lzw.tif", FIX));
  const png = Deno.readFileSync(new URL("png/pil_rgb.png", FIX));
  assert.deepEqual(decodeImage(tif, "misnamed.png").rgb, crop);
  assert.deepEqual(decodeImage(png, "misnamed.tif").rgb, crop);
});

Deno.test("decodeImage: unknown and empty files are InputErrors naming the file", () => {
  assert.throws(
    () => decodeImage(new TextEncoder().encode("GIF89a......"), "train/a.tif"),
    /^InputError: train\/a\.tif: not a PNG or TIFF image \(unknown magic bytes\)$/,
  );
  assert.throws(
    () => decodeImage(new Uint8Array(0), "train/b.tif"),
    /^InputError: train\/b\.tif: empty file, expected a PNG or TIFF image$/,
  );
});

Deno.test("readImage: reads a file; a missing file is an InputError naming the path", async () => {
  const img = await readImage(new URL("tiff/crop_tiled_deflate.tif", FIX).pathname);
  assert.equal(img.width, 96);
  assert.equal(img.height, 80);
  assert.deepEqual(img.rgb, crop);
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => readImage(`${dir}/nope.tif`),
      (e: unknown) => e instanceof InputError && e.message === `${dir}/nope.tif: no such file`,
    );
    await Deno.writeFile(`${dir}/t.png`, encodePng(crop, 96, 80, 3));
    assert.deepEqual((await readImage(`${dir}/t.png`)).rgb, crop);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
