/**
 * The prepared-dataset contract between `deno task prepare` (writer) and the stages that read it
 * (baseline, train, evaluate): `manifest.json` plus raw shards with a fixed stride per tile.
 *
 * Layout of a prepared directory:
 * - `manifest.json` — {@linkcode Manifest}
 * - `images.u8` — tile `k` (its `index`) at byte offset `k * imageStride`, `tileSizePx²·3` bytes,
 *   RGB, row-major HWC, 0–255.
 * - `masks.u8` — blood_vessel mask of tile `k` at `k * maskStride`, `tileSizePx²` bytes, 0 or 1
 *   (and 2, "ignore", in sets prepared with `--ignore`: see `src/mask.ts`).
 * - `masks_<class>.u8` for any further classes asked for (`glomerulus`, `unsure`).
 * - `masks/{id}.png` — the same blood_vessel masks as 8-bit 0/255 PNGs, for people
 *   (`masks_<class>/{id}.png` for further classes).
 * - `.work/journal.jsonl` — what `prepare` finished, so that a re-run reuses it (not read by
 *   consumers; `manifest.json` is written last, so a directory with a manifest is complete).
 *
 * @module
 */

/** Which split a prepared tile belongs to. */
export type Split = "train" | "val";

/** One tile in the manifest. */
export interface PreparedTile {
  /** Kaggle tile id (12 hex digits). */
  id: string;
  /** Slot in the shards: byte offset is `index * stride`. */
  index: number;
  split: Split;
  sourceWsi: number;
  dataset: number;
  /** Pixels set in the blood_vessel mask at the prepared scale. */
  vesselPx: number;
  /** Size of the source image before scaling. */
  sourceWidth: number;
  sourceHeight: number;
}

/** Per-channel statistics on a 0–1 scale. */
export interface ChannelStats {
  mean: [number, number, number];
  std: [number, number, number];
  /** Which split they were computed on (always "train": computing on all tiles leaks val). */
  computedOn: Split;
  /** Number of tiles they were computed from. */
  tiles: number;
}

/** The file in a synthetic dataset's folder (`deno task synth`) that marks it as synthetic. */
export const SYNTH_MARKER = "synth.json";

/** Where a prepared set's tiles came from. */
export interface DataSource {
  /** The Kaggle-layout folder given to `prepare --data`. */
  data: string;
  /** True when that folder was written by `deno task synth` (it holds {@linkcode SYNTH_MARKER}). */
  synthetic: boolean;
}

/** `manifest.json` of a prepared directory. */
export interface Manifest {
  format: "vessel-seg-prepared";
  formatVersion: 1;
  tool: { name: string; version: string };
  /** The exact command line (`Deno.args`), the resolved options and the seed. */
  command: string[];
  options: Record<string, unknown>;
  seed: number;
  /** Downscale factor applied (1, 0.5, 0.25). */
  scale: number;
  /** Side of every prepared tile in pixels (tiles are square). */
  tileSizePx: number;
  /** Mask classes written; `blood_vessel` is always first and lives in `masks.u8`. */
  classes: string[];
  shards: {
    images: string;
    /** class name → shard file name. */
    masks: Record<string, string>;
    imageStride: number;
    maskStride: number;
  };
  /** How the tiles were split; `fold` adds the fold plan (`folds`, `fold`, `plan`). */
  split: {
    method: "random" | "wsi" | "fold";
    valFraction: number;
    folds?: number;
    fold?: number;
    plan?: { fold: number; slides: number[]; tiles: number }[];
  };
  /** Kaggle datasets kept (`--datasets`); absent: all. */
  datasets?: number[];
  /** Classes whose pixels are "ignore" (value 2) in the blood_vessel masks (`--ignore`). */
  ignore?: string[];
  stats: ChannelStats;
  tiles: PreparedTile[];
  /** Counts for the summary table. */
  summary: Record<string, number>;
  /** Inputs skipped with `--skip-invalid`, one entry each, with the error line. */
  skipped: { file: string; line?: number; message: string }[];
  /**
   * Annotated tiles whose image is not 512×512: left out of the fixed-stride shards and of
   * `masks/` (resampling would change their annotation geometry), listed here and counted and
   * named in the printed summary.
   */
  nonStandardTiles?: { id: string; width: number; height: number }[];
  /** sha256 of every input file read (relative path → hex). */
  inputHashes: Record<string, string>;
  /** Absent in sets prepared before it was recorded. */
  source?: DataSource;
}

/** A prepared tile read back from the shards. */
export interface PreparedSample {
  tile: PreparedTile;
  /** [tileSizePx, tileSizePx, 3] uint8 RGB, row-major. */
  rgbHWC: Uint8Array;
  /** [tileSizePx, tileSizePx] uint8, 0 or 1. */
  maskU8: Uint8Array;
}
