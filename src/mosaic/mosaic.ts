/**
 * `deno task mosaic`'s picture: every tile of one slide (`tile_meta.csv`'s `source_wsi`) laid out
 * at its position, downscaled to a chosen width, with the labelled vessels and/or a model's
 * predictions over it, a legend and a scale note.
 *
 * - **Position**: a tile's top-left corner is at `(i, j)` of `tile_meta.csv` in slide pixels, `i`
 *   horizontal and `j` vertical (as `deno task synth` writes them). The picture covers the
 *   tiles' bounding box; places no tile covers stay white.
 * - **Downscaling**: each picture pixel is the mean of the slide pixels whose centres fall in its
 *   square (a box filter), tile by tile.
 * - **Overlays**, at picture resolution: a picture pixel is a vessel when any slide pixel under it
 *   is (so that small vessels stay visible at a tenth of the size). Labels: `polygons.jsonl`'s
 *   `blood_vessel` polygons rasterised like `prepare`. Predictions: the model at its training
 *   scale, vessel where `p > threshold` (the run's), as `deno task predict`. With both, pixels
 *   where they agree, labelled only and predicted only have their own colours.
 * - **Gaps**: a tile listed for the slide whose image file is missing is hatched grey and counted.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { readImage } from "../data/image.ts";
import { readPolygons, readTileMeta, type TileMeta } from "../data/kaggle.ts";
import { rasterizePolygons } from "../data/rasterize.ts";
import { findTile, kaggleLayout } from "../data/tiles.ts";
import { UsageError } from "../errors.ts";
import { binarize } from "../metrics/binarize.ts";
import type { InferenceMeta } from "../model/artifact.ts";
import { predictProbabilitiesAsync } from "../predict/predict.ts";
import { drawText, GLYPH_H, textWidth } from "../report/bitmap_font.ts";

/** Overlay colours (RGB): labelled, predicted, both; hatching of missing tiles. */
export const MOSAIC_COLOURS = {
  label: [30, 200, 60],
  prediction: [0, 190, 255],
  both: [250, 220, 0],
  gap: [150, 150, 150],
} as const;

/** A model to overlay: the loaded network and its inference metadata. */
export interface MosaicModel {
  model: tf.LayersModel;
  inference: InferenceMeta;
  /** Shown in the legend. */
  name: string;
}

/** Options of {@linkcode renderMosaic}. */
export interface MosaicOptions {
  /** Kaggle-layout folder (`tile_meta.csv`, `train/`, `polygons.jsonl`). */
  data: string;
  /** `source_wsi` of the slide. */
  wsi: number;
  /** Width of the slide area of the picture, pixels (at most the slide's width). */
  widthPx: number;
  /** Overlay the labelled vessels. */
  labels: boolean;
  model?: MosaicModel;
  /** Called after each tile with (done, total). */
  onTile?: (done: number, total: number) => void;
}

/** The picture and what went into it. */
export interface Mosaic {
  rgb: Uint8Array;
  width: number;
  height: number;
  tiles: number;
  missing: string[];
  /** Slide pixels per picture pixel. */
  slidePxPerPx: number;
}

/** The tiles of slide `wsi`, or a `UsageError` naming the slides there are. */
async function slideTiles(tileMetaPath: string, wsi: number): Promise<TileMeta[]> {
  const meta = await readTileMeta(tileMetaPath);
  const tiles = [...meta.values()].filter((t) => t.sourceWsi === wsi);
  if (tiles.length === 0) {
    const slides = [...new Set([...meta.values()].map((t) => t.sourceWsi))].sort((a, b) => a - b);
    throw new UsageError(
      `--wsi ${wsi}: no tile of that slide in ${tileMetaPath} (slides there: ${slides.join(", ")})`,
    );
  }
  return tiles.sort((a, b) => a.j - b.j || a.i - b.i);
}

/** The `blood_vessel` rings of each of `ids` in `polygons.jsonl`. */
async function vesselRings(
  path: string,
  ids: Set<string>,
): Promise<Map<string, [number, number][][][]>> {
  const out = new Map<string, [number, number][][][]>();
  for await (const t of readPolygons(path)) {
    if (!ids.has(t.id)) continue;
    out.set(t.id, t.annotations.filter((a) => a.type === "blood_vessel").map((a) => a.rings));
  }
  return out;
}

