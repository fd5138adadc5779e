import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../tasks/prepare.ts";
import { runMain } from "../cli.ts";
import { Rng } from "../rng.ts";
import { decodeImage } from "./image.ts";
import { encodePng } from "./png.ts";
import type { Manifest } from "./prepared.ts";
import { openPrepared } from "./prepared_io.ts";
import { prepare } from "./prepare.ts";
import { encodeTiff } from "./tiff_write.ts";

/** A tile of the test layout. */
interface TileSpec {
  id: string;
  wsi: number;
  /** Annotation objects for polygons.jsonl; undefined → no line (excluded). */
  annotations?: { type: string; coordinates: number[][][] }[];
  size?: number;
  png?: boolean;
}

const square = (
  x: number,
  y: number,
  s: number,
) => [[x, y], [x + s, y], [x + s, y + s], [x, y + s]];

/** The test layout: 10 tiles on 3 slides, one unannotated, one blank, one 256², one PNG. */
export const TEST_TILES: TileSpec[] = [
  {
    id: "000000000001",
    wsi: 1,
    annotations: [{ type: "blood_vessel", coordinates: [square(10, 10, 99)] }],
  },
  {
    id: "000000000002",
    wsi: 1,
    annotations: [
      { type: "blood_vessel", coordinates: [square(100, 100, 200), square(150, 150, 50)] },
      { type: "glomerulus", coordinates: [square(300, 300, 150)] },
    ],
  },
  {
    id: "000000000003",
    wsi: 1,
    annotations: [{ type: "glomerulus", coordinates: [square(0, 0, 50)] }],
  },
  { id: "000000000004", wsi: 2 }, // no annotation line: excluded like the study
  {
    id: "000000000005",
    wsi: 2,
    annotations: [{ type: "blood_vessel", coordinates: [[[-50, -50], [600, 10], [20, 600]]] }],
    png: true,
  },
  {
    id: "000000000006",
    wsi: 2,
    annotations: [{ type: "unsure", coordinates: [square(5, 5, 20)] }],
  },
  {
    id: "000000000007",
    wsi: 3,
    annotations: [{ type: "blood_vessel", coordinates: [square(0, 0, 3)] }],
  },
  {
    id: "000000000008",
    wsi: 3,
    annotations: [{ type: "blood_vessel", coordinates: [square(1, 1, 7)] }],
  },
  {
    id: "000000000009",
    wsi: 3,
    annotations: [{ type: "blood_vessel", coordinates: [square(20, 20, 20)] }],
    size: 256,
  },
  {
    id: "00000000000a",
    wsi: 3,
    annotations: [{ type: "blood_vessel", coordinates: [square(200, 0, 40)] }],
  },
];

/** Writes the Kaggle layout for `tiles` into `dir`; images are seeded noise with a per-tile tint. */
export async function writeLayout(dir: string, tiles: TileSpec[] = TEST_TILES): Promise<void> {
  await Deno.mkdir(join(dir, "train"), { recursive: true });
  const rng = new Rng(11);
  const lines: string[] = [];
  const meta = ["id,source_wsi,dataset,i,j"];
  for (const [k, t] of tiles.entries()) {
    const size = t.size ?? 512;
    const rgb = new Uint8Array(size * size * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (rng.int(128) + 20 * k + (i % 3) * 30) & 255;
    const bytes = t.png ? encodePng(rgb, size, size, 3) : encodeTiff(rgb, size, size);
    await Deno.writeFile(join(dir, "train", `${t.id}.${t.png ? "png" : "tif"}`), bytes);
    meta.push(`${t.id},${t.wsi},${1 + (k % 2)},${k * 512},0`);
    if (t.annotations) lines.push(JSON.stringify({ id: t.id, annotations: t.annotations }));
  }
  await Deno.writeTextFile(join(dir, "polygons.jsonl"), lines.join("\n") + "\n");
  await Deno.writeTextFile(join(dir, "tile_meta.csv"), meta.join("\n") + "\n");
  await Deno.writeTextFile(
    join(dir, "wsi_meta.csv"),
    "source_wsi,age,sex,race,height,weight,bmi\n1,58,F,W,160.0,59.0,23.0\n2,56,F,W,175.2,139.6,45.5\n" +
      "3,73,M,W,177.8,99.8,31.5\n",
  );
}

/** Every file under `dir` except the work area, path → bytes. */
async function snapshot(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const walk = async (d: string, prefix: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.name === ".work") continue;
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p, `${prefix}${e.name}/`);
      else out.set(`${prefix}${e.name}`, await Deno.readFile(p));
    }
  };
  await walk(dir, "");
  return out;
}

