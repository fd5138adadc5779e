/**
 * The Kaggle directory layout and a stream of decoded tiles:
 *
 * ```
 * DIR/polygons.jsonl   DIR/tile_meta.csv   DIR/wsi_meta.csv   DIR/train/{id}.tif   DIR/test/{id}.tif
 * ```
 *
 * `readTiles` reads and decodes one tile at a time, so memory does not grow with the number of
 * tiles. Tile sizes are not checked: a tile that is not 512×512 is yielded as it is and callers
 * report it.
 *
 * @module
 */
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { exists } from "../io.ts";
import { readImage, type RgbImage } from "./image.ts";

/** Paths of the parts of a Kaggle-layout dataset directory. */
export interface KaggleLayout {
  dir: string;
  polygons: string;
  tileMeta: string;
  wsiMeta: string;
  trainDir: string;
  testDir: string;
}

/**
 * The paths of the Kaggle layout under `dir` (nothing is checked on disk).
 *
 * @example
 * ```ts
 * import { kaggleLayout } from "./tiles.ts";
 * console.assert(kaggleLayout("data").polygons === "data/polygons.jsonl");
 * ```
 */
export function kaggleLayout(dir: string): KaggleLayout {
  return {
    dir,
    polygons: join(dir, "polygons.jsonl"),
    tileMeta: join(dir, "tile_meta.csv"),
    wsiMeta: join(dir, "wsi_meta.csv"),
    trainDir: join(dir, "train"),
    testDir: join(dir, "test"),
  };
}

/** Image file extensions tried for a tile id, in this order. */
export const TILE_EXTENSIONS = [".tif", ".tiff", ".png"] as const;

/** A tile id, optionally with the `polygons.jsonl` line that listed it (named in errors). */
export type TileRef = string | { id: string; line?: number };

/** The image file of tile `id` in `folder` (`.tif`, `.tiff` or `.png`), or `undefined`. */
export async function findTile(
  layout: KaggleLayout,
  id: string,
  folder: "train" | "test" = "train",
): Promise<string | undefined> {
  const base = join(folder === "train" ? layout.trainDir : layout.testDir, id);
  for (const ext of TILE_EXTENSIONS) {
    if (await exists(base + ext)) return base + ext;
  }
  return undefined;
}

function missing(layout: KaggleLayout, id: string, folder: "train" | "test", line?: number) {
  const path = join(folder === "train" ? layout.trainDir : layout.testDir, id) + ".tif";
  const tried = `(also tried ${TILE_EXTENSIONS.slice(1).join(", ")})`;
  return line === undefined
    ? new InputError(path, undefined, `no image for tile ${id} ${tried}`)
    : new InputError(layout.polygons, line, `tile ${id} has no image: ${path} not found ${tried}`);
}

/**
 * The image file of tile `id`: `DIR/{folder}/{id}.tif`, else `.tiff`, else `.png`.
 *
 * @param folder `"train"` (default) or `"test"`
 * @throws {InputError} naming `DIR/{folder}/{id}.tif` when none of them exists
 *
 * @example
 * ```ts
 * import { kaggleLayout, tilePath } from "./tiles.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/train`);
 * await Deno.writeFile(`${dir}/train/abc.png`, new Uint8Array(0));
 * console.assert((await tilePath(kaggleLayout(dir), "abc")).endsWith("train/abc.png"));
 * ```
 */
export async function tilePath(
  layout: KaggleLayout,
  id: string,
  folder: "train" | "test" = "train",
): Promise<string> {
  const path = await findTile(layout, id, folder);
  if (path === undefined) throw missing(layout, id, folder);
  return path;
}

/** Options of {@linkcode readTiles}. */
export interface ReadTilesOptions {
  /** Which image folder: `"train"` (default) or `"test"`. */
  folder?: "train" | "test";
  /** Given: a missing or undecodable tile is passed here and skipped. Absent: it is thrown. */
  onInvalid?: (err: InputError) => void;
}

/**
 * Yields the decoded images of `ids`, one at a time, in the given order. Only one image is held
 * at a time by this generator; a consumer that keeps them is the only cause of growth.
 *
 * `ids` may be plain ids or `{ id, line }` records (e.g. from `readPolygons`): then a missing image
 * is reported as `DIR/polygons.jsonl:LINE: tile ID has no image: DIR/train/ID.tif not found …`.
 *
 * @throws {InputError} for a missing or undecodable image, unless `opts.onInvalid` is given
 *
 * @example
 * ```ts
 * import { kaggleLayout, readTiles } from "./tiles.ts";
 * import { encodePng } from "./png.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/train`);
 * await Deno.writeFile(`${dir}/train/t1.png`, encodePng(new Uint8Array(8 * 4 * 3), 8, 4, 3));
 * for await (const { id, image } of readTiles(kaggleLayout(dir), ["t1"])) {
 *   console.assert(id === "t1" && image.width === 8 && image.height === 4);
 * }
 * ```
 */
export async function* readTiles(
  layout: KaggleLayout,
  ids: Iterable<TileRef>,
  opts: ReadTilesOptions = {},
): AsyncGenerator<{ id: string; path: string; image: RgbImage }> {
  const folder = opts.folder ?? "train";
  for (const ref of ids) {
    const id = typeof ref === "string" ? ref : ref.id;
    const line = typeof ref === "string" ? undefined : ref.line;
    let path: string | undefined;
    let image: RgbImage;
    try {
      path = await findTile(layout, id, folder);
      if (path === undefined) throw missing(layout, id, folder, line);
      image = await readImage(path);
    } catch (e) {
      if (!(e instanceof InputError) || opts.onInvalid === undefined) throw e;
      opts.onInvalid(e);
      continue;
    }
    yield { id, path, image };
  }
}
