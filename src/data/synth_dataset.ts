/**
 * Writes a synthetic dataset in the exact file layout of the Kaggle competition "HuBMAP – Hacking
 * the Human Vasculature": `train/{id}.tif`, `test/{id}.tif`, `polygons.jsonl`, `tile_meta.csv`,
 * `wsi_meta.csv`, with 12-hex-digit ids. As in the competition's files, `wsi_meta.csv` lists only
 * the slides of the annotated datasets.
 *
 * Like the real data: datasets 1 and 2 are annotated and come from slides 1–4, dataset 3 is not
 * annotated (no line in `polygons.jsonl`) and comes from slides 5 and up; some annotated tiles have
 * no `blood_vessel`; glomerulus and unsure annotations occur; now and then a vessel annotation has
 * a second ring (a hole). Tile `k` is rendered from its own generator seeded by `(seed, k)`, so the
 * same seed gives byte-identical files.
 *
 * The whole directory is built under a temporary sibling name and renamed into place at the end,
 * so an interrupted run never leaves a half-written dataset under the final name.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { UsageError } from "../errors.ts";
import { Rng } from "../rng.ts";
import { SYNTH_MARKER } from "./prepared.ts";
import { encodeTiff } from "./tiff_write.ts";
import {
  makeStain,
  type RenderOptions,
  renderTile,
  type Stain,
  type SynthAnnotation,
} from "./synth.ts";

/** Options for {@linkcode writeSynthDataset}. */
export interface SynthDatasetOptions {
  /** Number of `train/` tiles. */
  tiles: number;
  /** Seed of everything. */
  seed: number;
  /** Number of `test/` tiles. Default 2. */
  testTiles?: number;
  /** Tile side in pixels. Default 512. */
  sizePx?: number;
  /** TIFF compression. Default `"deflate"`. */
  compression?: "none" | "deflate";
  /** Replace an existing non-empty `outDir`. Default false (then it is an error). */
  force?: boolean;
  /** Called after each tile (for a progress bar). */
  onTile?: (done: number, total: number) => void;
}

/** The role a tile plays in the dataset, decided from its index. */
export interface TilePlan {
  id: string;
  sourceWsi: number;
  dataset: 1 | 2 | 3;
  i: number;
  j: number;
  render: RenderOptions;
}

/** What was written, for the summary line. */
export interface SynthSummary {
  tiles: number;
  testTiles: number;
  annotatedTiles: number;
  vessels: number;
  glomeruli: number;
  unsure: number;
  holes: number;
  tilesWithoutVessel: number;
}

// The datasets of ten consecutive tiles (20 % dataset 1, 60 % dataset 2, 20 % dataset 3) and the
// special cases forced at fixed positions so that even a dozen tiles cover every case.
const DATASET_CYCLE: (1 | 2 | 3)[] = [1, 2, 2, 3, 2, 1, 2, 3, 2, 2];
const NO_VESSEL_AT = 6; // an annotated tile (dataset 2) without any blood_vessel
const HOLE_AT = 4; // a vessel annotation with a hole ring
const GLOMERULUS_AT = 0;
const UNSURE_AT = 1;

function tileSeed(seed: number, k: number, salt: number): number {
  return (Math.imul(seed >>> 0, 0x2c1b3c6d) ^ Math.imul(k + 1, 0x9e3779b9) ^ salt) >>> 0;
}

/**
 * The plan of every tile (ids, slides, datasets, positions, forced special cases) for `seed`.
 *
 * @example
 * ```ts
 * import { planTiles } from "./synth_dataset.ts";
 * const plans = planTiles(12, 0);
 * console.assert(plans.length === 12 && /^[0-9a-f]{12}$/.test(plans[0].id));
 * ```
 */
