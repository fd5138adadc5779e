/**
 * `deno task predict --geojson / --polygons` on the demo's data (the synthetic tiles of
 * fixtures/kaggle-mini, 512² px), checked by independent readers: this project's `prepare`
 * (its rasteriser and its whole `polygons.jsonl` path) and Python's json + shapely.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeImage } from "../src/data/image.ts";
import { openPrepared } from "../src/data/prepared_io.ts";
import { rasterizePolygons, type Ring } from "../src/data/rasterize.ts";
import { prerequisite } from "../src/prerequisite.ts";
import { writePointwiseRun } from "../src/predict/testing.ts";
import { main } from "./predict.ts";
import { main as prepareMain } from "./prepare.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

const MINI = "fixtures/kaggle-mini";
const root = await Deno.makeTempDir({ prefix: "vessel-seg-vectors-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const silent = { keepBackend: true, log: () => {}, print: () => {} };

// many instances, holes and diagonal contacts: what the tracing must get right
const run = await writePointwiseRun(root);

async function predict(out: string, extra: string[]): Promise<void> {
  const args = ["--model", run, "--input", `${MINI}/train`, "--out", out, "--quiet", ...extra];
  assert.equal(await main(args, silent), 0);
}

const simplified = join(root, "simplified");
await predict(simplified, ["--geojson", "--polygons", join(simplified, "polygons.jsonl")]);
const exact = join(root, "exact");
await predict(exact, ["--geojson", "--polygons", join(exact, "polygons.jsonl"), "--simplify", "0"]);

const ids = [...Deno.readDirSync(`${MINI}/train`)].map((e) => e.name.replace(/\.tif$/, "")).sort();

async function maskOf(out: string, id: string): Promise<Uint8Array> {
  const img = decodeImage(await Deno.readFile(join(out, "masks", `${id}.png`)), id);
  return Uint8Array.from({ length: img.width * img.height }, (_, i) => img.rgb[3 * i] ? 1 : 0);
}

interface Fc {
  type: string;
  features: {
    geometry: { type: string; coordinates: number[][][] };
    properties: Record<string, unknown>;
  }[];
}

/** The GeoJSON's polygons in prepare's pixel-centre convention (½ px up and left), rasterised. */
function rasterGeoJson(fc: Fc): Uint8Array {
  const polys = fc.features.map((f) =>
    f.geometry.coordinates.map((ring) =>
      ring.slice(0, -1).map(([x, y]) => [x - 0.5, y - 0.5] as [number, number]) as Ring
    )
  );
  return rasterizePolygons(new Uint8Array(512 * 512), 512, 512, polys);
}

function overlap(a: Uint8Array, b: Uint8Array): { inter: number; union: number } {
  let inter = 0, union = 0;
  for (let i = 0; i < a.length; i++) {
    inter += a[i] & b[i];
    union += a[i] | b[i];
  }
  return { inter, union };
}

Deno.test("predict --geojson: rasterised with prepare's rasteriser, the polygons give back the masks (IoU ≥ 0.95; exact at --simplify 0)", async () => {
  let inter = 0, union = 0, features = 0, holes = 0;
  for (const id of ids) {
    const mask = await maskOf(simplified, id);
    const fc = JSON.parse(await Deno.readTextFile(join(simplified, "geojson", `${id}.geojson`)));
    assert.equal(fc.type, "FeatureCollection");
    features += fc.features.length;
    holes += fc.features.reduce(
      (n: number, f: Fc["features"][0]) => n + f.geometry.coordinates.length - 1,
      0,
    );
    const o = overlap(mask, rasterGeoJson(fc));
    inter += o.inter, union += o.union;
    const tileIou = o.union === 0 ? 1 : o.inter / o.union;
    assert.ok(tileIou >= 0.95, `${id}: IoU ${tileIou.toFixed(4)}`);
    // without simplification, pixel for pixel
    const fc0 = JSON.parse(await Deno.readTextFile(join(exact, "geojson", `${id}.geojson`)));
    assert.deepEqual(rasterGeoJson(fc0), await maskOf(exact, id), `${id} at --simplify 0`);
  }
  assert.ok(features > 50 && holes > 0, `${features} features, ${holes} holes: a real test`);
  console.log(
    `geojson: ${features} vessels (${holes} holes) on ${ids.length} tiles, IoU ${
      (inter / union).toFixed(4)
    } at --simplify 0.5, 1 at --simplify 0`,
  );
});

