/**
 * Readers for the tables of the Kaggle "HuBMAP – Hacking the Human Vasculature" layout:
 * `polygons.jsonl` (streamed one line at a time), `tile_meta.csv` and `wsi_meta.csv`.
 *
 * Every malformed input becomes one `InputError` naming the file as the caller gave it, the line
 * (CSV: the line in the file, header = 1) and the field, e.g.
 * `polygons.jsonl:17: annotation 3: ring 0 has 2 points, need at least 3`.
 *
 * Decisions on `polygons.jsonl` (one JSON object per line,
 * `{"id": "0006ff2aa7cd", "annotations": [{"type": "blood_vessel", "coordinates": [[[x, y], ...]]}]}`):
 * - Annotation and ring indices in messages are 0-based (the first annotation is `annotation 0`),
 *   line numbers 1-based.
 * - Blank (whitespace-only) lines are skipped; `\r\n` line ends and a UTF-8 byte-order mark are
 *   accepted. A file with no non-blank line is an error ("no annotations").
 * - `id` must be a non-empty string of letters, digits, `_`, `-` and `.` that does not start with
 *   `.`: it becomes a file name (`train/{id}.tif`), so `/` or `..` are refused. Real ids are 12
 *   lowercase hex digits, but other safe names are accepted without a warning (fixtures and
 *   hand-made data use them). An id on two lines is an error naming both lines.
 * - `coordinates` is a list of rings (the first the outline, later ones holes), each a list of
 *   `[x, y]` pairs. A list of bare points (one bracket level missing) or of nested lists (one too
 *   many) is a "wrong nesting" error. Coordinates must be finite numbers within
 *   ±{@linkcode MAX_COORDINATE} (a tile is 512 px; larger values are bad data, and rasterising an
 *   edge a thousand tiles long is wasted work); non-integers are
 *   accepted as they are (the real data are integers; a sub-pixel vertex is still well defined
 *   for rasterising), and coordinates outside the tile are accepted (rasterising clips them).
 *   A ring needs at least 3 points.
 * - `type` must be `blood_vessel`, `glomerulus` or `unsure`. Other keys are ignored.
 * - With `onInvalid`, a bad line (JSON, id, duplicate, `annotations` not a list) is reported and
 *   skipped; a bad annotation is reported and dropped while the tile's other annotations are kept.
 *   The empty-file error is thrown even then (there is nothing to skip).
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { readLines, splitCsvLine } from "./csv.ts";

/** The annotation classes of the competition. */

/** Largest absolute polygon coordinate accepted (pixels): 2 000 tiles of 512 px. */
export const MAX_COORDINATE = 1_000_000;
export const ANNOTATION_TYPES = ["blood_vessel", "glomerulus", "unsure"] as const;

/** One of {@linkcode ANNOTATION_TYPES}. */
export type AnnotationType = "blood_vessel" | "glomerulus" | "unsure";

/** One annotated object: `rings[0]` is the outline, `rings[1..]` are holes; points are `[x, y]` px. */
export interface Annotation {
  type: AnnotationType;
  rings: [number, number][][];
}

/** The annotations of one tile, with the 1-based line of `polygons.jsonl` they came from. */
export interface TileAnnotations {
  id: string;
  line: number;
  annotations: Annotation[];
}

/** How readers treat bad input. */
export interface ReadOptions {
  /** Given: a bad line or annotation is passed here and skipped. Absent: it is thrown. */
  onInvalid?: (err: InputError) => void;
}

const ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") {
    return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  }
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

