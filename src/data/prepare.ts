/**
 * The `prepare` pipeline: Kaggle layout → binary masks, train/val split, training-split statistics
 * and fixed-stride shards (see `prepared.ts` for the output layout).
 *
 * Tile selection follows the reference study: only tiles with a line in `polygons.jsonl` are used;
 * an annotated tile without any `blood_vessel` gets an all-zero mask. Tiles whose image is not
 * 512×512 are left out of the shards (fixed stride) and listed in the manifest and the summary.
 *
 * The run streams: `polygons.jsonl` is read twice line by line (first to validate it and plan the
 * tiles, then to rasterise), one tile image is decoded at a time and the shards are appended through
 * open file handles. Work in progress lives in `OUT/.work/`: the shards being appended and a journal
 * (`journal.jsonl`, one line per finished tile with a key = sha256 of the options, the tile file and
 * its annotations). A re-run with the same inputs reuses every journaled tile whose key still
 * matches, redoes the rest and produces byte-identical outputs; `manifest.json` is written last and
 * removed at the start of a run, so a directory with a manifest is always complete.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { InputError, UsageError } from "../errors.ts";
import { exists, readInputFile, writeFileAtomic, writeJsonAtomic } from "../io.ts";
import { Progress } from "../progress.ts";
import { decodeImage } from "./image.ts";
import {
  type AnnotationType,
  readPolygons,
  readTileMeta,
  type TileAnnotations,
  type TileMeta,
} from "./kaggle.ts";
import { encodePng } from "./png.ts";
import { type Manifest, type PreparedTile, type Split, SYNTH_MARKER } from "./prepared.ts";
import { ShardWriter } from "./prepared_io.ts";
import { rasterizePolygons, type Ring } from "./rasterize.ts";
import { downscaleArea, downscaleMask } from "./resize.ts";
import { foldPlan, type SplitMethod, splitTiles } from "./split.ts";
import { IGNORE_PNG, IGNORE_U8, VESSEL_U8 } from "../mask.ts";
import { addMoments, finishStats, newStats, type TileMoments, tileMoments } from "./stats.ts";
import { type KaggleLayout, kaggleLayout, tilePath } from "./tiles.ts";
import denoJson from "../../deno.json" with { type: "json" };

/** Side of a standard Kaggle tile. */
export const SOURCE_TILE_PX = 512;

/** Every annotation class, in shard order after `blood_vessel`. */
export const ALL_CLASSES: readonly AnnotationType[] = ["blood_vessel", "glomerulus", "unsure"];

/** Options of {@linkcode prepare}; the CLI fills them from flags. */
export interface PrepareOptions {
  /** Kaggle layout directory. */
  data: string;
  /** Output directory. */
  out: string;
  /** Downscale: 1, 0.5 or 0.25. Default 1. */
  scale?: number;
  /** Default "random". */
  split?: SplitMethod;
  /** Default 0.1. */
  valFraction?: number;
  /** Default 0. */
  seed?: number;
  /** Skip bad annotation lines and tiles instead of stopping. Default false. */
  skipInvalid?: boolean;
  /** Mask classes; `blood_vessel` is always included and first. */
  classes?: AnnotationType[];
  /** `fold` split: number of folds (default 5) and the validation fold (0-based, default 0). */
  folds?: number;
  fold?: number;
  /** Keep only tiles of these Kaggle datasets (`tile_meta.csv`'s `dataset`); default all. */
  datasets?: number[];
  /** Classes whose pixels become "ignore" in the blood_vessel masks (`src/mask.ts`). */
  ignore?: AnnotationType[];
  /** The command line recorded in the manifest. Default `[]`. */
  command?: string[];
  /** Silence the progress bar and summary. */
  quiet?: boolean;
  /** Where the summary table goes. Default `console.log`. */
  log?: (line: string) => void;
  /** Called after each finished tile with the number done (tests use it to interrupt a run). */
  onTileDone?: (done: number) => void;
}

/** What {@linkcode prepare} returns. */
export interface PrepareResult {
  manifest: Manifest;
  /** The summary table as printed. */
  summary: string;
  /** Tiles reused from an earlier run's journal. */
  reused: number;
}

interface PlanEntry {
  id: string;
  line: number;
  path: string;
  sourceWsi: number;
  dataset: number;
}

