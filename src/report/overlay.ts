/**
 * Overlays for looking at segmentations: a tile with the truth outline and the prediction
 * blended on top, a tile with true positives / false positives / false negatives in three
 * colours, and a contact sheet that lays several such images out in a grid. Pure functions over
 * RGB `Uint8Array`s (HWC); `encodePng` from `src/data/png.ts` writes them.
 *
 * Colours (Okabe & Ito's colour-blind-safe palette, chosen to stand out on purple PAS stain):
 * truth outline bluish green, prediction yellow; TP bluish green, FP vermillion, FN blue; ignored
 * truth pixels (`--ignore` sets, `src/mask.ts`) dark grey, which stands out on the purple stain,
 * in both overlays, whatever the prediction there.
 *
 * @module
 */

import { IGNORE_U8, VESSEL_U8 } from "../mask.ts";

/** An 8-bit RGB colour. */
export type Rgb = readonly [number, number, number];

/** The colours the overlays use. */
export const OVERLAY_COLOURS = {
  truthOutline: [0, 158, 115] as Rgb,
  prediction: [240, 228, 66] as Rgb,
  tp: [0, 158, 115] as Rgb,
  fp: [213, 94, 0] as Rgb,
  fn: [0, 114, 178] as Rgb,
  ignore: [40, 40, 40] as Rgb,
} as const;

/** An RGB image: `width * height * 3` bytes, row-major HWC. */
export interface RgbPicture {
  width: number;
  height: number;
  rgb: Uint8Array;
}

function checkSizes(rgb: Uint8Array, width: number, height: number, masks: Uint8Array[]): void {
  const n = width * height;
  if (rgb.length !== n * 3) {
    throw new RangeError(
      `overlay: image has ${rgb.length} bytes, ${width}×${height}×3 is ${n * 3}`,
    );
  }
  for (const m of masks) {
    if (m.length !== n) throw new RangeError(`overlay: mask has ${m.length} pixels, need ${n}`);
  }
}

/**
 * The outline of a mask: set pixels with at least one 4-neighbour unset. Pixels beyond the image
 * edge count as unset, so a vessel cut by the tile edge is closed along the edge.
 *
 * @example
 * ```ts
 * import { outline } from "./overlay.ts";
 * const m = new Uint8Array(9).fill(1); // 3×3 all set: only the centre is interior
 * console.assert(outline(m, 3, 3).join() === "1,1,1,1,0,1,1,1,1");
 * ```
 */
export function outline(maskU8: Uint8Array, width: number, height: number): Uint8Array {
  if (maskU8.length !== width * height) {
    throw new RangeError(`outline: mask has ${maskU8.length} pixels, need ${width * height}`);
  }
  const out = new Uint8Array(maskU8.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!maskU8[i]) continue;
      if (
        x === 0 || y === 0 || x === width - 1 || y === height - 1 ||
        !maskU8[i - 1] || !maskU8[i + 1] || !maskU8[i - width] || !maskU8[i + width]
      ) out[i] = 1;
    }
  }
  return out;
}

/** `(1 − alpha)·base + alpha·colour`, rounded, on pixel `i` of `rgb` (in place). */
function blend(rgb: Uint8Array, i: number, c: Rgb, alpha: number): void {
  const j = i * 3;
  rgb[j] = Math.round((1 - alpha) * rgb[j] + alpha * c[0]);
  rgb[j + 1] = Math.round((1 - alpha) * rgb[j + 1] + alpha * c[1]);
  rgb[j + 2] = Math.round((1 - alpha) * rgb[j + 2] + alpha * c[2]);
}

/**
 * The tile with the prediction blended in (`alpha`, default 0.45) and the truth outline drawn
 * opaque on top. Returns a new image; the input is not changed.
 *
 * @example
 * ```ts
 * import { predictionOverlay } from "./overlay.ts";
 * const rgb = new Uint8Array(3 * 4).fill(255);
 * const o = predictionOverlay(rgb, 2, 2, new Uint8Array(4), new Uint8Array([1, 0, 0, 0]), { alpha: 1 });
 * console.assert(o[0] === 240 && o[3] === 255);
 * ```
 */
export function predictionOverlay(
  rgbHWC: Uint8Array,
  width: number,
  height: number,
  truth: Uint8Array,
  pred: Uint8Array,
  opts: { alpha?: number } = {},
): Uint8Array {
  checkSizes(rgbHWC, width, height, [truth, pred]);
  const alpha = opts.alpha ?? 0.45;
  const out = rgbHWC.slice();
  for (let i = 0; i < pred.length; i++) {
    if (truth[i] === IGNORE_U8) blend(out, i, OVERLAY_COLOURS.ignore, alpha);
    else if (pred[i]) blend(out, i, OVERLAY_COLOURS.prediction, alpha);
  }
  const vessel = truth.some((v) => v === IGNORE_U8)
    ? truth.map((v) => (v === VESSEL_U8 ? 1 : 0))
    : truth;
  const edge = outline(vessel, width, height);
  for (let i = 0; i < edge.length; i++) if (edge[i]) blend(out, i, OVERLAY_COLOURS.truthOutline, 1);
  return out;
}

