/**
 * Predicted vessels as polygons, for the tools people use them in:
 *
 * - **GeoJSON** (`geojson/{id}.geojson`, RFC 7946), one FeatureCollection per tile as QuPath
 *   imports it (File → Import objects): each instance a Feature whose Polygon is the outline and
 *   its holes, with `objectType: "annotation"`, `classification: {name: "blood_vessel"}`, its
 *   mean probability and its area in pixels (also as QuPath `measurements`). Coordinates are in
 *   the tile's full-resolution pixels with QuPath's convention: `(0, 0)` is the top-left
 *   **corner** of the top-left pixel, so pixel `(x, y)` covers `[x, x+1] × [y, y+1]`.
 * - **`polygons.jsonl`**, the competition's annotation file (`type: "blood_vessel"`), readable by
 *   `deno task prepare` as labels (pseudo-labels). Its coordinates follow the convention
 *   `prepare` rasterises with (`src/data/rasterize.ts`, OpenCV's `fillPoly`): pixel `(x, y)` has
 *   its **centre** at `(x, y)`. The two files differ by exactly ½ pixel on both axes. Each
 *   annotation also carries `confidence` (its mean probability), a key `prepare` ignores.
 *
 * Instances are the 8-connected components of `probability > threshold` (as the submission's,
 * `./instances.ts`, with `minArea` applied and no dilation); outlines are traced and simplified
 * by `src/data/contours.ts`.
 *
 * @module
 */
import { closeRing, type Point, tracePolygon } from "../data/contours.ts";
import { extractInstances } from "./instances.ts";

/** Default Douglas–Peucker tolerance of the outlines, pixels (`--simplify`). */
export const DEFAULT_SIMPLIFY_PX = 0.5;

/** One predicted vessel as a polygon. */
export interface VesselPolygon {
  /** Outline then holes, open rings, pixel-centre convention (`src/data/rasterize.ts`). */
  rings: Point[][];
  /** Pixels of the instance. */
  areaPx: number;
  /** Mean probability over its pixels. */
  meanProbability: number;
}

/** Options of {@linkcode vesselPolygons}. */
export interface VesselPolygonOptions {
  /** Vessel when probability > threshold. */
  threshold: number;
  /** Drop instances under this many pixels. Default 0. */
  minArea?: number;
  /** Douglas–Peucker tolerance, pixels. Default {@linkcode DEFAULT_SIMPLIFY_PX}. */
  simplifyPx?: number;
}

/**
 * The vessels of a probability map as polygons, in the instances' order (raster order of their
 * first pixel).
 *
 * @example
 * ```ts
 * import { vesselPolygons } from "./vectors.ts";
 * const prob = new Float32Array(16); // 4×4, one 2×2 vessel
 * for (const i of [5, 6, 9, 10]) prob[i] = 0.9;
 * const [v] = vesselPolygons(prob, 4, 4, { threshold: 0.5 });
 * console.assert(v.areaPx === 4 && v.rings.length === 1);
 * ```
 */
export function vesselPolygons(
  probF32: Float32Array,
  width: number,
  height: number,
  opts: VesselPolygonOptions,
): VesselPolygon[] {
  const found = extractInstances(probF32, width, height, {
    threshold: opts.threshold,
    minArea: opts.minArea ?? 0,
  });
  return found.map((inst) => ({
    rings: tracePolygon(inst.pixels, width, {
      tolerancePx: opts.simplifyPx ?? DEFAULT_SIMPLIFY_PX,
    }).rings,
    areaPx: inst.pixels.length,
    meanProbability: inst.confidence,
  }));
}

/** A GeoJSON FeatureCollection (the subset written here). */
export interface FeatureCollection {
  type: "FeatureCollection";
  features: {
    type: "Feature";
    geometry: { type: "Polygon"; coordinates: number[][][] };
    properties: Record<string, unknown>;
  }[];
}

/** Rounds away float noise; coordinates here are multiples of ½. */
const r6 = (v: number) => Math.round(v * 1e6) / 1e6;

/**
 * The GeoJSON of one tile's vessels (see the module doc for the coordinates).
 *
 * @example
 * ```ts
 * import { tileGeoJson } from "./vectors.ts";
 * const fc = tileGeoJson([{ rings: [[[1, 0.5], [0.5, 1], [1, 1.5], [1.5, 1]]], areaPx: 1, meanProbability: 0.9 }]);
 * // pixel (1, 1)'s diamond, shifted by ½ to pixel corners and closed
 * console.assert(fc.features[0].geometry.coordinates[0].length === 5);
 * ```
 */
export function tileGeoJson(vessels: readonly VesselPolygon[]): FeatureCollection {
  return {
    type: "FeatureCollection",
    features: vessels.map((v, k) => ({
      type: "Feature",
      geometry: {
        type: "Polygon",
        coordinates: v.rings.map((ring) =>
          closeRing(ring).map(([x, y]) => [r6(x + 0.5), r6(y + 0.5)])
        ),
      },
      properties: {
        objectType: "annotation",
        name: `vessel ${k + 1}`,
        classification: { name: "blood_vessel", color: [220, 40, 40] },
        meanProbability: r6(v.meanProbability),
        areaPx: v.areaPx,
        measurements: { "Mean probability": r6(v.meanProbability), "Area px": v.areaPx },
      },
    })),
  };
}

/**
 * One line of `polygons.jsonl` for tile `id` (no line end).
 *
 * @example
 * ```ts
 * import { polygonsJsonLine } from "./vectors.ts";
 * const line = polygonsJsonLine("t1", [{ rings: [[[1, 0.5], [0.5, 1], [1, 1.5], [1.5, 1]]], areaPx: 1, meanProbability: 0.9 }]);
 * console.assert(JSON.parse(line).annotations[0].type === "blood_vessel");
 * ```
 */
export function polygonsJsonLine(id: string, vessels: readonly VesselPolygon[]): string {
  return JSON.stringify({
    id,
    annotations: vessels.map((v) => ({
      type: "blood_vessel",
      coordinates: v.rings.map((ring) => ring.map(([x, y]) => [r6(x), r6(y)])),
      confidence: r6(v.meanProbability),
    })),
  });
}
