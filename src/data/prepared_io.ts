/**
 * Reading and writing the raw shards of a prepared directory (see `prepared.ts` for the layout).
 *
 * The writer appends fixed-stride records through one open file handle, so memory does not grow
 * with the number of tiles; the reader seeks to `index · stride` and reads exactly one record (or
 * a batch of records) with no decoding.
 *
 * @module
 */
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { readJson } from "../io.ts";
import type { Manifest, PreparedSample, PreparedTile, Split } from "./prepared.ts";

/** Appends fixed-size records to a shard file. */
export class ShardWriter {
  readonly path: string;
  readonly stride: number;
  #file: Deno.FsFile;
  #count: number;

  private constructor(path: string, stride: number, file: Deno.FsFile, count: number) {
    this.path = path;
    this.stride = stride;
    this.#file = file;
    this.#count = count;
  }

  /**
   * Opens `path` for appending, keeping its first `keepRecords` records (default 0: a new file).
   * A longer file is truncated to exactly `keepRecords · stride` bytes.
   *
   * @example
   * ```ts
   * import { ShardWriter } from "./prepared_io.ts";
   * const dir = await Deno.makeTempDir();
   * const w = await ShardWriter.open(`${dir}/masks.u8`, 4);
   * await w.append(new Uint8Array([0, 1, 1, 0]));
   * console.assert(w.count === 1);
   * w.close();
   * console.assert((await Deno.stat(`${dir}/masks.u8`)).size === 4);
   * ```
   */
  static async open(path: string, stride: number, keepRecords = 0): Promise<ShardWriter> {
    const file = await Deno.open(path, { read: true, write: true, create: true });
    await file.truncate(keepRecords * stride);
    await file.seek(keepRecords * stride, Deno.SeekMode.Start);
    return new ShardWriter(path, stride, file, keepRecords);
  }

  /** Records written so far (including kept ones). */
  get count(): number {
    return this.#count;
  }

  /** Drops every record from `keepRecords` on and continues appending there. */
  async truncate(keepRecords: number): Promise<void> {
    if (keepRecords > this.#count) {
      throw new RangeError(`cannot keep ${keepRecords} of ${this.#count}`);
    }
    await this.#file.truncate(keepRecords * this.stride);
    await this.#file.seek(keepRecords * this.stride, Deno.SeekMode.Start);
    this.#count = keepRecords;
  }

  /** Appends one record of exactly `stride` bytes; returns its index. */
  async append(record: Uint8Array): Promise<number> {
    if (record.length !== this.stride) {
      throw new RangeError(
        `${this.path}: record of ${record.length} bytes, stride is ${this.stride}`,
      );
    }
    let off = 0;
    while (off < record.length) off += await this.#file.write(record.subarray(off));
    return this.#count++;
  }

  /** Flushes to disk. */
  async sync(): Promise<void> {
    await this.#file.sync();
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}

/** A prepared directory opened for reading. */
export interface PreparedDataset {
  readonly dir: string;
  readonly manifest: Manifest;
  /** Tiles of one split (default "all"), in shard order. */
  tiles(split?: Split | "all"): PreparedTile[];
  /** One tile's image and blood_vessel mask. */
  read(tile: PreparedTile): Promise<PreparedSample>;
  /** Several tiles concatenated in the given order: `[n, S, S, 3]` and `[n, S, S]` uint8. */
  readBatch(tiles: readonly PreparedTile[]): Promise<{ rgbHWC: Uint8Array; maskU8: Uint8Array }>;
  /** The mask of another class written with `--classes` (`[S, S]`, 0/1). */
  readClassMask(tile: PreparedTile, className: string): Promise<Uint8Array>;
  /** Closes the shard files. */
  close(): void;
}

/**
 * The tiles of `split` in `ds` (prepared in `dir`); none is an `InputError` that says what the set
 * holds (an all-train or an evaluation-only set names the split to use).
 */
export function tilesOfSplit(
  ds: PreparedDataset,
  dir: string,
  split: Split | "all",
): PreparedTile[] {
  const tiles = ds.tiles(split);
  if (tiles.length > 0) return tiles;
  const other = split === "val" ? "train" : split === "train" ? "val" : undefined;
  const hint = other !== undefined && ds.tiles(other).length > 0
    ? ` (every tile is in ${other}: prepared with --val-fraction ${
      other === "train" ? 0 : 1
    }; use --split ${other} or all)`
    : "";
  throw new InputError(
    join(dir, "manifest.json"),
    undefined,
    `no tiles in split "${split}"${hint}`,
  );
}

async function readExactlyAt(file: Deno.FsFile, offset: number, into: Uint8Array, name: string) {
  await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < into.length) {
    const n = await file.read(into.subarray(got));
    if (n === null) throw new InputError(name, undefined, `shard ends at byte ${offset + got}`);
    got += n;
  }
}