/** One journal line: the outcome for plan entry `p`. */
interface JournalEntry {
  p: number;
  id: string;
  key: string;
  status: "kept" | "size" | "skipped";
  /** Shard slot (kept only). */
  index?: number;
  width: number;
  height: number;
  vesselPx?: number;
  /** Set pixels per further class (kept only). */
  classPx?: Record<string, number>;
  moments?: TileMoments;
  /** sha256 of each written mask PNG, by class. */
  png?: Record<string, string>;
  /** The error line (skipped only). */
  message?: string;
  errorFile?: string;
  errorLine?: number;
}

function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1 << 20);
  while (true) {
    const n = await file.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
  }
  return h.digest("hex");
}

function maskDir(cls: string): string {
  return cls === "blood_vessel" ? "masks" : `masks_${cls}`;
}

function shardName(cls: string): string {
  return cls === "blood_vessel" ? "masks.u8" : `masks_${cls}.u8`;
}

/** The resolved options of a run. */
interface Settings {
  scale: number;
  /** Integer downscale factor, `1/scale`. */
  factor: number;
  splitMethod: SplitMethod;
  valFraction: number;
  folds: number;
  fold: number;
  datasets?: number[];
  ignore: AnnotationType[];
  seed: number;
  skipInvalid: boolean;
  /** `blood_vessel` first, then the other classes asked for. */
  classes: AnnotationType[];
  tileSizePx: number;
  imageStride: number;
  maskStride: number;
}

function resolveSettings(opts: PrepareOptions): Settings {
  const scale = opts.scale ?? 1;
  const factor = Math.round(1 / scale);
  if (![1, 2, 4].includes(factor) || 1 / factor !== scale) {
    throw new UsageError(`--scale must be one of 1, 0.5, 0.25, got ${scale}`);
  }
  const tileSizePx = SOURCE_TILE_PX / factor;
  return {
    scale,
    factor,
    splitMethod: opts.split ?? "random",
    valFraction: opts.valFraction ?? 0.1,
    folds: opts.folds ?? 5,
    fold: opts.fold ?? 0,
    datasets: opts.datasets === undefined ? undefined : [...new Set(opts.datasets)].sort(),
    ignore: ALL_CLASSES.filter((c) => c !== "blood_vessel" && (opts.ignore ?? []).includes(c)),
    seed: opts.seed ?? 0,
    skipInvalid: opts.skipInvalid ?? false,
    classes: [
      "blood_vessel",
      ...ALL_CLASSES.filter((c) => c !== "blood_vessel" && (opts.classes ?? []).includes(c)),
    ],
    tileSizePx,
    imageStride: tileSizePx * tileSizePx * 3,
    maskStride: tileSizePx * tileSizePx,
  };
}

/**
 * Pass 1: validates `polygons.jsonl` and resolves each annotated tile's image and metadata.
 * Nothing is written before this passes.
 */
async function planTiles(
  layout: KaggleLayout,
  tileMeta: Map<string, TileMeta>,
  rel: (p: string) => string,
  onInvalid: ((err: InputError) => void) | undefined,
): Promise<PlanEntry[]> {
  const plan: PlanEntry[] = [];
  for await (const t of readPolygons(layout.polygons, { onInvalid })) {
    try {
      const meta = tileMeta.get(t.id);
      if (!meta) {
        throw new InputError(
          layout.polygons,
          t.line,
          `tile ${t.id} is not listed in ${rel(layout.tileMeta)}`,
        );
      }
      let path: string;
      try {
        path = await tilePath(layout, t.id, "train");
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        throw new InputError(layout.polygons, t.line, `tile ${t.id} has no image: ${e.message}`);
      }
      plan.push({ id: t.id, line: t.line, path, sourceWsi: meta.sourceWsi, dataset: meta.dataset });
    } catch (e) {
      if (!(e instanceof InputError) || !onInvalid) throw e;
      onInvalid(e);
    }
  }
  return plan;
}

/**
 * Keeps the plan's tiles of `--datasets`. A value no row of `tile_meta.csv` has is a `UsageError`;
 * so is a selection that keeps no annotated tile.
 */
