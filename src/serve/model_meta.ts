/**
 * The contract between `deno task serve` and the browser page: `GET /model/meta.json`. A type
 * only, so the page's bundle imports nothing else from the server.
 *
 * @module
 */

/** What the page needs to know about a model: `GET /model/meta.json` from `deno task serve`. */
export interface ModelMeta {
  /** Side of the training tiles in pixels, after the prepare scale. */
  tileSizePx: number;
  /** The prepare scale (`0.5` = tiles were area-downscaled by 2 before training). */
  scale: number;
  /** Input sides must be multiples of `2^depth` (U-Net down-steps). */
  depth: number;
  /** Per-channel training mean/std on the 0–1 scale; absent for `--normalize none`. */
  normalize?: { mean: number[]; std: number[] };
  /** Probability threshold: a pixel is vessel when `p > threshold` (as in validation). */
  threshold: number;
  /** Checkpoint the files come from, for display. */
  checkpoint: string;
  /** Epochs the checkpoint was trained for. */
  epoch: number;
  /** What the model was trained on and how it validated, in one line. */
  trainedOn: string;
  /** Trained on synthetic demo data (the page warns: it does not transfer to real tiles);
   * null when the checkpoint does not say. */
  synthetic: boolean | null;
}