/** True when `id` is usable as a tile id (see the module documentation). */
export function isValidTileId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Validates one annotation; returns it or a message (without the `annotation k:` prefix). */
function parseAnnotation(a: unknown): Annotation | string {
  if (a === null || typeof a !== "object" || Array.isArray(a)) {
    return `expected an object {"type", "coordinates"}, found ${describe(a)}`;
  }
  const rec = a as Record<string, unknown>;
  const type = rec.type;
  if (type === undefined) return `missing "type"`;
  if (typeof type !== "string") return `"type" must be a string, found ${describe(type)}`;
  if (!(ANNOTATION_TYPES as readonly string[]).includes(type)) {
    return `unknown type ${JSON.stringify(type)} (expected ${ANNOTATION_TYPES.join(", ")})`;
  }
  const coords = rec.coordinates;
  if (coords === undefined) return `missing "coordinates"`;
  if (!Array.isArray(coords)) {
    return `"coordinates" must be a list of rings [[[x, y], ...]], found ${describe(coords)}`;
  }
  if (coords.length === 0) return `"coordinates" has no rings`;
  if (Array.isArray(coords[0]) && typeof coords[0][0] === "number") {
    return `wrong nesting: "coordinates" must be a list of rings [[[x, y], ...]], ` +
      `found a list of points [[x, y], ...]`;
  }
  const rings: [number, number][][] = [];
  for (let r = 0; r < coords.length; r++) {
    const ring = coords[r];
    if (!Array.isArray(ring)) {
      return `wrong nesting: ring ${r} must be a list of [x, y] points, found ${describe(ring)}`;
    }
    const points: [number, number][] = new Array(ring.length);
    for (let p = 0; p < ring.length; p++) {
      const pt = ring[p];
      if (!Array.isArray(pt)) {
        return `wrong nesting: ring ${r} point ${p} must be [x, y], found ${describe(pt)}`;
      }
      if (pt.some(Array.isArray)) {
        return `wrong nesting: ring ${r} point ${p} must be [x, y], found a list of lists`;
      }
      if (pt.length !== 2) {
        return `ring ${r} point ${p} must be [x, y], found ${pt.length} values`;
      }
      for (let k = 0; k < 2; k++) {
        const v = pt[k];
        const axis = k === 0 ? "x" : "y";
        if (typeof v !== "number") {
          return `ring ${r} point ${p}: ${axis} must be a number, found ${describe(v)}`;
        }
        if (!Number.isFinite(v)) return `ring ${r} point ${p}: ${axis} is not finite (${v})`;
        if (Math.abs(v) > MAX_COORDINATE) {
          return `ring ${r} point ${p}: ${axis} is ${v}, outside ±${MAX_COORDINATE}`;
        }
      }
      points[p] = [pt[0], pt[1]];
    }
    if (points.length < 3) return `ring ${r} has ${points.length} points, need at least 3`;
    rings.push(points);
  }
  return { type: type as AnnotationType, rings };
}

/**
 * Streams `polygons.jsonl` one line at a time (memory bounded by the longest line plus the set of
 * ids seen, for the duplicate check). Blank lines are skipped.
 *
 * @param path the file, named in errors exactly as given
 * @throws {InputError} on the first bad line or annotation when `opts.onInvalid` is absent, and
 *   always for a missing or empty file
 *
 * @example
 * ```ts
 * import { readPolygons } from "./kaggle.ts";
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(path, '{"id":"a1","annotations":[{"type":"glomerulus","coordinates":[[[0,0],[9,0],[9,9]]]}]}\n');
 * for await (const tile of readPolygons(path)) console.assert(tile.annotations[0].rings[0].length === 3);
 * ```
 */
export async function* readPolygons(
  path: string,
  opts: ReadOptions = {},
): AsyncGenerator<TileAnnotations> {
  const seen = new Map<string, number>();
  let contentLines = 0;
  const report = (line: number, detail: string): void => {
    const err = new InputError(path, line, detail);
    if (opts.onInvalid === undefined) throw err;
    opts.onInvalid(err);
  };
  for await (const { line, text } of readLines(path)) {
    if (text.trim() === "") continue;
    contentLines++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      report(line, `bad JSON: ${why}`);
      continue;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      report(line, `expected a JSON object {"id", "annotations"}, found ${describe(value)}`);
      continue;
    }
    const rec = value as Record<string, unknown>;
    const id = rec.id;
    if (id === undefined) {
      report(line, `missing "id"`);
      continue;
    }
    if (typeof id !== "string") {
      report(line, `"id" must be a string, found ${describe(id)}`);
      continue;
    }
    if (!ID_PATTERN.test(id)) {
      report(
        line,
        `"id" ${JSON.stringify(id)} is not a valid tile id ` +
          `(letters, digits, "_", "-", "." only, not starting with ".")`,
      );
      continue;
    }
    const first = seen.get(id);
    if (first !== undefined) {
      report(line, `duplicate id ${JSON.stringify(id)}, first at line ${first}`);
      continue;
    }
    seen.set(id, line);
    const list = rec.annotations;
    if (list === undefined) {
      report(line, `missing "annotations"`);
      continue;
    }
    if (!Array.isArray(list)) {
      report(line, `"annotations" must be a list, found ${describe(list)}`);
      continue;
    }
    const annotations: Annotation[] = [];
    for (let k = 0; k < list.length; k++) {
      const a = parseAnnotation(list[k]);
      if (typeof a === "string") report(line, `annotation ${k}: ${a}`);
      else annotations.push(a);
    }
    yield { id, line, annotations };
  }
  if (contentLines === 0) {
    throw new InputError(path, undefined, "no annotations: the file is empty");
  }
}

/** One row of `tile_meta.csv`. */
export interface TileMeta {
  id: string;
  sourceWsi: number;
  dataset: number;
  /** Tile position in its slide, pixels (column `i`). */
  i: number;
  /** Tile position in its slide, pixels (column `j`). */
  j: number;
}

/** One row of `wsi_meta.csv`. */
export interface WsiMeta {
  sourceWsi: number;
  age: number;
  sex: string;
  race: string;
  /** cm */
  height: number;
  /** kg */
  weight: number;
  bmi: number;
}

type Row = (name: string, kind: "integer" | "number" | "string") => string | number;