function selectDatasets(
  plan: PlanEntry[],
  tileMeta: Map<string, TileMeta>,
  s: Settings,
): PlanEntry[] {
  if (s.datasets === undefined) return plan;
  const known = new Set([...tileMeta.values()].map((m) => m.dataset));
  const list = (v: Iterable<number>) => [...v].sort((a, b) => a - b).join(", ");
  const unknown = s.datasets.filter((d) => !known.has(d));
  if (unknown.length > 0) {
    throw new UsageError(
      `--datasets: ${list(unknown)} ${unknown.length === 1 ? "is not a" : "are not"} dataset${
        unknown.length === 1 ? "" : "s"
      } of tile_meta.csv (it has ${list(known)})`,
    );
  }
  const kept = plan.filter((e) => s.datasets!.includes(e.dataset));
  if (kept.length === 0) {
    const annotated = new Set(plan.map((e) => e.dataset));
    throw new UsageError(
      `--datasets ${s.datasets.join(",")}: no annotated tile there (polygons.jsonl annotates ` +
        `dataset${annotated.size === 1 ? "" : "s"} ${list(annotated)}; Kaggle's dataset 3 is ` +
        "unannotated)",
    );
  }
  return kept;
}

function splitPlan(plan: PlanEntry[], s: Settings): Map<string, Split> {
  try {
    return splitTiles(plan, {
      method: s.splitMethod,
      valFraction: s.valFraction,
      seed: s.seed,
      folds: s.folds,
      fold: s.fold,
    });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`cannot split the tiles: ${e.message}`);
    throw e;
  }
}

/**
 * Readies the output folder: removes the manifest first (the folder is "complete" only with it),
 * moves finished shards back into the work area so they can be reused, and drops the outputs of
 * classes an earlier run wrote but this one does not. Returns the work folder and shard names.
 */
async function openOutput(
  out: string,
  classes: AnnotationType[],
): Promise<{ work: string; shardFiles: string[] }> {
  const work = join(out, ".work");
  await Deno.mkdir(work, { recursive: true });
  await Deno.remove(join(out, "manifest.json")).catch(() => {});
  const shardFiles = ["images.u8", ...classes.map(shardName)];
  for (const name of shardFiles) {
    if (!(await exists(join(work, name))) && (await exists(join(out, name)))) {
      await Deno.rename(join(out, name), join(work, name));
    }
    await Deno.remove(join(out, name)).catch(() => {});
  }
  for (const cls of ALL_CLASSES.filter((c) => !classes.includes(c))) {
    for (
      const p of [join(out, shardName(cls)), join(work, shardName(cls)), join(out, maskDir(cls))]
    ) {
      await Deno.remove(p, { recursive: true }).catch(() => {});
    }
  }
  for (const cls of classes) await Deno.mkdir(join(out, maskDir(cls)), { recursive: true });
  return { work, shardFiles };
}

/**
 * Pass 2's resumable record: `work/journal.jsonl` (one entry per planned tile, in plan order) and
 * the shard writers it is kept in step with. An entry whose inputs changed invalidates it and
 * everything after it (journal and shards are cut back to the last trusted entry).
 */
class Journal {
  /** `entries[0..validUpTo)` are still trusted. */
  validUpTo: number;
  #encoder = new TextEncoder();

  private constructor(
    readonly entries: JournalEntry[],
    private readonly file: Deno.FsFile,
    /** Byte offset of each journal line, to cut the journal back at an invalidated entry. */
    private readonly lineOffsets: number[],
    readonly images: ShardWriter,
    readonly masks: Map<string, ShardWriter>,
  ) {
    this.validUpTo = entries.length;
  }

  static async open(work: string, shardFiles: string[], s: Settings): Promise<Journal> {
    const path = join(work, "journal.jsonl");
    const entries = await loadJournal(path, work, shardFiles, s.imageStride, s.maskStride);
    const file = await Deno.open(path, { read: true, write: true, create: true });
    const lineOffsets: number[] = [];
    let off = 0;
    for (const e of entries) {
      lineOffsets.push(off);
      off += new TextEncoder().encode(JSON.stringify(e) + "\n").length;
    }
    lineOffsets.push(off);
    await file.truncate(off);
    await file.seek(off, Deno.SeekMode.Start);
    const kept = entries.filter((e) => e.status === "kept").length;
    const images = await ShardWriter.open(join(work, "images.u8"), s.imageStride, kept);
    const masks = new Map<string, ShardWriter>();
    for (const cls of s.classes) {
      masks.set(cls, await ShardWriter.open(join(work, shardName(cls)), s.maskStride, kept));
    }
    return new Journal(entries, file, lineOffsets, images, masks);
  }

  /** Kept tiles among the first `p` entries. */
  keptBefore(p: number): number {
    let k = 0;
    for (let q = 0; q < p && q < this.entries.length; q++) {
      if (this.entries[q].status === "kept") k++;
    }
    return k;
  }