/**
 * The tile with TP, FP and FN pixels blended in three colours (`alpha`, default 0.6); true
 * negatives keep the tile's colour.
 *
 * @example
 * ```ts
 * import { confusionOverlay, OVERLAY_COLOURS } from "./overlay.ts";
 * const rgb = new Uint8Array(4 * 3);
 * const o = confusionOverlay(rgb, 4, 1, new Uint8Array([1, 1, 0, 0]), new Uint8Array([1, 0, 1, 0]), { alpha: 1 });
 * console.assert(o[0] === OVERLAY_COLOURS.tp[0] && o[9] === 0);
 * ```
 */
export function confusionOverlay(
  rgbHWC: Uint8Array,
  width: number,
  height: number,
  truth: Uint8Array,
  pred: Uint8Array,
  opts: { alpha?: number } = {},
): Uint8Array {
  checkSizes(rgbHWC, width, height, [truth, pred]);
  const alpha = opts.alpha ?? 0.6;
  const out = rgbHWC.slice();
  const { tp, fp, fn } = OVERLAY_COLOURS;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] !== 0, t = truth[i] !== 0;
    if (truth[i] === IGNORE_U8) blend(out, i, OVERLAY_COLOURS.ignore, alpha);
    else if (p && t) blend(out, i, tp, alpha);
    else if (p) blend(out, i, fp, alpha);
    else if (t) blend(out, i, fn, alpha);
  }
  return out;
}

/**
 * Lays images out left to right, top to bottom, `columns` per row, `gapPx` (default 4) of
 * `background` (default white) between and around them; each cell is as large as the largest
 * image, images sit at its top-left.
 *
 * @example
 * ```ts
 * import { contactSheet } from "./overlay.ts";
 * const img = { width: 2, height: 2, rgb: new Uint8Array(12) };
 * const s = contactSheet([img, img, img], { columns: 2, gapPx: 1 });
 * console.assert(s.width === 7 && s.height === 7);
 * ```
 */
export function contactSheet(
  images: RgbPicture[],
  opts: { columns?: number; gapPx?: number; background?: Rgb } = {},
): RgbPicture {
  if (images.length === 0) throw new RangeError("contactSheet: no images");
  const columns = Math.max(1, Math.min(opts.columns ?? images.length, images.length));
  const gap = opts.gapPx ?? 4;
  const bg = opts.background ?? [255, 255, 255];
  const cellW = Math.max(...images.map((i) => i.width));
  const cellH = Math.max(...images.map((i) => i.height));
  const rows = Math.ceil(images.length / columns);
  const width = columns * cellW + (columns + 1) * gap;
  const height = rows * cellH + (rows + 1) * gap;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(bg, i * 3);
  images.forEach((img, k) => {
    if (img.rgb.length !== img.width * img.height * 3) {
      throw new RangeError(
        `contactSheet: image ${k} has ${img.rgb.length} bytes for ${img.width}×${img.height}`,
      );
    }
    const x0 = gap + (k % columns) * (cellW + gap),
      y0 = gap + Math.floor(k / columns) * (cellH + gap);
    for (let y = 0; y < img.height; y++) {
      rgb.set(
        img.rgb.subarray(y * img.width * 3, (y + 1) * img.width * 3),
        ((y0 + y) * width + x0) * 3,
      );
    }
  });
  return { width, height, rgb };
}

/**
 * The three panels shown for an example tile: the tile, the truth's outline over the predicted
 * mask ({@linkcode predictionOverlay}), and TP/FP/FN colours ({@linkcode confusionOverlay}).
 *
 * @example
 * ```ts
 * import { overlayPanels } from "./overlay.ts";
 * const p = overlayPanels(new Uint8Array(12), 2, new Uint8Array(4), new Uint8Array(4));
 * console.assert(p.length === 3 && p[2].width === 2);
 * ```
 */
export function overlayPanels(
  rgbHWC: Uint8Array,
  sizePx: number,
  truthU8: Uint8Array,
  predU8: Uint8Array,
): RgbPicture[] {
  const panel = (rgb: Uint8Array) => ({ width: sizePx, height: sizePx, rgb });
  return [
    panel(rgbHWC),
    panel(predictionOverlay(rgbHWC, sizePx, sizePx, truthU8, predU8)),
    panel(confusionOverlay(rgbHWC, sizePx, sizePx, truthU8, predU8)),
  ];
}

/** A 0/1 mask as a grey RGB picture (1 → white; ignore → mid grey), for contact sheets. */
export function maskToRgb(maskU8: Uint8Array): Uint8Array {
  const rgb = new Uint8Array(maskU8.length * 3);
  for (let i = 0; i < maskU8.length; i++) {
    if (maskU8[i]) rgb.fill(maskU8[i] === IGNORE_U8 ? 128 : 255, i * 3, i * 3 + 3);
  }
  return rgb;
}
