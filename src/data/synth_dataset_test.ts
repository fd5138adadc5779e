import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../errors.ts";
import { decodeImage } from "./image.ts";
import { readPolygons, readTileMeta, readWsiMeta } from "./kaggle.ts";
import { planTiles, writeSynthDataset } from "./synth_dataset.ts";

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...await listFiles(join(dir, e.name), `${prefix}${e.name}/`));
    else out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

Deno.test("writeSynthDataset writes the Kaggle layout with every special case", async () => {
  const root = await Deno.makeTempDir();
  const dir = join(root, "kaggle");
  try {
    const summary = await writeSynthDataset(dir, { tiles: 10, seed: 7 });
    // no temporary directory is left next to the output
    assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["kaggle"]);
    const meta = await readTileMeta(join(dir, "tile_meta.csv"));
    const wsi = await readWsiMeta(join(dir, "wsi_meta.csv"));
    assert.equal(meta.size, 10);
    const datasets = new Set<number>(), slides = new Set<number>();
    for (const [id, m] of meta) {
      assert.match(id, /^[0-9a-f]{12}$/);
      datasets.add(m.dataset);
      slides.add(m.sourceWsi);
      // as in the competition's files, wsi_meta.csv lists the slides of datasets 1 and 2 only
      assert.equal(wsi.has(m.sourceWsi), m.dataset !== 3, `slide ${m.sourceWsi} in wsi_meta.csv`);
      const image = decodeImage(await Deno.readFile(join(dir, "train", `${id}.tif`)), id);
      assert.equal(image.width, 512);
      assert.equal(image.height, 512);
    }
    assert.deepEqual([...datasets].sort(), [1, 2, 3]);
    assert.ok(slides.size >= 2);

    const annotated = new Map<string, string[][]>();
    for await (const t of readPolygons(join(dir, "polygons.jsonl"))) {
      annotated.set(t.id, t.annotations.map((a) => [a.type, String(a.rings.length)]));
    }
    for (const [id, m] of meta) assert.equal(annotated.has(id), m.dataset !== 3, `tile ${id}`);
    const all = [...annotated.values()].flat();
    assert.ok(all.some(([type]) => type === "glomerulus"));
    assert.ok(all.some(([type]) => type === "unsure"));
    assert.ok(all.some(([type, rings]) => type === "blood_vessel" && rings === "2"));
    assert.ok([...annotated.values()].some((a) => !a.some(([type]) => type === "blood_vessel")));
    assert.equal(summary.annotatedTiles, annotated.size);
    assert.ok(summary.tilesWithoutVessel >= 1 && summary.holes >= 1);

    const tests = [...Deno.readDirSync(join(dir, "test"))].map((e) => e.name.replace(".tif", ""));
    assert.equal(tests.length, 2);
    for (const id of tests) assert.ok(!meta.has(id) && /^[0-9a-f]{12}$/.test(id));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeSynthDataset: the same seed gives byte-identical files, another seed other ids", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeSynthDataset(join(root, "a"), { tiles: 2, seed: 5, testTiles: 1 });
    await writeSynthDataset(join(root, "b"), { tiles: 2, seed: 5, testTiles: 1 });
    const files = await listFiles(join(root, "a"));
    assert.deepEqual(files, await listFiles(join(root, "b")));
    assert.equal(files.length, 7); // 2 train + 1 test + 3 tables + synth.json
    for (const f of files) {
      assert.deepEqual(
        await Deno.readFile(join(root, "a", f)),
        await Deno.readFile(join(root, "b", f)),
        f,
      );
    }
    const other = planTiles(2, 6).map((p) => p.id);
    assert.notDeepEqual(other, planTiles(2, 5).map((p) => p.id));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writeSynthDataset refuses a non-empty directory unless forced, and replaces it when forced", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(root, "keep.txt"), "x");
    await assert.rejects(writeSynthDataset(root, { tiles: 1, seed: 1, sizePx: 64 }), UsageError);
    assert.equal(await Deno.readTextFile(join(root, "keep.txt")), "x");
    await writeSynthDataset(root, { tiles: 1, seed: 1, sizePx: 64, testTiles: 0, force: true });
    assert.deepEqual(await listFiles(root), [
      "polygons.jsonl",
      "synth.json",
      "tile_meta.csv",
      `train/${planTiles(1, 1)[0].id}.tif`,
      "wsi_meta.csv",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("planTiles: unique 12-hex ids; datasets 1/2 from slides 1–4, dataset 3 from slides ≥ 5", () => {
  const plans = planTiles(200, 3, 5);
  assert.equal(new Set(plans.map((p) => p.id)).size, 205);
  for (const p of plans.slice(0, 200)) {
    assert.match(p.id, /^[0-9a-f]{12}$/);
    if (p.dataset === 3) assert.ok(p.sourceWsi >= 5);
    else assert.ok(p.sourceWsi >= 1 && p.sourceWsi <= 4);
  }
});

Deno.test("fixtures/kaggle-mini is exactly what its README command makes", async () => {
  // deno task synth --out fixtures/kaggle-mini --tiles 8 --seed 2023 --test-tiles 1
  const fixture = new URL("../../fixtures/kaggle-mini", import.meta.url).pathname;
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "k");
    await writeSynthDataset(dir, { tiles: 8, seed: 2023, testTiles: 1 });
    const files = await listFiles(dir);
    assert.deepEqual(files, (await listFiles(fixture)).filter((f) => f !== "README.md"));
    for (const f of files) {
      assert.deepEqual(
        await Deno.readFile(join(dir, f)),
        await Deno.readFile(join(fixture, f)),
        `${f} differs: regenerate the fixture with the command in fixtures/kaggle-mini/README.md`,
      );
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