  /** Drops entry `p` and every later one, with their shard records. */
  async invalidateFrom(p: number): Promise<void> {
    if (p >= this.validUpTo) return;
    const keep = this.keptBefore(p);
    await this.images.truncate(keep);
    for (const w of this.masks.values()) await w.truncate(keep);
    await this.file.truncate(this.lineOffsets[p]);
    await this.file.seek(this.lineOffsets[p], Deno.SeekMode.Start);
    this.entries.length = p;
    this.lineOffsets.length = p + 1;
    this.validUpTo = p;
  }

  async append(e: JournalEntry): Promise<void> {
    const bytes = this.#encoder.encode(JSON.stringify(e) + "\n");
    let off = 0;
    while (off < bytes.length) off += await this.file.write(bytes.subarray(off));
    this.entries.push(e);
    this.lineOffsets.push(this.lineOffsets[this.lineOffsets.length - 1] + bytes.length);
    this.validUpTo = this.entries.length;
  }

  close(): void {
    this.images.close();
    for (const w of this.masks.values()) w.close();
    this.file.close();
  }
}

/** Reads plan entries' image files one ahead of the one being processed. */
class Prefetcher {
  #pending = new Map<number, Promise<Uint8Array>>();
  constructor(private readonly plan: PlanEntry[]) {}

  async read(p: number): Promise<Uint8Array> {
    const path = this.plan[p].path;
    const pending = this.#pending.get(p) ?? readInputFile(path, "an image file");
    this.#pending.delete(p);
    if (p + 1 < this.plan.length && !this.#pending.has(p + 1)) {
      const next = readInputFile(this.plan[p + 1].path, "an image file");
      next.catch(() => {}); // surfaces when awaited in its turn
      this.#pending.set(p + 1, next);
    }
    return await pending;
  }
}

/** What rasterising a tile needs besides the tile. */
interface TileContext {
  s: Settings;
  out: string;
  journal: Journal;
  /** Full-resolution scratch masks, reused from tile to tile. */
  fullMask: Uint8Array;
  scratch: Uint8Array;
}

/** Rasterises, scales and writes one tile; returns its journal entry (without p/key). */
async function processTile(
  ctx: TileContext,
  entry: PlanEntry,
  t: TileAnnotations,
  bytes: Uint8Array,
  writeShards: boolean,
): Promise<Omit<JournalEntry, "p" | "key">> {
  const { s, fullMask } = ctx;
  const img = decodeImage(bytes, entry.path);
  if (img.width !== SOURCE_TILE_PX || img.height !== SOURCE_TILE_PX) {
    return { id: entry.id, status: "size", width: img.width, height: img.height };
  }
  const rgb = downscaleArea(img.rgb, img.width, img.height, 3, s.factor);
  const png: Record<string, string> = {};
  const classPx: Record<string, number> = {};
  let vesselPx = 0;
  const masks: Uint8Array[] = [];
  const classMask = (types: readonly string[]) => {
    fullMask.fill(0);
    const rings: Ring[][] = t.annotations.filter((a) => types.includes(a.type)).map((a) => a.rings);
    rasterizePolygons(fullMask, SOURCE_TILE_PX, SOURCE_TILE_PX, rings, { scratch: ctx.scratch });
    return downscaleMask(fullMask, SOURCE_TILE_PX, SOURCE_TILE_PX, s.factor);
  };
  // Ignore regions: background pixels of the blood_vessel mask inside an --ignore class's
  // polygons (a vessel pixel stays a vessel).
  const ignored = s.ignore.length > 0 ? classMask(s.ignore) : undefined;
  for (const cls of s.classes) {
    const m = classMask([cls]);
    if (cls === "blood_vessel" && ignored !== undefined) {
      for (let i = 0; i < m.length; i++) {
        if (ignored[i] && !m[i]) m[i] = IGNORE_U8;
      }
    }
    let px = 0;
    for (let i = 0; i < m.length; i++) px += m[i] === VESSEL_U8 ? 1 : 0;
    if (cls === "blood_vessel") vesselPx = px;
    else classPx[cls] = px;
    masks.push(m);
    const view = new Uint8Array(m.length);
    for (let i = 0; i < m.length; i++) view[i] = m[i] === IGNORE_U8 ? IGNORE_PNG : m[i] * 255;
    const pngBytes = encodePng(view, s.tileSizePx, s.tileSizePx, 1, { filter: "none" });
    png[cls] = sha256(pngBytes);
    await writeFileAtomic(join(ctx.out, maskDir(cls), `${entry.id}.png`), pngBytes);
  }
  let index: number | undefined;
  if (writeShards) {
    index = await ctx.journal.images.append(rgb);
    for (let k = 0; k < s.classes.length; k++) {
      await ctx.journal.masks.get(s.classes[k])!.append(masks[k]);
    }
  }
  return {
    id: entry.id,
    status: "kept",
    index,
    width: img.width,
    height: img.height,
    vesselPx,
    classPx,
    moments: tileMoments(rgb),
    png,
  };
}