/**
 * Reads a CSV table whose header must contain `columns` (in any order; extra columns are
 * ignored). Every row must have as many fields as the header; blank lines are skipped.
 */
async function readTable(
  path: string,
  columns: readonly string[],
  onRow: (get: Row, line: number) => void,
): Promise<void> {
  let index: Map<string, number> | undefined;
  let width = 0;
  let header = "";
  for await (const { line, text } of readLines(path)) {
    if (text.trim() === "") continue;
    const fields = splitCsvLine(text);
    if (typeof fields === "string") throw new InputError(path, line, fields);
    if (index === undefined) {
      index = new Map(fields.map((f, k) => [f.trim(), k]));
      for (const c of columns) {
        if (!index.has(c)) {
          throw new InputError(
            path,
            line,
            `header lacks column "${c}" (expected ${columns.join(",")}, found ${fields.join(",")})`,
          );
        }
      }
      width = fields.length;
      header = fields.map((f) => f.trim()).join(",");
      continue;
    }
    if (fields.length !== width) {
      throw new InputError(
        path,
        line,
        `row has ${fields.length} fields, expected ${width} (${header})`,
      );
    }
    const cols = index;
    onRow((name, kind) => {
      const raw = fields[cols.get(name)!].trim();
      if (kind === "string") return raw;
      const n = raw === "" ? NaN : Number(raw);
      if (kind === "integer" ? !/^[+-]?\d+$/.test(raw) : !Number.isFinite(n)) {
        throw new InputError(
          path,
          line,
          `field "${name}": expected ${kind === "integer" ? "an integer" : "a number"}, ` +
            `found ${JSON.stringify(raw)}`,
        );
      }
      return n;
    }, line);
  }
  if (index === undefined) {
    throw new InputError(path, undefined, `empty file, expected a header ${columns.join(",")}`);
  }
}

/** Records that `key` is on `line`; a key seen before throws `error()` with the first line added. */
function once<K>(rows: Map<K, number>, key: K, line: number, error: () => InputError): void {
  const first = rows.get(key);
  if (first !== undefined) {
    const e = error();
    throw new InputError(e.file, e.line, `${e.detail}, first at line ${first}`);
  }
  rows.set(key, line);
}

/**
 * Reads `tile_meta.csv` (`id,source_wsi,dataset,i,j`) into a map by tile id.
 *
 * @throws {InputError} e.g. `tile_meta.csv:5: row has 4 fields, expected 5 (id,source_wsi,dataset,i,j)`
 *
 * @example
 * ```ts
 * import { readTileMeta } from "./kaggle.ts";
 * const meta = await readTileMeta("fixtures/real/tile_meta.csv");
 * console.assert(meta.get("0006ff2aa7cd")?.sourceWsi === 2);
 * ```
 */
export async function readTileMeta(path: string): Promise<Map<string, TileMeta>> {
  const out = new Map<string, TileMeta>();
  const rows = new Map<string, number>();
  await readTable(path, ["id", "source_wsi", "dataset", "i", "j"], (get, line) => {
    const id = get("id", "string") as string;
    if (!ID_PATTERN.test(id)) {
      throw new InputError(path, line, `field "id": ${JSON.stringify(id)} is not a valid tile id`);
    }
    once(rows, id, line, () => new InputError(path, line, `duplicate id ${JSON.stringify(id)}`));
    out.set(id, {
      id,
      sourceWsi: get("source_wsi", "integer") as number,
      dataset: get("dataset", "integer") as number,
      i: get("i", "integer") as number,
      j: get("j", "integer") as number,
    });
  });
  return out;
}

/**
 * Reads `wsi_meta.csv` (`source_wsi,age,sex,race,height,weight,bmi`) into a map by slide number.
 *
 * @throws {InputError} e.g. `wsi_meta.csv:3: field "age": expected a number, found "old"`
 *
 * @example
 * ```ts
 * import { readWsiMeta } from "./kaggle.ts";
 * const wsi = await readWsiMeta("fixtures/real/wsi_meta.csv");
 * console.assert(wsi.get(2)?.sex === "F");
 * ```
 */
export async function readWsiMeta(path: string): Promise<Map<number, WsiMeta>> {
  const out = new Map<number, WsiMeta>();
  const rows = new Map<number, number>();
  const columns = ["source_wsi", "age", "sex", "race", "height", "weight", "bmi"];
  await readTable(path, columns, (get, line) => {
    const sourceWsi = get("source_wsi", "integer") as number;
    once(
      rows,
      sourceWsi,
      line,
      () => new InputError(path, line, `duplicate source_wsi ${sourceWsi}`),
    );
    out.set(sourceWsi, {
      sourceWsi,
      age: get("age", "number") as number,
      sex: get("sex", "string") as string,
      race: get("race", "string") as string,
      height: get("height", "number") as number,
      weight: get("weight", "number") as number,
      bmi: get("bmi", "number") as number,
    });
  });
  return out;
}
