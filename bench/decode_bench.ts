/**
 * Tile decoding speed: this project's synchronous TIFF/PNG codecs against the npm libraries
 * (geotiff 3.0.5 for TIFF, imagescript 1.3.1 for PNG), one group per encoding, the library marked
 * as the baseline. Full-size 512×512 files come from `../shared/data/tiff/` when that directory
 * exists (the real tile in five encodings) and from `fixtures/real/` otherwise; the planar, tiled
 * and predictor variants are the 96×80 crops in `fixtures/tiff/`.
 *
 *     deno bench -A bench/decode_bench.ts
 *
 * Before timing, every input is decoded by both sides and compared byte for byte, so the table
 * never times a decoder that gives a wrong answer.
 *
 * @module
 */
import { fromArrayBuffer } from "geotiff";
import { Image } from "imagescript";
import { decodePng, encodePng } from "../src/data/png.ts";
import { decodeTiff } from "../src/data/tiff.ts";

const SHARED = new URL("../../shared/data/tiff/", import.meta.url);
const FIX = new URL("../fixtures/", import.meta.url);

async function geotiffDecode(bytes: Uint8Array): Promise<Uint8Array> {
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const image = await (await fromArrayBuffer(buf as ArrayBuffer)).getImage();
  const r = await image.readRasters({ interleave: true });
  return r as unknown as Uint8Array;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const inputs: { label: string; bytes: Uint8Array }[] = [];
let haveShared = true;
try {
  Deno.statSync(SHARED);
} catch {
  haveShared = false;
}
if (haveShared) {
  for (const enc of ["none", "lzw", "deflate", "packbits"]) {
    inputs.push({
      label: `${enc} 512²`,
      bytes: Deno.readFileSync(new URL(`0006ff2aa7cd_${enc}.tif`, SHARED)),
    });
  }
} else {
  inputs.push({
    label: "deflate 512²",
    bytes: Deno.readFileSync(new URL("real/0006ff2aa7cd_deflate.tif", FIX)),
  });
}
for (
  const v of ["lzw_pred2", "deflate_pred2", "planar_deflate", "tiled_deflate", "tiled_planar_pred2"]
) {
  inputs.push({
    label: `${v} 96×80`,
    bytes: Deno.readFileSync(new URL(`tiff/crop_${v}.tif`, FIX)),
  });
}

for (const { label, bytes } of inputs) {
  const mine = decodeTiff(bytes, label).rgb;
  const theirs = await geotiffDecode(bytes);
  if (!same(mine, theirs)) throw new Error(`${label}: decodeTiff and geotiff disagree`);
  Deno.bench({
    name: `geotiff ${label}`,
    group: `tiff ${label}`,
    baseline: true,
    async fn() {
      await geotiffDecode(bytes);
    },
  });
  Deno.bench({
    name: `decodeTiff ${label}`,
    group: `tiff ${label}`,
    fn() {
      decodeTiff(bytes, label);
    },
  });
}

const png = Deno.readFileSync(new URL("real/0006ff2aa7cd.png", FIX));
const decoded = decodePng(png, "0006ff2aa7cd.png");
{
  const im = await Image.decode(png);
  const rgba = im.bitmap;
  for (let p = 0; p < 512 * 512; p++) {
    for (let c = 0; c < 3; c++) {
      if (rgba[p * 4 + c] !== decoded.rgb[p * 3 + c]) {
        throw new Error("decodePng and imagescript disagree");
      }
    }
  }
}
Deno.bench({
  name: "imagescript Image.decode",
  group: "png decode 512²",
  baseline: true,
  async fn() {
    await Image.decode(png);
  },
});
Deno.bench({
  name: "decodePng",
  group: "png decode 512²",
  fn() {
    decodePng(png, "0006ff2aa7cd.png");
  },
});

const rgba = new Uint8Array(512 * 512 * 4);
for (let p = 0; p < 512 * 512; p++) {
  rgba.set(decoded.rgb.subarray(p * 3, p * 3 + 3), p * 4);
  rgba[p * 4 + 3] = 255;
}
const mask = new Uint8Array(512 * 512);
for (let p = 0; p < mask.length; p++) mask[p] = decoded.rgb[p * 3 + 1] < 120 ? 255 : 0;
Deno.bench({
  name: "imagescript Image.encode real tile (RGBA)",
  group: "png encode 512²",
  baseline: true,
  async fn() {
    const im = new Image(512, 512);
    im.bitmap.set(rgba);
    await im.encode();
  },
});
Deno.bench({
  name: "encodePng real tile (RGB)",
  group: "png encode 512²",
  fn() {
    encodePng(decoded.rgb, 512, 512, 3);
  },
});
Deno.bench({
  name: "encodePng mask (grey 0/255)",
  group: "png encode 512²",
  fn() {
    encodePng(mask, 512, 512, 1);
  },
});