/** A reused kept tile: rewrites its mask PNGs when one is missing or not the recorded bytes. */
async function restoreMaskPngs(
  ctx: TileContext,
  old: JournalEntry,
  entry: PlanEntry,
  t: TileAnnotations,
  bytes: Uint8Array,
): Promise<void> {
  for (const cls of ctx.s.classes) {
    const f = join(ctx.out, maskDir(cls), `${entry.id}.png`);
    if (!(await exists(f)) || (await sha256File(f)) !== old.png?.[cls]) {
      await processTile(ctx, entry, t, bytes, false);
      return;
    }
  }
}

/** A tile that failed with `--skip-invalid`: its journal entry. */
function skippedEntry(id: string, e: InputError): Omit<JournalEntry, "p" | "key"> {
  return {
    id,
    status: "skipped",
    width: 0,
    height: 0,
    message: e.message,
    errorFile: e.file,
    errorLine: e.line,
  };
}

/** Pass 2's shared state and outputs. */
interface Pass2 {
  ctx: TileContext;
  layout: KaggleLayout;
  plan: PlanEntry[];
  optionsKey: string;
  inputHashes: Record<string, string>;
  skipped: Manifest["skipped"];
  rel: (p: string) => string;
}

/**
 * Pass 2: streams the annotations again, one tile at a time in plan order, reusing every tile
 * whose journal entry matches its inputs. Returns how many tiles were reused.
 */
async function rasterizeTiles(p2: Pass2, opts: PrepareOptions): Promise<number> {
  const { ctx, layout, plan, skipped } = p2;
  const { journal } = ctx;
  const planIndex = new Map(plan.map((e, p) => [e.id, p]));
  const progress = new Progress("prepare", plan.length, { unit: "tiles", quiet: opts.quiet });
  const files = new Prefetcher(plan);
  let reused = 0, done = 0;
  const skipInvalid = ctx.s.skipInvalid;
  for await (
    const t of readPolygons(layout.polygons, { onInvalid: skipInvalid ? () => {} : undefined })
  ) {
    const p = planIndex.get(t.id);
    if (p === undefined || plan[p].line !== t.line) continue;
    const entry = plan[p];
    const bytes = await files.read(p);
    const fileHash = sha256(bytes);
    p2.inputHashes[p2.rel(entry.path)] = fileHash;
    const key = sha256(`${p2.optionsKey}\n${fileHash}\n${JSON.stringify(t.annotations)}`);
    const old = p < journal.validUpTo ? journal.entries[p] : undefined;
    if (old && old.key === key && old.id === entry.id) {
      reused++;
      if (old.status === "kept") await restoreMaskPngs(ctx, old, entry, t, bytes);
      if (old.status === "skipped") {
        skipped.push({
          file: old.errorFile ?? entry.path,
          line: old.errorLine,
          message: old.message ?? "",
        });
      }
    } else {
      await journal.invalidateFrom(p);
      let result: Omit<JournalEntry, "p" | "key">;
      try {
        result = await processTile(ctx, entry, t, bytes, true);
      } catch (e) {
        if (!(e instanceof InputError) || !skipInvalid) throw e;
        skipped.push({ file: e.file, line: e.line, message: e.message });
        result = skippedEntry(entry.id, e);
      }
      await journal.append({ p, key, ...result });
    }
    done++;
    progress.tick();
    opts.onTileDone?.(done);
  }
  await journal.invalidateFrom(plan.length); // a longer journal from an earlier, larger plan
  progress.done();
  if (done !== plan.length) {
    throw new InputError(layout.polygons, undefined, "changed while it was being read");
  }
  return reused;
}

type PerSplit = Record<Split, { tiles: number; blank: number; vesselPx: number }>;