const isName = (v: unknown) => typeof v === "string" && /^[\w.-]+$/.test(v) && !v.startsWith(".");
const isTriple = (v: unknown) =>
  Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && Number.isFinite(x));

/**
 * Reads and checks `DIR/manifest.json`: the format, the scale, the tile size, the shard names and
 * strides (which must match the tile size), the statistics and every tile entry. Each problem is
 * an `InputError` naming the file and the field.
 *
 * @example
 * ```ts ignore
 * import { readManifest } from "./prepared_io.ts";
 * const m = await readManifest("out/demo/prepared");
 * console.log(m.scale, m.tileSizePx);
 * ```
 */
export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, "manifest.json");
  const m = await readJson<Manifest>(path, "run `deno task prepare` first");
  const bad = (field: string, expected: string, found: unknown) =>
    new InputError(
      path,
      undefined,
      `field ${field}: expected ${expected}, found ${JSON.stringify(found)}`,
    );
  if (
    m === null || typeof m !== "object" || m.format !== "vessel-seg-prepared" ||
    m.formatVersion !== 1
  ) {
    throw new InputError(path, undefined, "not a vessel-seg prepared manifest (format 1)");
  }
  if (![1, 0.5, 0.25].includes(m.scale)) throw bad("scale", "1, 0.5 or 0.25", m.scale);
  const size = m.tileSizePx;
  if (!Number.isInteger(size) || size < 1 || size > 4096) {
    throw bad("tileSizePx", "an integer from 1 to 4096", size);
  }
  const sh = m.shards;
  if (sh === null || typeof sh !== "object") throw bad("shards", "an object", sh);
  if (!isName(sh.images)) throw bad("shards.images", "a file name", sh.images);
  if (sh.masks === null || typeof sh.masks !== "object" || !isName(sh.masks.blood_vessel)) {
    throw bad("shards.masks.blood_vessel", "a file name", sh.masks?.blood_vessel);
  }
  for (const [k, v] of Object.entries(sh.masks)) {
    if (!isName(v)) throw bad(`shards.masks.${k}`, "a file name", v);
  }
  if (sh.imageStride !== size * size * 3) {
    throw bad("shards.imageStride", `${size * size * 3} (tileSizePx² × 3)`, sh.imageStride);
  }
  if (sh.maskStride !== size * size) {
    throw bad("shards.maskStride", `${size * size} (tileSizePx²)`, sh.maskStride);
  }
  if (m.stats === null || typeof m.stats !== "object") throw bad("stats", "an object", m.stats);
  if (!isTriple(m.stats.mean)) throw bad("stats.mean", "3 finite numbers", m.stats.mean);
  if (!isTriple(m.stats.std)) throw bad("stats.std", "3 finite numbers", m.stats.std);
  if (!Array.isArray(m.tiles)) throw bad("tiles", "an array", m.tiles);
  const n = m.tiles.length;
  const seen = new Set<number>();
  for (let k = 0; k < n; k++) {
    const t = m.tiles[k];
    if (t === null || typeof t !== "object") throw bad(`tiles[${k}]`, "an object", t);
    if (typeof t.id !== "string") throw bad(`tiles[${k}].id`, "a string", t.id);
    if (!Number.isInteger(t.index) || t.index < 0 || t.index >= n || seen.has(t.index)) {
      throw bad(`tiles[${k}].index`, `a distinct integer from 0 to ${n - 1}`, t.index);
    }
    seen.add(t.index);
    if (t.split !== "train" && t.split !== "val") {
      throw bad(`tiles[${k}].split`, '"train" or "val"', t.split);
    }
  }
  const src = m.source as unknown;
  if (
    src !== undefined &&
    (src === null || typeof src !== "object" ||
      typeof (src as { data: unknown }).data !== "string" ||
      typeof (src as { synthetic: unknown }).synthetic !== "boolean")
  ) {
    throw bad("source", '{"data": string, "synthetic": boolean}', src);
  }
  return m;
}