export function planTiles(tiles: number, seed: number, extraIds = 0): TilePlan[] {
  const rng = new Rng(tileSeed(seed, -1, 0x51d));
  const seen = new Set<string>();
  const nextId = () => {
    for (;;) {
      const id = (rng.uint32() & 0xffff).toString(16).padStart(4, "0") +
        rng.uint32().toString(16).padStart(8, "0");
      if (!seen.has(id)) {
        seen.add(id);
        return id;
      }
    }
  };
  const annotatedWsis = Math.min(4, Math.max(2, Math.ceil(tiles / 8)));
  const unannotatedWsis = Math.min(6, Math.max(1, Math.ceil(tiles / 16)));
  const cursor = new Map<number, number>();
  const plans: TilePlan[] = [];
  for (let k = 0; k < tiles; k++) {
    const slot = k % 10;
    const dataset = DATASET_CYCLE[slot];
    const sourceWsi = dataset === 3
      ? 5 + rng.int(unannotatedWsis)
      : 1 + ((k + rng.int(2)) % annotatedWsis);
    const n = cursor.get(sourceWsi) ?? 0;
    cursor.set(sourceWsi, n + 1);
    const render: RenderOptions = {};
    if (slot === NO_VESSEL_AT) render.vesselFraction = 0;
    if (slot === HOLE_AT) render.forceHole = true;
    if (slot === GLOMERULUS_AT) render.glomerulus = true;
    if (slot === UNSURE_AT) render.unsure = true;
    plans.push({
      id: nextId(),
      sourceWsi,
      dataset,
      // tiles of one slide sit on a grid of 512 px steps, like the real tile_meta.csv
      i: 512 * (4 + (n % 16) * 2 + rng.int(2)),
      j: 512 * (4 + Math.floor(n / 16) * 2 + rng.int(2)),
      render,
    });
  }
  for (let k = 0; k < extraIds; k++) {
    plans.push({ id: nextId(), sourceWsi: 0, dataset: 3, i: 0, j: 0, render: {} });
  }
  return plans;
}

/** Per-slide metadata row of `wsi_meta.csv`, drawn from the seed. */
function wsiRow(seed: number, wsi: number): string {
  const rng = new Rng(tileSeed(seed, 10_000 + wsi, 0x3e7a));
  const age = 30 + rng.int(50);
  const sex = rng.float() < 0.5 ? "F" : "M";
  const race = rng.float() < 0.75 ? "W" : "B";
  const height = Math.round(1500 + 400 * rng.float()) / 10;
  const weight = Math.round(500 + 700 * rng.float()) / 10;
  const bmi = Math.round((weight / (height / 100) ** 2) * 10) / 10;
  return `${wsi},${age},${sex},${race},${height.toFixed(1)},${weight.toFixed(1)},${bmi.toFixed(1)}`;
}

/** Serialises one `polygons.jsonl` line in the Kaggle form. */
export function polygonsLine(id: string, annotations: SynthAnnotation[]): string {
  return JSON.stringify({
    id,
    annotations: annotations.map((a) => ({ type: a.type, coordinates: a.rings })),
  });
}

/** Renders tile `k` of the plan (used by the writer and the benchmark). */
export function renderPlannedTile(
  plan: TilePlan,
  seed: number,
  k: number,
  stains: Map<number, Stain>,
  sizePx = 512,
): ReturnType<typeof renderTile> {
  let stain = stains.get(plan.sourceWsi);
  if (!stain) {
    stain = makeStain(new Rng(tileSeed(seed, 20_000 + plan.sourceWsi, 0x57a1)));
    stains.set(plan.sourceWsi, stain);
  }
  return renderTile(new Rng(tileSeed(seed, k, 0x711e)), stain, { ...plan.render, sizePx });
}

/**
 * Writes the dataset into `outDir` (created; it must not exist or be empty unless `force`).
 *
 * @example
 * ```ts
 * import { writeSynthDataset } from "./synth_dataset.ts";
 * const dir = await Deno.makeTempDir();
 * const s = await writeSynthDataset(`${dir}/kaggle`, { tiles: 2, seed: 1, testTiles: 0, sizePx: 64 });
 * console.assert(s.tiles === 2 && s.testTiles === 0);
 * console.assert((await Deno.readTextFile(`${dir}/kaggle/tile_meta.csv`)).split("\n")[0].startsWith("id,"));
 * ```
 */