const python = "/usr/bin/python3";
let haveShapely = false;
try {
  const { code } = await new Deno.Command(python, {
    args: ["-c", "import numpy, shapely.vectorized"],
    stdout: "null",
    stderr: "null",
  }).output();
  haveShapely = code === 0;
} catch { /* no python3 */ }

Deno.test({
  name:
    "predict --geojson: json + shapely find every polygon valid, RFC 7946-oriented, and the masks (IoU ≥ 0.95)",
  ignore: !prerequisite(
    "Debian's python3-shapely",
    haveShapely,
    "apt-get install python3-shapely (.ci/run does)",
  ),
  fn: async () => {
    let inter = 0, union = 0;
    for (const [out, label] of [[simplified, "0.5"], [exact, "0"]]) {
      for (const id of ids) {
        const raw = join(root, `${id}.u8`);
        await Deno.writeFile(raw, await maskOf(out, id));
        const { code, stdout, stderr } = await new Deno.Command(python, {
          args: [
            "scripts/geojson_check.py",
            join(out, "geojson", `${id}.geojson`),
            raw,
            "512",
            "512",
          ],
        }).output();
        assert.equal(code, 0, new TextDecoder().decode(stderr));
        const r = JSON.parse(new TextDecoder().decode(stdout));
        assert.deepEqual(r.problems, [], `${id} at --simplify ${label}`);
        const iou = r.union === 0 ? 1 : r.inter / r.union;
        if (label === "0") assert.equal(r.inter, r.union, `${id}: shapely's raster = mask`);
        else {
          assert.ok(iou >= 0.95, `${id}: IoU ${iou}`);
          inter += r.inter, union += r.union;
        }
      }
    }
    console.log(
      `shapely: every polygon valid; IoU ${(inter / union).toFixed(4)} at --simplify 0.5`,
    );
  },
});

Deno.test("predict --polygons: prepare reads the file back as labels and gives the predicted masks", async () => {
  for (const [out, label] of [[exact, "0"], [simplified, "0.5"]]) {
    // the demo's data with the predictions in place of its annotations
    const data = join(root, `pseudo-${label}`);
    await Deno.mkdir(join(data, "train"), { recursive: true });
    for (const f of ["tile_meta.csv", "wsi_meta.csv"]) {
      await Deno.copyFile(join(MINI, f), join(data, f));
    }
    for (const id of ids) {
      await Deno.copyFile(join(MINI, "train", `${id}.tif`), join(data, "train", `${id}.tif`));
    }
    await Deno.copyFile(join(out, "polygons.jsonl"), join(data, "polygons.jsonl"));
    const lines = (await Deno.readTextFile(join(data, "polygons.jsonl"))).trim().split("\n");
    assert.equal(lines.length, ids.length);
    const prepared = join(root, `prepared-${label}`);
    assert.equal(
      await prepareMain(["--data", data, "--out", prepared, "--scale", "1", "--quiet"]),
      0,
    );
    const ds = await openPrepared(prepared);
    try {
      const tiles = ds.tiles("all");
      assert.equal(tiles.length, ids.length);
      let inter = 0, union = 0;
      for (const tile of tiles) {
        const { maskU8 } = await ds.read(tile);
        const want = await maskOf(out, tile.id);
        if (label === "0") assert.deepEqual(maskU8, want, `${tile.id}: prepared mask = predicted`);
        const o = overlap(maskU8, want);
        inter += o.inter, union += o.union;
      }
      assert.ok(inter / union >= 0.95, `IoU ${inter / union}`);
      console.log(
        `polygons.jsonl → prepare at --simplify ${label}: IoU ${(inter / union).toFixed(4)}`,
      );
    } finally {
      ds.close();
    }
  }
});