/**
 * Opens a prepared directory: parses `manifest.json`, checks the shard sizes against it and
 * returns a reader.
 *
 * @throws {InputError} when the manifest is missing or of another format, or a shard is short
 *
 * @example
 * ```ts ignore
 * import { openPrepared } from "./prepared_io.ts";
 * const ds = await openPrepared("out/prepared");
 * const [first] = ds.tiles("train");
 * const { rgbHWC, maskU8 } = await ds.read(first);
 * ds.close();
 * ```
 */
export async function openPrepared(dir: string): Promise<PreparedDataset> {
  const manifest = await readManifest(dir);
  const { imageStride, maskStride } = manifest.shards;
  const n = manifest.tiles.length;
  const files = new Map<string, Deno.FsFile>();
  const open = async (name: string, stride: number) => {
    const path = join(dir, name);
    let size: number;
    try {
      size = (await Deno.stat(path)).size;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw new InputError(path, undefined, "no such file");
      throw e;
    }
    if (size !== n * stride) {
      throw new InputError(path, undefined, `${size} bytes, manifest says ${n} tiles × ${stride}`);
    }
    files.set(name, await Deno.open(path, { read: true }));
  };
  try {
    await open(manifest.shards.images, imageStride);
    for (const name of Object.values(manifest.shards.masks)) await open(name, maskStride);
  } catch (e) {
    for (const f of files.values()) f.close();
    throw e;
  }
  const images = files.get(manifest.shards.images)!;
  const vesselName = manifest.shards.masks["blood_vessel"];
  const masks = files.get(vesselName)!;
  const readMask = async (file: Deno.FsFile, name: string, tile: PreparedTile) => {
    const m = new Uint8Array(maskStride);
    await readExactlyAt(file, tile.index * maskStride, m, join(dir, name));
    return m;
  };
  return {
    dir,
    manifest,
    tiles(split: Split | "all" = "all") {
      return manifest.tiles.filter((t) => split === "all" || t.split === split);
    },
    async read(tile) {
      const rgbHWC = new Uint8Array(imageStride);
      await readExactlyAt(
        images,
        tile.index * imageStride,
        rgbHWC,
        join(dir, manifest.shards.images),
      );
      return { tile, rgbHWC, maskU8: await readMask(masks, vesselName, tile) };
    },
    async readBatch(tiles) {
      const rgbHWC = new Uint8Array(tiles.length * imageStride);
      const maskU8 = new Uint8Array(tiles.length * maskStride);
      for (let k = 0; k < tiles.length; k++) {
        const t = tiles[k];
        await readExactlyAt(
          images,
          t.index * imageStride,
          rgbHWC.subarray(k * imageStride, (k + 1) * imageStride),
          join(dir, manifest.shards.images),
        );
        await readExactlyAt(
          masks,
          t.index * maskStride,
          maskU8.subarray(k * maskStride, (k + 1) * maskStride),
          join(dir, vesselName),
        );
      }
      return { rgbHWC, maskU8 };
    },
    async readClassMask(tile, className) {
      const name = manifest.shards.masks[className];
      if (name === undefined) {
        throw new RangeError(
          `class "${className}" was not prepared (have ${
            Object.keys(manifest.shards.masks).join(", ")
          })`,
        );
      }
      return await readMask(files.get(name)!, name, tile);
    },
    close() {
      for (const f of files.values()) f.close();
      files.clear();
    },
  };
}