/** The manifest's tiles, the training statistics and the per-split counts, from the journal. */
function collectTiles(journal: JournalEntry[], plan: PlanEntry[], split: Map<string, Split>) {
  const tiles: PreparedTile[] = [];
  const nonStandardTiles: { id: string; width: number; height: number }[] = [];
  const stats = newStats();
  const valStats = newStats();
  const perDataset = new Map<number, Record<Split, number>>();
  const perSplit: PerSplit = {
    train: { tiles: 0, blank: 0, vesselPx: 0 },
    val: { tiles: 0, blank: 0, vesselPx: 0 },
  };
  for (const e of journal) {
    const pe = plan[e.p];
    if (e.status === "size") nonStandardTiles.push({ id: e.id, width: e.width, height: e.height });
    if (e.status !== "kept") continue;
    const s = split.get(e.id)!;
    tiles.push({
      id: e.id,
      index: e.index!,
      split: s,
      sourceWsi: pe.sourceWsi,
      dataset: pe.dataset,
      vesselPx: e.vesselPx!,
      sourceWidth: e.width,
      sourceHeight: e.height,
    });
    perSplit[s].tiles++;
    perSplit[s].vesselPx += e.vesselPx!;
    if (e.vesselPx === 0) perSplit[s].blank++;
    addMoments(s === "train" ? stats : valStats, e.moments!);
    const d = perDataset.get(pe.dataset) ?? { train: 0, val: 0 };
    d[s]++;
    perDataset.set(pe.dataset, d);
  }
  // An evaluation-only set (every tile in val) has its statistics from val: nothing trains on it.
  const statsOn: Split = perSplit.train.tiles > 0 ? "train" : "val";
  return {
    tiles,
    nonStandardTiles,
    stats: statsOn === "train" ? stats : valStats,
    statsOn,
    perSplit,
    perDataset: new Map([...perDataset].sort((a, b) => a[0] - b[0])),
  };
}

/** Final names: shards out of the work area and mask PNGs of tiles no longer kept removed. */
async function publishShards(
  out: string,
  work: string,
  shardFiles: string[],
  classes: AnnotationType[],
  tiles: PreparedTile[],
): Promise<void> {
  for (const name of shardFiles) await Deno.rename(join(work, name), join(out, name));
  const keptIds = new Set(tiles.map((t) => `${t.id}.png`));
  for (const cls of classes) {
    for await (const f of Deno.readDir(join(out, maskDir(cls)))) {
      if (f.isFile && !keptIds.has(f.name)) await Deno.remove(join(out, maskDir(cls), f.name));
    }
  }
}

/** The summary counts of the manifest. */
function summaryCounts(
  tileMeta: Map<string, TileMeta>,
  plan: PlanEntry[],
  collected: ReturnType<typeof collectTiles>,
  skipped: number,
  tilePx: number,
): Record<string, number> {
  const { perSplit, tiles, nonStandardTiles, perDataset } = collected;
  const planned = new Set(plan.map((e) => e.id));
  const fraction = (s: Split) =>
    perSplit[s].tiles ? perSplit[s].vesselPx / (perSplit[s].tiles * tilePx) : 0;
  return {
    tilesInTileMeta: tileMeta.size,
    annotated: plan.length,
    excludedNoAnnotation: [...tileMeta.keys()].filter((id) => !planned.has(id)).length,
    skipped,
    nonStandardSize: nonStandardTiles.length,
    kept: tiles.length,
    blank: perSplit.train.blank + perSplit.val.blank,
    train: perSplit.train.tiles,
    val: perSplit.val.tiles,
    trainBlank: perSplit.train.blank,
    valBlank: perSplit.val.blank,
    trainVesselFraction: fraction("train"),
    valVesselFraction: fraction("val"),
    ...Object.fromEntries(
      [...perDataset].flatMap((
        [d, c],
      ) => [[`dataset${d}Train`, c.train], [`dataset${d}Val`, c.val]]),
    ),
  };
}

/**
 * Runs the whole preparation. Throws `InputError` on the first bad input unless `skipInvalid`,
 * and `UsageError` when the split is impossible.
 *
 * @example
 * ```ts ignore
 * import { prepare } from "./prepare.ts";
 * const { manifest } = await prepare({ data: "fixtures/kaggle-mini", out: "out/prepared", scale: 0.25 });
 * console.log(manifest.stats.mean);
 * ```
 */