async function quietMain(args: string[]): Promise<{ code: number; errors: string[] }> {
  const errors: string[] = [];
  const orig = console.error, origLog = console.log;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  console.log = () => {};
  try {
    return { code: await runMain(main, args), errors };
  } finally {
    console.error = orig;
    console.log = origLog;
  }
}

const readManifest = async (dir: string): Promise<Manifest> =>
  JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));

Deno.test("prepare: full run on a Kaggle layout — manifest, shards, masks, selection", async () => {
  const root = await Deno.makeTempDir();
  const data = join(root, "data"), out = join(root, "out");
  await writeLayout(data);
  const args = ["--data", data, "--out", out, "--seed", "3", "--quiet"];
  const { code, errors } = await quietMain([...args, "--classes", "blood_vessel,glomerulus"]);
  assert.equal(code, 0, errors.join("\n"));
  const m = await readManifest(out);
  const ids = m.tiles.map((t) => t.id);
  // Excluded: no annotation line (…04); left out of the shards: 256² tile (…09).
  assert.ok(!ids.includes("000000000004") && !ids.includes("000000000009"));
  assert.equal(m.tiles.length, 8);
  assert.deepEqual(m.nonStandardTiles, [{ id: "000000000009", width: 256, height: 256 }]);
  assert.equal(m.summary.excludedNoAnnotation, 1);
  assert.equal(m.summary.blank, 2); // …03 (glomerulus only) and …06 (unsure only)
  assert.deepEqual(m.tiles.map((t) => t.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(m.tileSizePx, 512);
  assert.equal(m.tiles.filter((t) => t.split === "val").length, 1); // round(8 · 0.1) = 1
  assert.deepEqual(m.shards.masks, { blood_vessel: "masks.u8", glomerulus: "masks_glomerulus.u8" });
  assert.equal(m.command.join(" ").includes("--seed 3"), true);
  assert.equal(m.tool.version, JSON.parse(await Deno.readTextFile("deno.json")).version);
  assert.ok(m.inputHashes["polygons.jsonl"]?.length === 64);
  assert.ok(m.inputHashes["train/000000000005.png"]?.length === 64);
  assert.equal((await Deno.stat(join(out, "images.u8"))).size, 8 * 512 * 512 * 3);
  assert.equal((await Deno.stat(join(out, "masks.u8"))).size, 8 * 512 * 512);
  // Hand-computed vessel counts: a 99-wide square with boundary has 100² px; the 200-square with a
  // 50-square hole has 201² − 49² px; 3- and 7-squares 4² and 8²; the 40-square at x 200 has 41².
  const px = Object.fromEntries(m.tiles.map((t) => [t.id, t.vesselPx]));
  assert.equal(px["000000000001"], 100 * 100);
  assert.equal(px["000000000002"], 201 * 201 - 49 * 49);
  assert.equal(px["000000000003"], 0);
  assert.equal(px["000000000007"], 16);
  assert.equal(px["000000000008"], 64);
  assert.equal(px["00000000000a"], 41 * 41);

  const ds = await openPrepared(out);
  try {
    for (const t of ds.tiles()) {
      const s = await ds.read(t);
      // Image shard = the decoded source tile; mask PNG = mask shard · 255; count = vesselPx.
      const ext = t.id === "000000000005" ? "png" : "tif";
      const src = decodeImage(await Deno.readFile(join(data, "train", `${t.id}.${ext}`)), t.id);
      assert.deepEqual(s.rgbHWC, src.rgb);
      const png = decodeImage(await Deno.readFile(join(out, "masks", `${t.id}.png`)), t.id);
      let count = 0;
      for (let i = 0; i < s.maskU8.length; i++) {
        count += s.maskU8[i];
        if (png.rgb[3 * i] !== s.maskU8[i] * 255) assert.fail(`mask PNG differs at ${i}`);
      }
      assert.equal(count, t.vesselPx);
    }
    const glom = await ds.readClassMask(
      ds.tiles().find((t) => t.id === "000000000002")!,
      "glomerulus",
    );
    assert.equal(glom.reduce((a, b) => a + b, 0), 151 * 151);
    // Training statistics: a direct two-pass computation over the training tiles only.
    const train = ds.tiles("train");
    for (let c = 0; c < 3; c++) {
      let sum = 0, n = 0;
      const all: Uint8Array[] = [];
      for (const t of train) all.push((await ds.read(t)).rgbHWC);
      for (const a of all) for (let i = c; i < a.length; i += 3) sum += a[i], n++;
      const mean = sum / n;
      let ss = 0;
      for (const a of all) for (let i = c; i < a.length; i += 3) ss += (a[i] - mean) ** 2;
      assert.ok(Math.abs(m.stats.mean[c] - mean / 255) < 1e-12);
      assert.ok(Math.abs(m.stats.std[c] - Math.sqrt(ss / n) / 255) < 1e-12);
    }
    assert.equal(m.stats.tiles, train.length);
    assert.equal(m.stats.computedOn, "train");
  } finally {
    ds.close();
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("prepare: val tiles do not influence the statistics; train tiles do", async () => {
  const root = await Deno.makeTempDir();
  const data = join(root, "data");
  await writeLayout(data);
  const base = await prepare({ data, out: join(root, "a"), seed: 5, quiet: true });
  const val = base.manifest.tiles.find((t) => t.split === "val")!;
  const train = base.manifest.tiles.find((t) => t.split === "train" && t.id !== "000000000005")!;
  const white = encodeTiff(new Uint8Array(512 * 512 * 3).fill(255), 512, 512);
  await Deno.writeFile(join(data, "train", `${val.id}.tif`), white);
  const afterVal = await prepare({ data, out: join(root, "b"), seed: 5, quiet: true });
  assert.deepEqual(afterVal.manifest.stats, base.manifest.stats);
  await Deno.writeFile(join(data, "train", `${train.id}.tif`), white);
  const afterTrain = await prepare({ data, out: join(root, "c"), seed: 5, quiet: true });
  assert.notDeepEqual(afterTrain.manifest.stats.mean, base.manifest.stats.mean);
  await Deno.remove(root, { recursive: true });
});

Deno.test("prepare: --scale 0.25 and --split wsi", async () => {
  const root = await Deno.makeTempDir();
  const data = join(root, "data"), out = join(root, "out");
  await writeLayout(data);
  const { manifest: m } = await prepare({
    data,
    out,
    scale: 0.25,
    split: "wsi",
    valFraction: 0.3,
    seed: 1,
    quiet: true,
  });
  assert.equal(m.tileSizePx, 128);
  assert.equal((await Deno.stat(join(out, "images.u8"))).size, m.tiles.length * 128 * 128 * 3);
  const bySlide = new Map<number, Set<string>>();
  for (const t of m.tiles) {
    bySlide.set(t.sourceWsi, (bySlide.get(t.sourceWsi) ?? new Set()).add(t.split));
  }
  for (const s of bySlide.values()) assert.equal(s.size, 1);
  // The square covers px 10..109: blocks 3..26 fully, blocks 2 and 27 half (2 of 4 columns/rows).
  // Half-covered edge blocks reach the ≥ 0.5 threshold, the four quarter-covered corners do not:
  // 26² − 4 blocks.
  const t1 = m.tiles.find((t) => t.id === "000000000001")!;
  assert.equal(t1.vesselPx, 26 * 26 - 4);
  const png = decodeImage(await Deno.readFile(join(out, "masks", "000000000001.png")), "m");
  assert.equal(png.width, 128);
  await Deno.remove(root, { recursive: true });
});

Deno.test("prepare: interrupted, damaged and re-run outputs are byte-identical", async () => {
  const root = await Deno.makeTempDir();
  const data = join(root, "data"), out = join(root, "out");
  await writeLayout(data);
  const args = ["--data", data, "--out", out, "--seed", "2", "--scale", "0.5", "--quiet"];
  assert.equal((await quietMain(args)).code, 0);
  const reference = await snapshot(out);
  assert.ok(reference.has("manifest.json") && reference.has("images.u8"));

  // Damage: delete one mask PNG, truncate another, cut the image shard in the middle of tile 3.
  await Deno.remove(join(out, "masks", "000000000001.png"));
  await Deno.writeFile(join(out, "masks", "000000000002.png"), new Uint8Array(10));
  await Deno.truncate(join(out, "images.u8"), 3 * 256 * 256 * 3 + 1000);
  // Interrupt the next run after two tiles.
  await assert.rejects(
    prepare({
      data,
      out,
      seed: 2,
      scale: 0.5,
      quiet: true,
      onTileDone: (n) => {
        if (n === 2) throw new Error("interrupted");
      },
    }),
    /interrupted/,
  );
  assert.equal(await Deno.stat(join(out, "manifest.json")).catch(() => null), null);
  const rerun = await prepare({
    data,
    out,
    seed: 2,
    scale: 0.5,
    quiet: true,
    command: ["deno", "task", "prepare", ...args],
  });
  assert.ok(rerun.reused >= 2, `reused ${rerun.reused}`);
  const again = await snapshot(out);
  assert.deepEqual([...again.keys()].sort(), [...reference.keys()].sort());
  for (const [k, v] of reference) assert.deepEqual(again.get(k), v, `${k} differs`);
  // A clean re-run reuses every tile.
  const third = await prepare({
    data,
    out,
    seed: 2,
    scale: 0.5,
    quiet: true,
    command: rerun.manifest.command,
  });
  assert.equal(third.reused, 9);
  await Deno.remove(root, { recursive: true });
});

Deno.test("prepare: bad inputs stop with one line, exit 1 and no manifest or shards", async () => {
  const root = await Deno.makeTempDir();
  const data = join(root, "data");
  await writeLayout(data);
  // A truncated TIFF.
  const tif = join(data, "train", "000000000007.tif");
  const good = await Deno.readFile(tif);
  await Deno.writeFile(tif, good.subarray(0, 200));
  const out1 = join(root, "out1");
  const r1 = await quietMain(["--data", data, "--out", out1, "--quiet"]);
  assert.equal(r1.code, 1);
  assert.equal(r1.errors.length, 1);
  assert.match(r1.errors[0], /^error: .*000000000007\.tif/);
  assert.equal(await Deno.stat(join(out1, "manifest.json")).catch(() => null), null);
  assert.equal(await Deno.stat(join(out1, "images.u8")).catch(() => null), null);
  await Deno.writeFile(tif, good);

  // A bad polygons.jsonl line: nothing is written at all.
  const poly = join(data, "polygons.jsonl");
  const text = await Deno.readTextFile(poly);
  await Deno.writeTextFile(
    poly,
    text +
      '{"id":"000000000004","annotations":[{"type":"blood_vessel","coordinates":[[[1,2],[3,4]]]}]}\n',
  );
  const out2 = join(root, "out2");
  const r2 = await quietMain(["--data", data, "--out", out2, "--quiet"]);
  assert.equal(r2.code, 1);
  assert.equal(r2.errors.length, 1);
  assert.match(r2.errors[0], /^error: .*polygons\.jsonl:10: /);
  assert.equal(await Deno.stat(out2).catch(() => null), null);

  // A single slide with --split wsi is a usage error (exit 2, one line).
  const one = join(root, "one");
  await writeLayout(one, TEST_TILES.map((t) => ({ ...t, wsi: 7 })));
  const r3 = await quietMain(["--data", one, "--out", join(root, "out3"), "--split", "wsi"]);
  assert.equal(r3.code, 2);
  const r4 = await quietMain(["--data", data, "--out", join(root, "o4"), "--classes", "vein"]);
  assert.deepEqual([r4.code, r4.errors.length], [2, 1]);
  assert.match(
    r4.errors[0],
    /--classes must be one of blood_vessel, glomerulus, unsure, got "vein"/,
  );
  const r5 = await quietMain(["--data", data, "--out", join(root, "o5"), "--scale", "0.3"]);
  assert.deepEqual([r5.code, r5.errors.length], [2, 1]);
  assert.deepEqual(r3.errors, [
    "error: cannot split the tiles: --split wsi needs tiles from at least 2 slides (source_wsi), found 1 (7)",
  ]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("prepare: --skip-invalid skips, counts and lists bad tiles and lines", async () => {
  const root = await Deno.makeTempDir();
  const data = join(root, "data"), out = join(root, "out");
  await writeLayout(data);
  const tif = join(data, "train", "000000000007.tif");
  await Deno.writeFile(tif, (await Deno.readFile(tif)).subarray(0, 200));
  const poly = join(data, "polygons.jsonl");
  await Deno.writeTextFile(
    poly,
    (await Deno.readTextFile(poly)) +
      '{"id":"000000000004","annotations":[{"type":"blood_vessel","coordinates":[[[1,2],[3,4]]]}]}\n',
  );
  const r = await quietMain(["--data", data, "--out", out, "--skip-invalid", "--quiet"]);
  assert.equal(r.code, 0, r.errors.join("\n"));
  const m = await readManifest(out);
  assert.equal(m.skipped.length, 2);
  assert.ok(m.skipped.some((s) => s.file.endsWith("polygons.jsonl") && s.line === 10));
  assert.ok(m.skipped.some((s) => s.message.includes("000000000007.tif")));
  assert.equal(m.summary.skipped, 2);
  // The bad tile is gone; the tile whose only annotation was bad stays, with an empty mask.
  assert.equal(m.tiles.length, 8);
  assert.ok(!m.tiles.some((t) => t.id === "000000000007"));
  assert.equal(m.tiles.find((t) => t.id === "000000000004")?.vesselPx, 0);
  await Deno.remove(root, { recursive: true });
});

const MINI = new URL("../../fixtures/kaggle-mini/", import.meta.url);
const haveMini = await Deno.stat(new URL("polygons.jsonl", MINI)).then(() => true, () => false);

Deno.test({
  name: "prepare: the committed fixtures/kaggle-mini layout at scale 0.25",
  ignore: !haveMini,
  async fn() {
    const data = MINI.pathname, out = await Deno.makeTempDir();
    const r = await quietMain(["--data", data, "--out", out, "--scale", "0.25", "--quiet"]);
    assert.equal(r.code, 0, r.errors.join("\n"));
    const m = await readManifest(out);
    const lines = (await Deno.readTextFile(new URL("polygons.jsonl", MINI))).split("\n")
      .filter((l) => l.trim() !== "").length;
    assert.equal(m.summary.annotated, lines);
    assert.equal(m.tiles.length + (m.nonStandardTiles?.length ?? 0), lines);
    assert.equal(m.tileSizePx, 128);
    assert.equal((await Deno.stat(join(out, "images.u8"))).size, m.tiles.length * 128 * 128 * 3);
    assert.equal((await Deno.stat(join(out, "masks.u8"))).size, m.tiles.length * 128 * 128);
    for (const t of m.tiles) await Deno.stat(join(out, "masks", `${t.id}.png`));
    assert.ok(m.tiles.some((t) => t.split === "val") && m.tiles.some((t) => t.split === "train"));
    await Deno.remove(out, { recursive: true });
  },
});

Deno.test("prepare: --ignore stores 2 (PNG 128) inside glomerulus/unsure polygons, never over a vessel", async () => {
  const root = await Deno.makeTempDir({ prefix: "vessel-seg-ignore-" });
  try {
    await writeLayout(join(root, "data"));
    const out = join(root, "out");
    const { manifest } = await prepare({
      data: join(root, "data"),
      out,
      quiet: true,
      ignore: ["glomerulus", "unsure"],
    });
    assert.deepEqual(manifest.ignore, ["glomerulus", "unsure"]);
    const ds = await openPrepared(out);
    const count = (m: Uint8Array, v: number) => m.reduce((n, x) => n + (x === v ? 1 : 0), 0);
    // By hand (scale 1; a polygon covers the pixels on its boundary, a hole's boundary stays
    // covered, as the full-run test above counts): tile 2's vessel square 100..300 with a
    // 150..200 hole = 201² − 49² vessel pixels; its glomerulus square 300..450 covers 151² pixels,
    // one of them — (300, 300) — a vessel pixel, which stays vessel: 151² − 1 ignored. Tile 3:
    // glomerulus 0..50 = 51²; tile 6: unsure 5..25 = 21²; tile 1: vessel 10..109 = 100², none.
    const expected: Record<string, [number, number]> = {
      "000000000002": [201 * 201 - 49 * 49, 151 * 151 - 1],
      "000000000003": [0, 51 * 51],
      "000000000006": [0, 21 * 21],
      "000000000001": [100 * 100, 0],
    };
    for (const [id, [vessel, ignored]] of Object.entries(expected)) {
      const tile = ds.tiles().find((t) => t.id === id)!;
      const { maskU8 } = await ds.read(tile);
      assert.equal(count(maskU8, 1), vessel, `${id} vessel`);
      assert.equal(count(maskU8, 2), ignored, `${id} ignored`);
      assert.equal(tile.vesselPx, vessel, `${id} vesselPx counts vessel pixels only`);
      const png = decodeImage(await Deno.readFile(join(out, "masks", `${id}.png`)), id);
      assert.equal(count(png.rgb.filter((_, i) => i % 3 === 0), 128), ignored, `${id} PNG`);
    }
    ds.close();
    // Without --ignore the same tiles have no 2 anywhere (the study's setup).
    await prepare({ data: join(root, "data"), out: join(root, "plain"), quiet: true });
    const plain = await Deno.readFile(join(root, "plain", "masks.u8"));
    assert.equal(count(plain, 2), 0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("prepare: --datasets keeps those tiles and counts them per dataset; unknown values are one line", async () => {
  const root = await Deno.makeTempDir({ prefix: "vessel-seg-datasets-" });
  try {
    await writeLayout(join(root, "data"));
    // writeLayout: tile k is in dataset 1 + (k % 2); annotated, 512² tiles of dataset 2 are
    // 2, 6, 8 and a (4 is unannotated)
    const { manifest, summary } = await prepare({
      data: join(root, "data"),
      out: join(root, "d2"),
      quiet: true,
      datasets: [2],
      valFraction: 0,
    });
    assert.deepEqual(manifest.tiles.map((t) => t.id).sort(), [
      "000000000002",
      "000000000006",
      "000000000008",
      "00000000000a",
    ]);
    assert.ok(manifest.tiles.every((t) => t.dataset === 2 && t.split === "train"));
    assert.deepEqual(manifest.datasets, [2]);
    assert.equal(manifest.summary.dataset2Train, 4);
    assert.equal(manifest.summary.dataset1Train, undefined);
    assert.match(summary, /dataset 2: train \/ val tiles\s+\| 4 \/ 0 \|/);
    const r = await quietMain([
      "--data",
      join(root, "data"),
      "--out",
      join(root, "bad"),
      "--datasets",
      "2,3",
    ]);
    assert.equal(r.code, 2);
    assert.deepEqual(r.errors, [
      "error: --datasets: 3 is not a dataset of tile_meta.csv (it has 1, 2)",
    ]);
    const r2 = await quietMain([
      "--data",
      join(root, "data"),
      "--out",
      join(root, "bad"),
      "--datasets",
      "x",
    ]);
    assert.equal(r2.code, 2);
    assert.match(r2.errors.join("\n"), /--datasets: "x" is not a dataset number/);
    assert.equal(await Deno.stat(join(root, "bad", "manifest.json")).catch(() => null), null);
    // A dataset tile_meta.csv has but polygons.jsonl does not annotate (Kaggle's dataset 3).
    await Deno.writeTextFile(join(root, "data", "tile_meta.csv"), "00000000ffff,3,3,0,0\n", {
      append: true,
    });
    const r3 = await quietMain([
      ...["--data", join(root, "data"), "--out", join(root, "bad"), "--datasets", "3"],
    ]);
    assert.equal(r3.code, 2);
    assert.deepEqual(r3.errors, [
      "error: --datasets 3: no annotated tile there (polygons.jsonl annotates datasets 1, 2; " +
      "Kaggle's dataset 3 is unannotated)",
    ]);
    for (
      const [args, message] of [
        [["--split", "fold", "--folds", "3", "--fold", "3"], /--fold must be from 0 to 2/],
        [["--fold", "1"], /--folds and --fold need --split fold/],
      ] as const
    ) {
      const r4 = await quietMain([
        "--data",
        join(root, "data"),
        "--out",
        join(root, "bad"),
        ...args,
      ]);
      assert.equal(r4.code, 2);
      assert.equal(r4.errors.length, 1);
      assert.match(r4.errors[0], message);
    }
    assert.equal(await Deno.stat(join(root, "bad", "manifest.json")).catch(() => null), null);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("prepare: --split fold keeps slides whole and records the plan; --val-fraction 0 and 1", async () => {
  const root = await Deno.makeTempDir({ prefix: "vessel-seg-folds-" });
  try {
    await writeLayout(join(root, "data"));
    const valOf = new Map<string, number>();
    for (let fold = 0; fold < 3; fold++) {
      const { manifest } = await prepare({
        data: join(root, "data"),
        out: join(root, `f${fold}`),
        quiet: true,
        split: "fold",
        folds: 3,
        fold,
      });
      assert.equal(manifest.split.method, "fold");
      assert.equal(manifest.split.plan!.length, 3);
      const held = new Set(manifest.split.plan![fold].slides);
      for (const t of manifest.tiles) {
        assert.equal(t.split, held.has(t.sourceWsi) ? "val" : "train");
      }
      for (const t of manifest.tiles.filter((t) => t.split === "val")) {
        valOf.set(t.id, (valOf.get(t.id) ?? 0) + 1);
      }
    }
    // 3 slides, 3 folds: each slide is one fold's validation; every kept tile validated once
    assert.equal(valOf.size, 8);
    assert.ok([...valOf.values()].every((c) => c === 1));

    const all = await prepare({
      data: join(root, "data"),
      out: join(root, "all-train"),
      quiet: true,
      valFraction: 0,
    });
    assert.ok(all.manifest.tiles.every((t) => t.split === "train"));
    assert.equal(all.manifest.stats.computedOn, "train");
    const evalOnly = await prepare({
      data: join(root, "data"),
      out: join(root, "all-val"),
      quiet: true,
      valFraction: 1,
    });
    assert.ok(evalOnly.manifest.tiles.every((t) => t.split === "val"));
    // nothing trains on an evaluation-only set: its statistics are its own, and say so
    assert.equal(evalOnly.manifest.stats.computedOn, "val");
    assert.deepEqual(evalOnly.manifest.stats.mean, all.manifest.stats.mean);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
