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
import { exists, writeFileAtomic, writeJsonAtomic } from "../io.ts";
import { Progress } from "../progress.ts";
import { decodeImage } from "./image.ts";
import { type AnnotationType, readPolygons, readTileMeta, type TileAnnotations } from "./kaggle.ts";
import { encodePng } from "./png.ts";
import type { Manifest, PreparedTile, Split } from "./prepared.ts";
import { ShardWriter } from "./prepared_io.ts";
import { rasterizePolygons, type Ring } from "./rasterize.ts";
import { downscaleArea, downscaleMask } from "./resize.ts";
import { type SplitMethod, splitTiles } from "./split.ts";
import { addMoments, finishStats, newStats, type TileMoments, tileMoments } from "./stats.ts";
import { kaggleLayout, tilePath } from "./tiles.ts";
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
  const scale = opts.scale ?? 1;
  const factor = Math.round(1 / scale);
  if (![1, 2, 4].includes(factor) || 1 / factor !== scale) {
    throw new UsageError(`--scale must be one of 1, 0.5, 0.25, got ${scale}`);
  }
  const splitMethod = opts.split ?? "random";
  const valFraction = opts.valFraction ?? 0.1;
  const seed = opts.seed ?? 0;
  const skipInvalid = opts.skipInvalid ?? false;
  const classes: AnnotationType[] = [
    "blood_vessel",
    ...ALL_CLASSES.filter((c) => c !== "blood_vessel" && (opts.classes ?? []).includes(c)),
  ];
  const log = opts.log ?? ((l: string) => console.log(l));
  const tileSizePx = SOURCE_TILE_PX / factor;
  const imageStride = tileSizePx * tileSizePx * 3;
  const maskStride = tileSizePx * tileSizePx;

  const layout = kaggleLayout(opts.data);
  const rel = (p: string) => relative(opts.data, p) || p;
  const skipped: Manifest["skipped"] = [];
  const onInvalid = skipInvalid
    ? (err: InputError) => skipped.push({ file: err.file, line: err.line, message: err.message })
    : undefined;

  // Pass 1: validate polygons.jsonl, resolve tiles, plan. Nothing is written before this passes.
  const tileMeta = await readTileMeta(layout.tileMeta);
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
  const planIndex = new Map(plan.map((e, p) => [e.id, p]));
  let split: Map<string, Split>;
  try {
    split = splitTiles(plan, { method: splitMethod, valFraction, seed });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(`cannot split the tiles: ${e.message}`);
    throw e;
  }

  const inputHashes: Record<string, string> = {};
  for (const p of [layout.polygons, layout.tileMeta, layout.wsiMeta]) {
    if (await exists(p)) inputHashes[rel(p)] = await sha256File(p);
  }

  // Output directory: remove the manifest first (the directory is "complete" only with it), move
  // finished shards back into the work area so they can be reused.
  const out = opts.out;
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
    // Classes an earlier run wrote but this one does not: their outputs would be stale.
    for (
      const p of [join(out, shardName(cls)), join(work, shardName(cls)), join(out, maskDir(cls))]
    ) {
      await Deno.remove(p, { recursive: true }).catch(() => {});
    }
  }
  for (const cls of classes) await Deno.mkdir(join(out, maskDir(cls)), { recursive: true });

  const optionsKey = sha256(
    JSON.stringify({ format: 1, tool: denoJson.version, scale, classes, tileSizePx }),
  );
  const journalPath = join(work, "journal.jsonl");
  const journal = await loadJournal(journalPath, work, shardFiles, imageStride, maskStride);
  const journalFile = await Deno.open(journalPath, { read: true, write: true, create: true });
  // Byte offset of each journal line, to cut the journal back at an invalidated entry.
  const lineOffsets: number[] = [];
  {
    let off = 0;
    for (const e of journal) {
      lineOffsets.push(off);
      off += new TextEncoder().encode(JSON.stringify(e) + "\n").length;
    }
    lineOffsets.push(off);
    await journalFile.truncate(off);
    await journalFile.seek(off, Deno.SeekMode.Start);
  }
  const keptBefore = (p: number) => {
    let k = 0;
    for (let q = 0; q < p && q < journal.length; q++) if (journal[q].status === "kept") k++;
    return k;
  };
  const nKept0 = keptBefore(journal.length);
  const imagesW = await ShardWriter.open(join(work, "images.u8"), imageStride, nKept0);
  const maskW = new Map<string, ShardWriter>();
  for (const cls of classes) {
    maskW.set(cls, await ShardWriter.open(join(work, shardName(cls)), maskStride, nKept0));
  }
  const encoder = new TextEncoder();
  let validUpTo = journal.length; // journal[0..validUpTo) still trusted
  const invalidateFrom = async (p: number) => {
    if (p >= validUpTo) return;
    const keep = keptBefore(p);
    await imagesW.truncate(keep);
    for (const w of maskW.values()) await w.truncate(keep);
    await journalFile.truncate(lineOffsets[p]);
    await journalFile.seek(lineOffsets[p], Deno.SeekMode.Start);
    journal.length = p;
    lineOffsets.length = p + 1;
    validUpTo = p;
  };
  const appendJournal = async (e: JournalEntry) => {
    const bytes = encoder.encode(JSON.stringify(e) + "\n");
    let off = 0;
    while (off < bytes.length) off += await journalFile.write(bytes.subarray(off));
    journal.push(e);
    lineOffsets.push(lineOffsets[lineOffsets.length - 1] + bytes.length);
    validUpTo = journal.length;
  };

  const progress = new Progress("prepare", plan.length, { unit: "tiles", quiet: opts.quiet });
  const fullMask = new Uint8Array(SOURCE_TILE_PX * SOURCE_TILE_PX);
  const scratch = new Uint8Array(SOURCE_TILE_PX * SOURCE_TILE_PX);
  let reused = 0, done = 0;
  const prefetch = new Map<number, Promise<Uint8Array>>();

  /** Rasterises, scales and writes one tile; returns the journal entry (without p/key). */
  const processTile = async (
    entry: PlanEntry,
    t: TileAnnotations,
    bytes: Uint8Array,
    writeShards: boolean,
  ): Promise<Omit<JournalEntry, "p" | "key">> => {
    const img = decodeImage(bytes, entry.path);
    if (img.width !== SOURCE_TILE_PX || img.height !== SOURCE_TILE_PX) {
      return { id: entry.id, status: "size", width: img.width, height: img.height };
    }
    const rgb = downscaleArea(img.rgb, img.width, img.height, 3, factor);
    const png: Record<string, string> = {};
    const classPx: Record<string, number> = {};
    let vesselPx = 0;
    const masks: Uint8Array[] = [];
    for (const cls of classes) {
      fullMask.fill(0);
      const rings: Ring[][] = t.annotations.filter((a) => a.type === cls).map((a) => a.rings);
      rasterizePolygons(fullMask, SOURCE_TILE_PX, SOURCE_TILE_PX, rings, { scratch });
      const m = downscaleMask(fullMask, SOURCE_TILE_PX, SOURCE_TILE_PX, factor);
      let px = 0;
      for (let i = 0; i < m.length; i++) px += m[i];
      if (cls === "blood_vessel") vesselPx = px;
      else classPx[cls] = px;
      masks.push(m);
      const view = new Uint8Array(m.length);
      for (let i = 0; i < m.length; i++) view[i] = m[i] * 255;
      const pngBytes = encodePng(view, tileSizePx, tileSizePx, 1, { filter: "none" });
      png[cls] = sha256(pngBytes);
      await writeFileAtomic(join(out, maskDir(cls), `${entry.id}.png`), pngBytes);
    }
    let index: number | undefined;
    if (writeShards) {
      index = await imagesW.append(rgb);
      for (let k = 0; k < classes.length; k++) await maskW.get(classes[k])!.append(masks[k]);
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
  };

  try {
    // Pass 2: stream annotations again, one tile at a time, in plan order.
    for await (
      const t of readPolygons(layout.polygons, { onInvalid: skipInvalid ? () => {} : undefined })
    ) {
      const p = planIndex.get(t.id);
      if (p === undefined || plan[p].line !== t.line) continue;
      const entry = plan[p];
      let bytes: Uint8Array;
      try {
        // Read the next tile's file while this one is being processed.
        const pending = prefetch.get(p) ?? Deno.readFile(entry.path);
        prefetch.delete(p);
        if (p + 1 < plan.length && !prefetch.has(p + 1)) {
          const next = Deno.readFile(plan[p + 1].path);
          next.catch(() => {}); // surfaces when awaited in its turn
          prefetch.set(p + 1, next);
        }
        bytes = await pending;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          throw new InputError(entry.path, undefined, "no such file");
        }
        throw e;
      }
      const fileHash = sha256(bytes);
      inputHashes[rel(entry.path)] = fileHash;
      const key = sha256(`${optionsKey}\n${fileHash}\n${JSON.stringify(t.annotations)}`);
      const old = p < validUpTo ? journal[p] : undefined;
      if (old && old.key === key && old.id === entry.id) {
        reused++;
        // Reuse the shards; rewrite a mask PNG only when it is missing or not the recorded bytes.
        if (old.status === "kept") {
          let intact = true;
          for (const cls of classes) {
            const f = join(out, maskDir(cls), `${entry.id}.png`);
            if (!(await exists(f)) || (await sha256File(f)) !== old.png?.[cls]) intact = false;
          }
          if (!intact) await processTile(entry, t, bytes, false);
        }
        if (old.status === "skipped") {
          skipped.push({
            file: old.errorFile ?? entry.path,
            line: old.errorLine,
            message: old.message ?? "",
          });
        }
      } else {
        await invalidateFrom(p);
        let result: Omit<JournalEntry, "p" | "key">;
        try {
          result = await processTile(entry, t, bytes, true);
        } catch (e) {
          if (!(e instanceof InputError) || !skipInvalid) throw e;
          skipped.push({ file: e.file, line: e.line, message: e.message });
          result = {
            id: entry.id,
            status: "skipped",
            width: 0,
            height: 0,
            message: e.message,
            errorFile: e.file,
            errorLine: e.line,
          };
        }
        await appendJournal({ p, key, ...result });
      }
      done++;
      progress.tick();
      opts.onTileDone?.(done);
    }
    await invalidateFrom(plan.length); // a longer journal from an earlier, larger plan
  } finally {
    imagesW.close();
    for (const w of maskW.values()) w.close();
    journalFile.close();
  }
  progress.done();
  if (done !== plan.length) {
    throw new InputError(layout.polygons, undefined, "changed while it was being read");
  }

  // Manifest: tiles, training statistics, summary.
  const tiles: PreparedTile[] = [];
  const nonStandardTiles: { id: string; width: number; height: number }[] = [];
  const stats = newStats();
  const perSplit = {
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
    if (s === "train") addMoments(stats, e.moments!);
  }
  if (perSplit.train.tiles === 0) {
    throw new InputError(layout.polygons, undefined, "no usable training tiles left");
  }
  const { mean, std } = finishStats(stats);

  // Final names: shards out of the work area, stale mask PNGs removed, manifest last.
  for (const name of shardFiles) await Deno.rename(join(work, name), join(out, name));
  const keptIds = new Set(tiles.map((t) => `${t.id}.png`));
  for (const cls of classes) {
    for await (const f of Deno.readDir(join(out, maskDir(cls)))) {
      if (f.isFile && !keptIds.has(f.name)) await Deno.remove(join(out, maskDir(cls), f.name));
    }
  }
  const sortedHashes: Record<string, string> = {};
  for (const k of Object.keys(inputHashes).sort()) sortedHashes[k] = inputHashes[k];
  const tilePx = tileSizePx * tileSizePx;
  const summaryCounts: Record<string, number> = {
    tilesInTileMeta: tileMeta.size,
    annotated: plan.length,
    excludedNoAnnotation: [...tileMeta.keys()].filter((id) => !planIndex.has(id)).length,
    skipped: skipped.length,
    nonStandardSize: nonStandardTiles.length,
    kept: tiles.length,
    blank: perSplit.train.blank + perSplit.val.blank,
    train: perSplit.train.tiles,
    val: perSplit.val.tiles,
    trainBlank: perSplit.train.blank,
    valBlank: perSplit.val.blank,
    trainVesselFraction: perSplit.train.tiles
      ? perSplit.train.vesselPx / (perSplit.train.tiles * tilePx)
      : 0,
    valVesselFraction: perSplit.val.tiles
      ? perSplit.val.vesselPx / (perSplit.val.tiles * tilePx)
      : 0,
  };
  const manifest: Manifest = {
    format: "vessel-seg-prepared",
    formatVersion: 1,
    tool: { name: denoJson.name, version: denoJson.version },
    command: opts.command ?? [],
    options: {
      data: opts.data,
      out: opts.out,
      scale,
      split: splitMethod,
      valFraction,
      seed,
      skipInvalid,
      classes,
    },
    seed,
    scale,
    tileSizePx,
    classes,
    shards: {
      images: "images.u8",
      masks: Object.fromEntries(classes.map((c) => [c, shardName(c)])),
      imageStride,
      maskStride,
    },
    split: { method: splitMethod, valFraction },
    stats: { mean, std, computedOn: "train", tiles: stats.tiles },
    tiles,
    summary: summaryCounts,
    skipped,
    nonStandardTiles,
    inputHashes: sortedHashes,
  };
  await writeJsonAtomic(join(out, "manifest.json"), manifest);
  const summary = formatSummary(manifest, perSplit, tilePx);
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
  rows.push([
    "mean / std (train, 0–1)",
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