export async function prepare(opts: PrepareOptions): Promise<PrepareResult> {
  const s = resolveSettings(opts);
  const { scale, classes, tileSizePx, splitMethod, valFraction, seed, skipInvalid } = s;
  const log = opts.log ?? ((l: string) => console.log(l));
  if (splitMethod !== "fold" && (valFraction === 0 || valFraction === 1) && !opts.quiet) {
    log(
      valFraction === 0
        ? "prepare: --val-fraction 0: every tile goes to train (no validation split)"
        : "prepare: --val-fraction 1: every tile goes to val (an evaluation-only set)",
    );
  }
  const layout = kaggleLayout(opts.data);
  const rel = (p: string) => relative(opts.data, p) || p;
  const skipped: Manifest["skipped"] = [];
  const onInvalid = skipInvalid
    ? (err: InputError) => skipped.push({ file: err.file, line: err.line, message: err.message })
    : undefined;

  const tileMeta = await readTileMeta(layout.tileMeta);
  const plan = selectDatasets(await planTiles(layout, tileMeta, rel, onInvalid), tileMeta, s);
  const split = splitPlan(plan, s);
  const inputHashes: Record<string, string> = {};
  for (const p of [layout.polygons, layout.tileMeta, layout.wsiMeta]) {
    if (await exists(p)) inputHashes[rel(p)] = await sha256File(p);
  }

  const out = opts.out;
  const { work, shardFiles } = await openOutput(out, classes);
  const optionsKey = sha256(
    JSON.stringify({
      format: 1,
      tool: denoJson.version,
      scale,
      classes,
      tileSizePx,
      ...(s.ignore.length > 0 ? { ignore: s.ignore } : {}),
    }),
  );
  const journal = await Journal.open(work, shardFiles, s);
  const ctx: TileContext = {
    s,
    out,
    journal,
    fullMask: new Uint8Array(SOURCE_TILE_PX * SOURCE_TILE_PX),
    scratch: new Uint8Array(SOURCE_TILE_PX * SOURCE_TILE_PX),
  };
  let reused: number;
  try {
    reused = await rasterizeTiles(
      { ctx, layout, plan, optionsKey, inputHashes, skipped, rel },
      opts,
    );
  } finally {
    journal.close();
  }

  const collected = collectTiles(journal.entries, plan, split);
  const { tiles, nonStandardTiles, stats, perSplit } = collected;
  if (tiles.length === 0) {
    throw new InputError(layout.polygons, undefined, "no usable tiles left");
  }
  if (perSplit.train.tiles === 0 && valFraction < 1) {
    throw new InputError(
      layout.polygons,
      undefined,
      "no usable training tiles left (--val-fraction 1 makes an evaluation-only set on purpose)",
    );
  }
  const { mean, std } = finishStats(stats);
  await publishShards(out, work, shardFiles, classes, tiles);
  const sortedHashes: Record<string, string> = {};
  for (const k of Object.keys(inputHashes).sort()) sortedHashes[k] = inputHashes[k];
  const tilePx = tileSizePx * tileSizePx;
  const synthetic = await exists(join(opts.data, SYNTH_MARKER));
  const manifest: Manifest = {
    format: "vessel-seg-prepared",
    formatVersion: 1,
    tool: { name: denoJson.name, version: denoJson.version },
    command: opts.command ?? [],
    options: {
      data: opts.data,
      out,
      scale,
      split: splitMethod,
      valFraction,
      seed,
      skipInvalid,
      classes,
      ...(splitMethod === "fold" ? { folds: s.folds, fold: s.fold } : {}),
      ...(s.datasets ? { datasets: s.datasets } : {}),
      ...(s.ignore.length > 0 ? { ignore: s.ignore } : {}),
    },
    seed,
    scale,
    tileSizePx,
    classes,
    shards: {
      images: "images.u8",
      masks: Object.fromEntries(classes.map((c) => [c, shardName(c)])),
      imageStride: s.imageStride,
      maskStride: s.maskStride,
    },
    split: splitMethod === "fold"
      ? {
        method: "fold",
        valFraction: tiles.length ? perSplit.val.tiles / tiles.length : 0,
        folds: s.folds,
        fold: s.fold,
        plan: foldPlan(plan, s.folds, seed),
      }
      : { method: splitMethod, valFraction },
    ...(s.datasets ? { datasets: s.datasets } : {}),
    ...(s.ignore.length > 0 ? { ignore: s.ignore } : {}),
    stats: { mean, std, computedOn: collected.statsOn, tiles: stats.tiles },
    tiles,
    summary: summaryCounts(tileMeta, plan, collected, skipped.length, tilePx),
    skipped,
    nonStandardTiles,
    inputHashes: sortedHashes,
    source: { data: opts.data, synthetic },
  };
  await writeJsonAtomic(join(out, "manifest.json"), manifest);
  const summary = formatSummary(manifest, perSplit, tilePx, collected.perDataset);
  if (!opts.quiet) log(summary);
  return { manifest, summary, reused };
}