/**
 * Renders the mosaic (see the module doc); the legend is added by {@linkcode withLegend}.
 */
export async function renderMosaic(opts: MosaicOptions): Promise<Mosaic> {
  const layout = kaggleLayout(opts.data);
  const tiles = await slideTiles(layout.tileMeta, opts.wsi);
  const labels = opts.labels
    ? await vesselRings(layout.polygons, new Set(tiles.map((t) => t.id)))
    : undefined;
  const SIDE = 512;
  const x0 = Math.min(...tiles.map((t) => t.i)), y0 = Math.min(...tiles.map((t) => t.j));
  const x1 = Math.max(...tiles.map((t) => t.i + SIDE)),
    y1 = Math.max(...tiles.map((t) => t.j + SIDE));
  // picture px per slide px (never above 1: a mosaic does not upsample)
  const width = Math.min(opts.widthPx, x1 - x0);
  const s = width / (x1 - x0);
  const height = Math.max(1, Math.round((y1 - y0) * s));
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const missing: string[] = [];
  let done = 0;
  for (const t of tiles) {
    const path = await findTile(layout, t.id);
    // the picture pixels whose centres fall in the tile
    const px0 = Math.ceil((t.i - x0) * s - 0.5), py0 = Math.ceil((t.j - y0) * s - 0.5);
    if (path === undefined) {
      missing.push(t.id);
      hatch(rgb, width, height, px0, py0, Math.round(SIDE * s), Math.round(SIDE * s));
      opts.onTile?.(++done, tiles.length);
      continue;
    }
    const img = await readImage(path);
    let labelMask: Uint8Array | undefined, predMask: Uint8Array | undefined;
    if (labels !== undefined) {
      labelMask = rasterizePolygons(
        new Uint8Array(img.width * img.height),
        img.width,
        img.height,
        labels.get(t.id) ?? [],
      );
    }
    if (opts.model !== undefined) {
      const { model, inference } = opts.model;
      const prob = await predictProbabilitiesAsync(model, img, {
        tileSizePx: inference.tileSizePx,
        scale: inference.scale,
        normalize: inference.normalize,
        tta: "none",
      });
      predMask = binarize(prob, inference.threshold);
    }
    // box-filter each picture pixel of the tile
    const pw = Math.ceil((t.i + img.width - x0) * s - 0.5) - px0;
    const ph = Math.ceil((t.j + img.height - y0) * s - 0.5) - py0;
    for (let py = 0; py < ph; py++) {
      const Y = py0 + py;
      if (Y < 0 || Y >= height) continue;
      const sy0 = Math.max(0, Math.ceil((Y / s) - (t.j - y0) - 0.5));
      const sy1 = Math.min(img.height, Math.ceil(((Y + 1) / s) - (t.j - y0) - 0.5));
      for (let px = 0; px < pw; px++) {
        const X = px0 + px;
        if (X < 0 || X >= width) continue;
        const sx0 = Math.max(0, Math.ceil((X / s) - (t.i - x0) - 0.5));
        const sx1 = Math.min(img.width, Math.ceil(((X + 1) / s) - (t.i - x0) - 0.5));
        let r = 0, g = 0, b = 0, n = 0, lab = 0, pred = 0;
        for (let y = sy0; y < sy1; y++) {
          for (let x = sx0; x < sx1; x++) {
            const k = y * img.width + x;
            r += img.rgb[3 * k], g += img.rgb[3 * k + 1], b += img.rgb[3 * k + 2];
            n++;
            if (labelMask?.[k]) lab = 1;
            if (predMask?.[k]) pred = 1;
          }
        }
        if (n === 0) continue;
        let c: [number, number, number] = [r / n, g / n, b / n];
        const over = lab && pred
          ? MOSAIC_COLOURS.both
          : lab
          ? MOSAIC_COLOURS.label
          : pred
          ? MOSAIC_COLOURS.prediction
          : undefined;
        if (over !== undefined) c = c.map((v, ch) => 0.35 * v + 0.65 * over[ch]) as typeof c;
        const o = (Y * width + X) * 3;
        rgb[o] = Math.round(c[0]), rgb[o + 1] = Math.round(c[1]), rgb[o + 2] = Math.round(c[2]);
      }
    }
    opts.onTile?.(++done, tiles.length);
  }
  return { rgb, width, height, tiles: tiles.length, missing, slidePxPerPx: 1 / s };
}

