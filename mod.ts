/**
 * vessel-seg: train and evaluate blood-vessel segmenters for PAS-stained kidney tiles in the data
 * layout of the Kaggle competition "HuBMAP – Hacking the Human Vasculature".
 *
 * The public API, by pipeline stage:
 * - data: Kaggle readers (`readPolygons`, `readTileMeta`, `readWsiMeta`, `readTiles`), image
 *   codecs (`decodeImage`, `readImage`, `encodePng`, `encodeTiff`), rasterising
 *   (`rasterizePolygons`), area downscaling, splits, statistics, the prepared-data reader
 *   (`openPrepared`) and the synthetic generator;
 * - metrics: `confusion` → `dice`, `iou`, … and the `micro` / `per-image` / `seed` reductions;
 * - baselines: Otsu (`otsuThreshold`, `otsuMask`) and the trivial masks;
 * - model: `buildUNet`, the losses, the checkpoint artifact (`loadArtifact`, `resolveCheckpoint`),
 *   scoring a model on prepared tiles (`scoreModel`, `validate`) and `initBackend`;
 * - training: the separate export `@vessel-seg/vessel-seg/train` (`src/train/mod.ts`): `train`,
 *   `resume`, `makeConfig` and the presets;
 * - every stage's CLI as `tasks/<stage>.ts` exporting `main(args)`.
 *
 * @example
 * ```ts
 * import { confusion, dice } from "./mod.ts";
 * const c = confusion(new Uint8Array([1, 1, 0, 0]), new Uint8Array([1, 0, 1, 0]));
 * console.assert(dice(c) === 0.5);
 * ```
 *
 * @module
 */
export * from "./src/errors.ts";
export * from "./src/rng.ts";
export * from "./src/data/image.ts";
export * from "./src/data/png.ts";
export * from "./src/data/tiff_write.ts";
export * from "./src/data/kaggle.ts";
export * from "./src/data/tiles.ts";
export * from "./src/data/rasterize.ts";
export * from "./src/data/resize.ts";
export * from "./src/data/split.ts";
export * from "./src/data/stats.ts";
export * from "./src/data/prepared.ts";
export * from "./src/data/prepared_io.ts";
export * from "./src/data/synth_dataset.ts";
export * from "./src/metrics/confusion.ts";
export * from "./src/metrics/scores.ts";
export * from "./src/metrics/reduce.ts";
export * from "./src/baseline/otsu.ts";
export * from "./src/baseline/trivial.ts";
export * from "./src/model/unet.ts";
export * from "./src/model/losses.ts";
export * from "./src/model/run_config.ts";
export * from "./src/model/artifact.ts";
export * from "./src/model/score.ts";
export * from "./src/metrics/binarize.ts";
export * from "./src/data/input.ts";
export * from "./src/runtime/backends.ts";