export async function writeSynthDataset(
  outDir: string,
  opts: SynthDatasetOptions,
): Promise<SynthSummary> {
  const sizePx = opts.sizePx ?? 512;
  const testTiles = opts.testTiles ?? 2;
  let existing: Deno.FileInfo | undefined;
  try {
    existing = await Deno.stat(outDir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (existing) {
    if (!existing.isDirectory) {
      throw new UsageError(`--out ${outDir} exists and is not a directory`);
    }
    let empty = true;
    for await (const _ of Deno.readDir(outDir)) {
      empty = false;
      break;
    }
    if (!empty && !opts.force) {
      throw new UsageError(`--out ${outDir} exists and is not empty (add --force to replace it)`);
    }
  }
  const parent = dirname(outDir);
  await Deno.mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(outDir)}.partial-${Deno.pid}`);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(join(tmp, "train"), { recursive: true });
  await Deno.mkdir(join(tmp, "test"), { recursive: true });

  const summary: SynthSummary = {
    tiles: opts.tiles,
    testTiles,
    annotatedTiles: 0,
    vessels: 0,
    glomeruli: 0,
    unsure: 0,
    holes: 0,
    tilesWithoutVessel: 0,
  };
  try {
    const plans = planTiles(opts.tiles, opts.seed, testTiles);
    const stains = new Map<number, Stain>();
    const polygonLines: string[] = [];
    const metaLines = ["id,source_wsi,dataset,i,j"];
    const total = plans.length;
    for (let k = 0; k < total; k++) {
      const plan = plans[k];
      const isTest = k >= opts.tiles;
      const tile = renderPlannedTile(plan, opts.seed, k, stains, sizePx);
      const tif = encodeTiff(tile.rgb, sizePx, sizePx, {
        compression: opts.compression ?? "deflate",
        predictor: true,
      });
      await Deno.writeFile(join(tmp, isTest ? "test" : "train", `${plan.id}.tif`), tif);
      if (!isTest) {
        metaLines.push(`${plan.id},${plan.sourceWsi},${plan.dataset},${plan.i},${plan.j}`);
        if (plan.dataset !== 3) {
          polygonLines.push(polygonsLine(plan.id, tile.annotations));
          summary.annotatedTiles++;
          let vessels = 0;
          for (const a of tile.annotations) {
            if (a.type === "blood_vessel") vessels++;
            if (a.type === "glomerulus") summary.glomeruli++;
            if (a.type === "unsure") summary.unsure++;
            if (a.rings.length > 1) summary.holes++;
          }
          summary.vessels += vessels;
          if (vessels === 0) summary.tilesWithoutVessel++;
        }
      }
      opts.onTile?.(k + 1, total);
    }
    // Like the competition's wsi_meta.csv, only the annotated slides (datasets 1 and 2) are listed.
    const wsis = [
      ...new Set(plans.slice(0, opts.tiles).filter((p) => p.dataset !== 3).map((p) => p.sourceWsi)),
    ].sort((a, b) => a - b);
    const enc = new TextEncoder();
    await Deno.writeFile(
      join(tmp, "polygons.jsonl"),
      enc.encode(polygonLines.map((l) => l + "\n").join("")),
    );
    await Deno.writeFile(join(tmp, "tile_meta.csv"), enc.encode(metaLines.join("\n") + "\n"));
    await Deno.writeFile(
      join(tmp, "wsi_meta.csv"),
      enc.encode(
        ["source_wsi,age,sex,race,height,weight,bmi", ...wsis.map((w) => wsiRow(opts.seed, w))]
          .join("\n") + "\n",
      ),
    );
    // Not a Kaggle file: it marks the folder as synthetic, so that `prepare` records it and a
    // model trained here says so wherever it is used (it does not transfer to real tissue).
    await Deno.writeFile(
      join(tmp, SYNTH_MARKER),
      enc.encode(
        JSON.stringify({ generator: "vessel-seg synth", seed: opts.seed, tiles: opts.tiles }) +
          "\n",
      ),
    );
    if (existing) await Deno.remove(outDir, { recursive: true });
    await Deno.rename(tmp, outDir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  return summary;
}