/** Grey diagonal stripes over a rectangle (a missing tile). */
function hatch(
  rgb: Uint8Array,
  width: number,
  height: number,
  x: number,
  y: number,
  w: number,
  h: number,
) {
  for (let yy = Math.max(0, y); yy < Math.min(height, y + h); yy++) {
    for (let xx = Math.max(0, x); xx < Math.min(width, x + w); xx++) {
      const on = (xx - x + yy - y) % 6 < 2;
      const v = on ? MOSAIC_COLOURS.gap : [235, 235, 235];
      const o = (yy * width + xx) * 3;
      rgb[o] = v[0], rgb[o + 1] = v[1], rgb[o + 2] = v[2];
    }
  }
}

/** Legend lines: a title, the colour keys present, a scale bar and its note. */
export function withLegend(
  m: Mosaic,
  opts: { wsi: number; labels: boolean; model?: string },
): { rgb: Uint8Array; width: number; height: number } {
  const scale = m.width >= 600 ? 2 : 1;
  const line = (GLYPH_H + 4) * scale;
  const keys: [string, readonly number[]][] = [];
  if (opts.labels) keys.push(["labelled vessel", MOSAIC_COLOURS.label]);
  if (opts.model !== undefined) keys.push(["predicted vessel", MOSAIC_COLOURS.prediction]);
  if (opts.labels && opts.model !== undefined) keys.push(["both", MOSAIC_COLOURS.both]);
  if (m.missing.length > 0) keys.push(["missing tile", MOSAIC_COLOURS.gap]);
  const lines = 3 + (opts.model !== undefined ? 1 : 0);
  const legendH = lines * line + 8 * scale;
  const width = m.width, height = m.height + legendH;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  rgb.set(m.rgb);
  const black = [20, 20, 20] as const;
  let y = m.height + 4 * scale;
  const x = 4 * scale;
  drawText(
    rgb,
    width,
    height,
    x,
    y,
    `slide ${opts.wsi}: ${m.tiles} tiles` +
      (m.missing.length ? `, ${m.missing.length} missing` : ""),
    black,
    scale,
  );
  y += line;
  let kx = x;
  for (const [name, colour] of keys) {
    for (let yy = y; yy < y + GLYPH_H * scale; yy++) {
      for (let xx = kx; xx < kx + GLYPH_H * scale && xx < width; xx++) {
        const o = (yy * width + xx) * 3;
        rgb[o] = colour[0], rgb[o + 1] = colour[1], rgb[o + 2] = colour[2];
      }
    }
    drawText(rgb, width, height, kx + (GLYPH_H + 3) * scale, y, name, black, scale);
    kx += (GLYPH_H + 3) * scale + textWidth(name, scale) + 12 * scale;
  }
  y += line;
  // scale bar: a round number of slide pixels about a fifth of the picture wide
  const target = (m.width / 5) * m.slidePxPerPx;
  const nice = [100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000].find((v) => v >= target) ??
    100000;
  const barPx = Math.max(1, Math.round(nice / m.slidePxPerPx));
  for (let yy = y + 2 * scale; yy < y + 5 * scale; yy++) {
    for (let xx = x; xx < Math.min(width, x + barPx); xx++) {
      const o = (yy * width + xx) * 3;
      rgb[o] = rgb[o + 1] = rgb[o + 2] = 20;
    }
  }
  drawText(
    rgb,
    width,
    height,
    x + barPx + 6 * scale,
    y,
    `${nice} slide px (1 px = ${m.slidePxPerPx.toFixed(2)} slide px)`,
    black,
    scale,
  );
  if (opts.model !== undefined) {
    y += line;
    drawText(rgb, width, height, x, y, `model: ${opts.model}`, black, scale);
  }
  return { rgb, width, height };
}