/** Reads the journal's valid prefix: parsable lines, in order, backed by complete shard records. */
async function loadJournal(
  path: string,
  work: string,
  shardFiles: string[],
  imageStride: number,
  maskStride: number,
): Promise<JournalEntry[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  let records = Infinity;
  for (const name of shardFiles) {
    const stride = name === "images.u8" ? imageStride : maskStride;
    try {
      records = Math.min(records, Math.floor((await Deno.stat(join(work, name))).size / stride));
    } catch {
      records = 0;
    }
  }
  const entries: JournalEntry[] = [];
  let kept = 0;
  const lines = text.split("\n");
  lines.pop(); // the part after the last newline is unfinished
  for (const line of lines) {
    let e: JournalEntry;
    try {
      e = JSON.parse(line);
    } catch {
      break;
    }
    if (e.p !== entries.length) break;
    if (e.status === "kept") {
      if (e.index !== kept || kept >= records) break;
      kept++;
    }
    entries.push(e);
  }
  return entries;
}

function formatSummary(
  m: Manifest,
  perSplit: Record<Split, { tiles: number; blank: number; vesselPx: number }>,
  tilePx: number,
  perDataset: Map<number, Record<Split, number>>,
): string {
  const s = m.summary;
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  const rows: [string, string][] = [
    ["tiles in tile_meta.csv", String(s.tilesInTileMeta)],
    ["excluded (no line in polygons.jsonl)", String(s.excludedNoAnnotation)],
    ["annotated tiles read", String(s.annotated)],
    ["skipped (invalid, --skip-invalid)", String(s.skipped)],
    [`not ${SOURCE_TILE_PX}×${SOURCE_TILE_PX} (left out of the shards)`, String(s.nonStandardSize)],
    ["kept", String(s.kept)],
    ["blank (no blood_vessel, all-zero mask)", String(s.blank)],
  ];
  for (const sp of ["train", "val"] as const) {
    const t = perSplit[sp];
    rows.push([
      `${sp}: tiles / blank / vessel px`,
      `${t.tiles} / ${t.blank} / ${t.tiles ? pct(t.vesselPx / (t.tiles * tilePx)) : "–"}`,
    ]);
  }
  for (const [d, c] of perDataset) {
    rows.push([`dataset ${d}: train / val tiles`, `${c.train} / ${c.val}`]);
  }
  if (m.split.plan) {
    rows.push([
      `fold ${m.split.fold} of ${m.split.folds} (val): slides`,
      m.split.plan[m.split.fold!].slides.join(", "),
    ]);
  }
  if (m.ignore) rows.push(["ignored in the masks", m.ignore.join(", ")]);
  rows.push([
    `mean / std (${m.stats.computedOn}, 0–1)`,
    `${m.stats.mean.map((v) => v.toFixed(4)).join(" ")} / ${
      m.stats.std.map((v) => v.toFixed(4)).join(" ")
    }`,
  ]);
  const w = Math.max(...rows.map((r) => r[0].length));
  const lines = [
    `| ${"".padEnd(w)} | value |`,
    `|${"-".repeat(w + 2)}|-------|`,
    ...rows.map(([k, v]) => `| ${k.padEnd(w)} | ${v} |`),
  ];
  if (m.nonStandardTiles && m.nonStandardTiles.length > 0) {
    lines.push(
      `warning: left out ${m.nonStandardTiles.length} tile(s) not ${SOURCE_TILE_PX}×${SOURCE_TILE_PX}: ` +
        m.nonStandardTiles.map((t) => `${t.id} (${t.width}×${t.height})`).join(", "),
    );
  }
  if (m.skipped.length > 0) {
    lines.push(`skipped ${m.skipped.length} invalid input(s), listed in manifest.json "skipped"`);
  }
  lines.push(
    `wrote ${m.tiles.length} tiles at ${m.tileSizePx}×${m.tileSizePx} to ${m.options.out}`,
  );
  return lines.join("\n");
}
