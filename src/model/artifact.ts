/**
 * The model artifact: the only code that reads and writes checkpoints and resolves what a user
 * names (`RUN`, `RUN/checkpoints/NAME`, a checkpoint folder) to one. `train` writes and resumes
 * through it; `evaluate`, `predict`, `serve` and the experiment runner load through it.
 *
 * A checkpoint is a folder under `RUN/checkpoints/` (`epoch-NNNN/`, `interrupted/`):
 *
 * - `model.json` + `weights.bin` — the TensorFlow.js LayersModel format, loadable with
 *   `tf.loadLayersModel("…/model.json")` in a browser (batch-norm running statistics included);
 * - `optimizer.bin` — the optimizer's slot tensors, float32, in the order listed in `state.json`;
 * - `state.json` — epoch, position inside the epoch, step, RNG state, elapsed time, the optimizer
 *   slot layout, the run's whole config (nanoGPT: a checkpoint carries its config) and the
 *   inference metadata (tile size, prepare scale, normalisation statistics, threshold), so that
 *   inference needs nothing but the checkpoint. Checkpoints written before that field existed
 *   take it from the prepared manifest their config names.
 *
 * A checkpoint is written into a temporary folder and renamed into place; `latest.json` is
 * updated (atomically) only after that, so a crash never leaves a half-written checkpoint in use.
 * Every file is checked where it is read, and each problem is one `InputError` naming the file
 * and the field.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { basename, join } from "node:path";
import { InputError } from "../errors.ts";
import { exists, readInputFile, readJson, writeFileAtomic, writeJsonAtomic } from "../io.ts";
import { normalizationFor } from "../data/input.ts";
import type { Manifest } from "../data/prepared.ts";
import { readManifest } from "../data/prepared_io.ts";
import { isThreshold } from "../metrics/binarize.ts";
import { configProblem, LATER_FIELDS, type TrainConfig } from "./run_config.ts";

/** Where training stands, saved with every checkpoint. */
export interface TrainState {
  /** Epochs fully done. */
  epoch: number;
  /** Batches done inside epoch `epoch + 1` (non-zero only for an interrupted epoch). */
  batchInEpoch: number;
  /** Optimizer steps done. */
  step: number;
  /** Data-order RNG state at the start of epoch `epoch + 1`. */
  rngState: number[];
  /** Seconds of training wall time before this checkpoint (relative time continues on resume). */
  elapsedS: number;
  /** Sum and count of batch losses of the interrupted epoch so far. */
  partialLoss: { sum: number; tiles: number };
  /** The backend the run was on. */
  backend: string;
  /** The best validation `select` score so far, its epoch, and validations since without a
   * better one (absent before the first validation, and in runs older than `--select`). */
  best?: { value: number; epoch: number; since: number };
  /** `--lr-schedule plateau`'s state: lowest validation loss (null before the first), the
   * validations since, the current rate. */
  plateau?: { best: number | null; bad: number; lr: number };
}

/** The optimizer's state as plain arrays (see `src/train/optim.ts`). */
export interface OptimizerState {
  name: string;
  step: number;
  slots: Record<string, { shape: number[]; values: Float32Array }[]>;
}

/** What inference needs besides the weights. */
export interface InferenceMeta {
  /** Side of the square tiles the model was trained on, at model scale. */
  tileSizePx: number;
  /** The prepare scale (1, 0.5, 0.25): images are downscaled by `1/scale` first. */
  scale: number;
  /** Training-split per-channel statistics on the 0–1 scale; `null` for `--normalize none`. */
  normalize: { mean: number[]; std: number[] } | null;
  /** The probability threshold the run validated with. */
  threshold: number;
}

/** What a model was trained on, saved with every checkpoint (absent in older ones). */
export interface Provenance {
  /** The prepared set (`config.prepared`). */
  prepared: string;
  /** The Kaggle-layout folder it was prepared from; null when the set predates the record. */
  data: string | null;
  /** Made by `deno task synth` (a model trained there does not transfer to real tissue); null:
   * not recorded. */
  synthetic: boolean | null;
  trainTiles: number;
  valTiles: number;
  /** How the set was split: `random`, `wsi`, or `fold K/N`. */
  split: string;
  /** Kaggle datasets kept (`prepare --datasets`); absent: all. */
  datasets?: number[];
}

/** The validation scores of the weights a checkpoint holds (when a validation ran on them). */
export interface CheckpointValidation {
  epoch: number;
  /** Micro DSC and IoU at the run's threshold, per-image DSC, over `tiles` validation tiles. */
  dsc: number;
  iou: number;
  perImageDsc: number;
  tiles: number;
}

/** `state.json` of a checkpoint. */
export interface CheckpointFile {
  format: "vessel-seg-checkpoint";
  formatVersion: 1;
  state: TrainState;
  config: TrainConfig;
  optimizer: {
    name: string;
    step: number;
    /** Slot name → shapes of its arrays, in variable order; values are in `optimizer.bin`. */
    slots: Record<string, number[][]>;
  };
  /** Absent in checkpoints written before it was added (then read from the manifest). */
  inference?: InferenceMeta;
  /** Absent in checkpoints written before it was added (then read from the manifest, if there). */
  provenance?: Provenance;
  /** Absent when no validation ran on these exact weights (or in older checkpoints). */
  validation?: CheckpointValidation;
}

/** `RUN/checkpoints/latest.json`: which checkpoint to resume from. */
export interface LatestPointer {
  name: string;
  epoch: number;
  batchInEpoch: number;
}

/** The checkpoints folder of a run. */
export function checkpointsDir(run: string): string {
  return join(run, "checkpoints");
}

/**
 * Name of the checkpoint after `epoch` complete epochs.
 *
 * @example
 * ```ts
 * import { epochCheckpointName } from "./artifact.ts";
 * console.assert(epochCheckpointName(8) === "epoch-0008");
 * ```
 */
export function epochCheckpointName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, "0")}`;
}

const EPOCH_DIR = /^epoch-(\d+)$/;
const SAFE_NAME = /^[\w-][\w.-]*$/;

// ─── model.json + weights ──────────────────────────────────────────────────────────────────────

/** Serialises a model to `model.json` text and `weights.bin` bytes through a custom IOHandler. */
export async function modelFiles(
  model: tf.LayersModel,
): Promise<{ modelJson: string; weightsBin: Uint8Array }> {
  let out: { modelJson: string; weightsBin: Uint8Array } | undefined;
  const handler: tf.io.IOHandler = {
    save: (artifacts: tf.io.ModelArtifacts) => {
      const data = artifacts.weightData === undefined
        ? new ArrayBuffer(0)
        : tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]);
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as tf.io.ModelJSON["modelTopology"],
        format: "layers-model",
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs ?? [] }],
      };
      out = { modelJson: JSON.stringify(json), weightsBin: new Uint8Array(data) };
      return Promise.resolve({
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: data.byteLength,
        },
      });
    },
  };
  await model.save(handler);
  if (out === undefined) throw new Error("model.save did not call the save handler");
  return out;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/**
 * Reads and checks `dir/model.json`: JSON, a topology, weight file names that stay inside `dir`,
 * and weight specs whose sizes add up to the weight files' sizes. Returns the JSON and the weight
 * file names.
 */
export async function readModelJson(
  dir: string,
): Promise<{ json: tf.io.ModelJSON; files: string[] }> {
  const path = join(dir, "model.json");
  const json = await readJson<tf.io.ModelJSON>(path);
  if (json === null || typeof json !== "object" || typeof json.modelTopology !== "object") {
    throw new InputError(path, undefined, "not a TensorFlow.js model (no modelTopology)");
  }
  if (!Array.isArray(json.weightsManifest)) {
    throw new InputError(path, undefined, "field weightsManifest: expected an array");
  }
  const files: string[] = [];
  let expected = 0;
  for (const group of json.weightsManifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group.weights)) {
      throw new InputError(path, undefined, "weightsManifest entry without paths or weights");
    }
    for (const p of group.paths) {
      if (typeof p !== "string" || !SAFE_NAME.test(p)) {
        throw new InputError(path, undefined, `unsafe weight file name ${JSON.stringify(p)}`);
      }
      files.push(p);
    }
    for (const w of group.weights) {
      const bytes = DTYPE_BYTES[w?.dtype as string];
      if (!Array.isArray(w?.shape) || bytes === undefined || w.quantization !== undefined) {
        throw new InputError(path, undefined, `weight ${w?.name}: unsupported spec`);
      }
      expected += w.shape.reduce((a: number, b: number) => a * b, 1) * bytes;
    }
  }
  let actual = 0;
  for (const f of files) {
    try {
      actual += (await Deno.stat(join(dir, f))).size;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new InputError(join(dir, f), undefined, "no such file (named by model.json)");
      }
      throw e;
    }
  }
  if (actual !== expected) {
    throw new InputError(
      join(dir, files[files.length - 1] ?? "weights.bin"),
      undefined,
      `${actual} bytes of weights, model.json lists ${expected}`,
    );
  }
  return { json, files };
}

/** A `tf.io.IOHandler` that loads `dir/model.json` + its weight files from disk, checked first. */
export function fileLoadHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const { json } = await readModelJson(dir);
      return await tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const bytes = await Deno.readFile(join(dir, p));
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

/**
 * Loads a checkpoint's model with `tf.loadLayersModel` (the same path a browser takes). A model
 * tfjs cannot build is an `InputError` naming `model.json`.
 *
 * @example
 * ```ts ignore
 * const model = await loadCheckpointModel("runs/demo/checkpoints/epoch-0008");
 * ```
 */
export async function loadCheckpointModel(dir: string): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel(fileLoadHandler(dir));
  } catch (e) {
    if (e instanceof InputError) throw e;
    const msg = (e as Error).message.replace(/\s+/g, " ").trim();
    throw new InputError(join(dir, "model.json"), undefined, `cannot build the model: ${msg}`);
  }
}

/** Loads a checkpoint's weights (trainable and batch-norm statistics) into `model` by name. */
export async function restoreWeights(model: tf.LayersModel, dir: string): Promise<void> {
  const artifacts = await fileLoadHandler(dir).load!();
  const named = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  try {
    model.loadWeights(named, true);
  } catch (e) {
    const msg = (e as Error).message.replace(/\s+/g, " ").trim();
    throw new InputError(join(dir, "model.json"), undefined, `weights do not fit: ${msg}`);
  } finally {
    for (const t of Object.values(named)) t.dispose();
  }
}

// ─── state.json, optimizer.bin ─────────────────────────────────────────────────────────────────

function stateProblem(s: unknown): string | undefined {
  if (s === null || typeof s !== "object") return "field state: expected an object";
  const st = s as Record<string, unknown>;
  for (const k of ["epoch", "batchInEpoch", "step"]) {
    if (!Number.isInteger(st[k]) || (st[k] as number) < 0) {
      return `field state.${k}: expected an integer ≥ 0, found ${JSON.stringify(st[k])}`;
    }
  }
  if (!Array.isArray(st.rngState) || !st.rngState.every(Number.isInteger)) {
    return "field state.rngState: expected a list of integers";
  }
  if (typeof st.elapsedS !== "number") return "field state.elapsedS: expected a number";
  const pl = st.partialLoss as Record<string, unknown> | null;
  if (pl === null || typeof pl !== "object" || typeof pl.sum !== "number") {
    return "field state.partialLoss: expected {sum, tiles}";
  }
  return undefined;
}

function inferenceProblem(m: unknown): string | undefined {
  if (m === null || typeof m !== "object") return "field inference: expected an object";
  const i = m as Record<string, unknown>;
  if (!Number.isInteger(i.tileSizePx) || (i.tileSizePx as number) < 1) {
    return "field inference.tileSizePx: expected a positive integer";
  }
  if (![1, 0.5, 0.25].includes(i.scale as number)) {
    return "field inference.scale: expected 1, 0.5 or 0.25";
  }
  if (!isThreshold(i.threshold)) return "field inference.threshold: expected a number in [0, 1]";
  if (i.normalize !== null) {
    const n = i.normalize as { mean?: unknown; std?: unknown } | undefined;
    if (
      !Array.isArray(n?.mean) || !Array.isArray(n.std) || n.mean.length !== 3 || n.std.length !== 3
    ) {
      return "field inference.normalize: expected null or {mean, std} of 3 numbers each";
    }
    try {
      normalizationFor("dataset", { mean: n.mean, std: n.std });
    } catch (e) {
      return `field inference.normalize: ${(e as Error).message}`;
    }
  }
  return undefined;
}

/**
 * Reads and checks a checkpoint's `state.json`: the format, the training state, the config and
 * (when present) the inference metadata.
 *
 * @throws {InputError} naming `state.json` and the first bad field
 */
export async function readCheckpointFile(dir: string): Promise<CheckpointFile> {
  const path = join(dir, "state.json");
  const file = await readJson<CheckpointFile>(path);
  if (file?.format !== "vessel-seg-checkpoint" || file.formatVersion !== 1) {
    throw new InputError(path, undefined, "not a vessel-seg checkpoint (format 1)");
  }
  if (file.config !== null && typeof file.config === "object") {
    file.config = { ...LATER_FIELDS, ...file.config } as TrainConfig;
  }
  const problem = stateProblem(file.state) ??
    (configProblem(file.config) === undefined
      ? undefined
      : `config: ${configProblem(file.config)}`) ??
    (file.inference === undefined ? undefined : inferenceProblem(file.inference)) ??
    provenanceProblem(file);
  if (problem !== undefined) throw new InputError(path, undefined, problem);
  const o = file.optimizer;
  if (o === null || typeof o !== "object" || typeof o.slots !== "object" || o.slots === null) {
    throw new InputError(path, undefined, "field optimizer: expected {name, step, slots}");
  }
  for (const [slot, shapes] of Object.entries(o.slots)) {
    const ok = Array.isArray(shapes) &&
      shapes.every((s) => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 0));
    if (!ok) {
      throw new InputError(path, undefined, `field optimizer.slots.${slot}: expected shapes`);
    }
  }
  return file;
}

/** What is wrong with the optional `provenance` and `validation` fields, if anything. */
function provenanceProblem(file: CheckpointFile): string | undefined {
  const p = file.provenance as unknown as Record<string, unknown> | undefined;
  const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  if (
    p !== undefined &&
    (p === null || typeof p !== "object" || typeof p.prepared !== "string" ||
      (p.data !== null && typeof p.data !== "string") ||
      (p.synthetic !== null && typeof p.synthetic !== "boolean") || !count(p.trainTiles) ||
      !count(p.valTiles) || typeof p.split !== "string")
  ) {
    return "field provenance: expected {prepared, data, synthetic, trainTiles, valTiles, split}";
  }
  const v = file.validation as unknown as Record<string, unknown> | undefined;
  const score = (x: unknown) => typeof x === "number" && x >= 0 && x <= 1;
  if (
    v !== undefined &&
    (v === null || typeof v !== "object" || !count(v.epoch) || !score(v.dsc) || !score(v.iou) ||
      !score(v.perImageDsc) || !count(v.tiles))
  ) {
    return "field validation: expected {epoch, dsc, iou, perImageDsc, tiles} with scores in 0..1";
  }
  return undefined;
}

/** Reads a checkpoint's `optimizer.bin` in the slot layout `file` lists. */
export async function readOptimizerState(
  dir: string,
  file: CheckpointFile,
): Promise<OptimizerState> {
  const path = join(dir, "optimizer.bin");
  const bytes = await readInputFile(path, "the optimizer state");
  let need = 0;
  for (const shapes of Object.values(file.optimizer.slots)) {
    for (const shape of shapes) need += shape.reduce((a, b) => a * b, 1);
  }
  if (bytes.byteLength !== need * 4) {
    throw new InputError(
      path,
      undefined,
      `${bytes.byteLength} bytes, state.json lists ${need} floats`,
    );
  }
  const flat = new Float32Array(bytes.slice().buffer);
  const slots: OptimizerState["slots"] = {};
  let off = 0;
  for (const [slot, shapes] of Object.entries(file.optimizer.slots)) {
    slots[slot] = shapes.map((shape) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = flat.slice(off, off + n);
      off += n;
      return { shape, values };
    });
  }
  return { name: file.optimizer.name, step: file.optimizer.step, slots };
}

/** Reads a checkpoint's `state.json` and optimizer state (what `train --resume` needs). */
export async function readCheckpoint(
  dir: string,
): Promise<{ file: CheckpointFile; optimizer: OptimizerState }> {
  const file = await readCheckpointFile(dir);
  return { file, optimizer: await readOptimizerState(dir, file) };
}

async function replaceDir(tmp: string, final: string): Promise<void> {
  if (await exists(final)) {
    const old = `${final}.old-${Deno.pid}`;
    await Deno.rename(final, old);
    await Deno.rename(tmp, final);
    await Deno.remove(old, { recursive: true });
  } else {
    await Deno.rename(tmp, final);
  }
}

function flattenSlots(slots: OptimizerState["slots"]): {
  shapes: Record<string, number[][]>;
  flat: Float32Array;
} {
  const shapes: Record<string, number[][]> = {};
  const arrays: Float32Array[] = [];
  for (const [slot, list] of Object.entries(slots)) {
    shapes[slot] = list.map((a) => a.shape);
    for (const a of list) arrays.push(a.values);
  }
  const flat = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let off = 0;
  for (const a of arrays) {
    flat.set(a, off);
    off += a.length;
  }
  return { shapes, flat };
}

/**
 * Writes checkpoint `name` of `run` atomically and points `latest.json` at it (unless
 * `pointLatest` is false: `best/` is not where a run resumes from); returns its path.
 */
export async function saveCheckpoint(
  run: string,
  name: string,
  parts: {
    model: tf.LayersModel;
    optimizer: OptimizerState;
    state: TrainState;
    config: TrainConfig;
    inference: InferenceMeta;
    provenance?: Provenance;
    validation?: CheckpointValidation;
    /** Further files of the checkpoint (the raw weights beside an averaged model). */
    extraFiles?: Record<string, Uint8Array>;
  },
  opts: { pointLatest?: boolean } = {},
): Promise<string> {
  const root = checkpointsDir(run);
  await Deno.mkdir(root, { recursive: true });
  const final = join(root, name);
  const tmp = join(root, `.${name}.tmp-${Deno.pid}`);
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  try {
    const { modelJson, weightsBin } = await modelFiles(parts.model);
    await writeFileAtomic(join(tmp, "weights.bin"), weightsBin);
    await writeFileAtomic(join(tmp, "model.json"), new TextEncoder().encode(modelJson));
    const { shapes, flat } = flattenSlots(parts.optimizer.slots);
    await writeFileAtomic(join(tmp, "optimizer.bin"), new Uint8Array(flat.buffer));
    for (const [name, bytes] of Object.entries(parts.extraFiles ?? {})) {
      await writeFileAtomic(join(tmp, name), bytes);
    }
    const file: CheckpointFile = {
      format: "vessel-seg-checkpoint",
      formatVersion: 1,
      state: parts.state,
      config: parts.config,
      optimizer: { name: parts.optimizer.name, step: parts.optimizer.step, slots: shapes },
      inference: parts.inference,
      ...(parts.provenance ? { provenance: parts.provenance } : {}),
      ...(parts.validation ? { validation: parts.validation } : {}),
    };
    await writeJsonAtomic(join(tmp, "state.json"), file);
    await replaceDir(tmp, final);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  if (opts.pointLatest === false) return final;
  const pointer: LatestPointer = {
    name,
    epoch: parts.state.epoch,
    batchInEpoch: parts.state.batchInEpoch,
  };
  await writeJsonAtomic(join(root, "latest.json"), pointer);
  return final;
}

// ─── resolving what the user names ─────────────────────────────────────────────────────────────

/** The checkpoint `latest.json` of `run` points at, or `undefined` when there is none. */
export async function latestCheckpoint(run: string): Promise<string | undefined> {
  const path = join(checkpointsDir(run), "latest.json");
  if (!(await exists(path))) return undefined;
  const pointer = await readJson<LatestPointer>(path);
  if (typeof pointer?.name !== "string" || !SAFE_NAME.test(pointer.name)) {
    throw new InputError(path, undefined, "field name: expected a checkpoint folder name");
  }
  return join(checkpointsDir(run), pointer.name);
}

/** One epoch checkpoint of a run. */
export interface RunCheckpoint {
  /** Folder name, e.g. `epoch-0008`. */
  name: string;
  /** Path of the checkpoint folder (holds `model.json`). */
  dir: string;
  /** Epochs fully done when it was written. */
  epoch: number;
  /** Optimizer steps done. */
  step: number;
  /** Training wall time (s) when it was written. */
  elapsedS: number;
  /** The config the run was trained with. */
  config: TrainConfig;
  /** Its checked `state.json`. */
  file: CheckpointFile;
}

/**
 * Lists the epoch checkpoints of `run` (`RUN/checkpoints/epoch-NNNN/`), sorted by epoch. The
 * `interrupted/` checkpoint (a Ctrl-C in the middle of an epoch) is not an epoch's model and is
 * left out. Only `state.json` is read; the optimizer state is never loaded.
 *
 * @throws {InputError} when `run` has no `checkpoints/` folder, no epoch checkpoint, or a
 * checkpoint's `state.json` or `model.json` is missing or malformed
 *
 * @example
 * ```ts ignore
 * import { listEpochCheckpoints } from "./artifact.ts";
 * for (const c of await listEpochCheckpoints("out/demo/run")) console.log(c.epoch, c.dir);
 * ```
 */
export async function listEpochCheckpoints(run: string): Promise<RunCheckpoint[]> {
  const root = checkpointsDir(run);
  if (!(await isDir(root))) {
    throw new InputError(root, undefined, "no such folder (is it a `deno task train --out` run?)");
  }
  const out: RunCheckpoint[] = [];
  for await (const entry of Deno.readDir(root)) {
    const m = EPOCH_DIR.exec(entry.name);
    if (!entry.isDirectory || m === null) continue;
    const dir = join(root, entry.name);
    const file = await readCheckpointFile(dir);
    if (file.state.epoch !== Number(m[1])) {
      throw new InputError(
        join(dir, "state.json"),
        undefined,
        `state.epoch is ${file.state.epoch}, folder says ${Number(m[1])}`,
      );
    }
    if (!(await exists(join(dir, "model.json")))) {
      throw new InputError(join(dir, "model.json"), undefined, "no such file");
    }
    const { epoch, step, elapsedS } = file.state;
    out.push({ name: entry.name, dir, epoch, step, elapsedS, config: file.config, file });
  }
  if (out.length === 0) throw new InputError(root, undefined, "no epoch-NNNN checkpoint in it");
  return out.sort((a, b) => a.epoch - b.epoch);
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Resolves `path` to a checkpoint folder: a folder holding `model.json` is one; otherwise `path`
 * is a run and its `checkpoints/best/` is used when training kept one, else the checkpoint
 * `checkpoints/latest.json` names, else the highest `epoch-NNNN`.
 *
 * @throws {InputError} when `path` is neither
 */
export async function resolveCheckpoint(path: string): Promise<string> {
  if (await exists(join(path, "model.json"))) return path;
  if (!(await isDir(path))) {
    throw new InputError(
      path,
      undefined,
      (await exists(path)) ? "is a file, expected a run or a checkpoint folder" : "no such folder",
    );
  }
  const best = join(checkpointsDir(path), "best");
  if (await exists(join(best, "model.json"))) return best;
  const latest = await latestCheckpoint(path);
  if (latest !== undefined && (await exists(join(latest, "model.json")))) return latest;
  if (!(await isDir(checkpointsDir(path)))) {
    throw new InputError(
      path,
      undefined,
      "neither a checkpoint (no model.json) nor a training run (no checkpoints/)",
    );
  }
  const list = await listEpochCheckpoints(path);
  return list[list.length - 1].dir;
}

/**
 * The inference metadata of a checkpoint: its own `inference` field, or, for checkpoints written
 * before that field existed, the prepared manifest (`prepared`, default `config.prepared`).
 */
export async function inferenceMeta(
  dir: string,
  file: CheckpointFile,
  prepared?: string,
): Promise<InferenceMeta> {
  if (file.inference !== undefined && prepared === undefined) return file.inference;
  const preparedDir = prepared ?? file.config.prepared;
  const manifestPath = join(preparedDir, "manifest.json");
  if (prepared === undefined && !(await exists(manifestPath))) {
    throw new InputError(
      manifestPath,
      undefined,
      `no such file: ${join(dir, "state.json")} has no inference metadata (written by an older ` +
        "version), and the prepared dataset its config names is gone; pass --prepared DIR",
    );
  }
  const manifest = await readManifest(preparedDir);
  let normalize: InferenceMeta["normalize"] = null;
  try {
    const n = normalizationFor(file.config.normalize, manifest.stats);
    if (n.mean !== undefined && n.std !== undefined) {
      normalize = { mean: [...n.mean], std: [...n.std] };
    }
  } catch (e) {
    throw new InputError(manifestPath, undefined, (e as Error).message);
  }
  return {
    tileSizePx: manifest.tileSizePx,
    scale: manifest.scale,
    normalize,
    threshold: file.inference?.threshold ?? file.config.threshold,
  };
}

/** A checkpoint resolved and checked, with everything inference needs except the weights. */
export interface ArtifactInfo {
  /** The checkpoint folder. */
  dir: string;
  /** Its name (`epoch-0008`, `best`, `interrupted`, or the folder's own name). */
  name: string;
  epoch: number;
  config: TrainConfig;
  inference: InferenceMeta;
  /** The weight files `model.json` names (for serving them). */
  weightFiles: string[];
  /** The checked `model.json`. */
  modelJson: tf.io.ModelJSON;
  file: CheckpointFile;
  /** What it was trained on, when known. */
  provenance?: Provenance;
  validation?: CheckpointValidation;
}

/**
 * Resolves `path` ({@linkcode resolveCheckpoint}) and checks `state.json` and `model.json` with
 * its weight files, without building the model.
 *
 * @example
 * ```ts ignore
 * const info = await describeArtifact("out/demo/run");
 * console.log(info.dir, info.inference.tileSizePx);
 * ```
 */
export async function describeArtifact(
  path: string,
  opts: { prepared?: string } = {},
): Promise<ArtifactInfo> {
  const dir = await resolveCheckpoint(path);
  const file = await readCheckpointFile(dir);
  const { json, files } = await readModelJson(dir);
  const inference = await inferenceMeta(dir, file, opts.prepared);
  let provenance = file.provenance;
  if (provenance === undefined) {
    // an older checkpoint: its prepared set, if still there and readable, says what it was
    provenance = await readManifest(file.config.prepared)
      .then((m) => provenanceOf(file.config.prepared, m))
      .catch(() => undefined);
  }
  return {
    dir,
    name: basename(dir),
    epoch: file.state.epoch,
    config: file.config,
    inference,
    weightFiles: files,
    modelJson: json,
    file,
    ...(provenance ? { provenance } : {}),
    ...(file.validation ? { validation: file.validation } : {}),
  };
}

/** The {@linkcode Provenance} of a run on the set prepared in `prepared`. */
export function provenanceOf(prepared: string, m: Manifest): Provenance {
  const split = m.split.method === "fold"
    ? `fold ${m.split.fold}/${m.split.folds}`
    : m.split.method;
  return {
    prepared,
    data: m.source?.data ?? null,
    synthetic: m.source?.synthetic ?? null,
    trainTiles: m.tiles.filter((t) => t.split === "train").length,
    valTiles: m.tiles.filter((t) => t.split === "val").length,
    split,
    ...(m.datasets ? { datasets: m.datasets } : {}),
  };
}

/**
 * One line on what a model was trained on and how it validated, for people: predict's log, the
 * browser page, export's metadata.
 *
 * @example
 * ```ts
 * import { describeProvenance } from "./artifact.ts";
 * const line = describeProvenance({
 *   epoch: 8,
 *   provenance: { prepared: "p", data: "d", synthetic: true, trainTiles: 9, valTiles: 3, split: "wsi" },
 * });
 * console.assert(line.includes("SYNTHETIC") && line.includes("epoch 8"));
 * ```
 */
export function describeProvenance(
  info: Pick<ArtifactInfo, "epoch" | "provenance" | "validation">,
): string {
  const p = info.provenance;
  let what: string;
  if (p === undefined) what = "trained on data not recorded in the checkpoint";
  else {
    const from = p.data === null
      ? `prepared set ${p.prepared}`
      : `${p.data} (prepared ${p.prepared})`;
    const kind = p.synthetic === true
      ? "SYNTHETIC demo data (deno task synth), so it does not transfer to real tissue: "
      : p.synthetic === false
      ? ""
      : "data of unrecorded origin: ";
    what = `trained on ${kind}${from}, ${p.trainTiles} train / ${p.valTiles} val tiles, ` +
      `${p.split} split${p.datasets ? `, datasets ${p.datasets.join(",")}` : ""}`;
  }
  const v = info.validation;
  const scores = v === undefined
    ? "no validation on these weights"
    : `validation DSC ${v.dsc.toFixed(3)} (IoU ${v.iou.toFixed(3)}, per-image DSC ${
      v.perImageDsc.toFixed(3)
    }, ${v.tiles} tiles)`;
  return `${what}; epoch ${info.epoch}, ${scores}`;
}

/** {@linkcode ArtifactInfo} with the model built and its weights loaded. */
export interface LoadedArtifact extends ArtifactInfo {
  model: tf.LayersModel;
}

/**
 * Loads a trained model with everything inference needs: tile size, scale, normalisation,
 * threshold, epoch and config. The caller disposes `model`.
 *
 * @param path a run folder or a checkpoint folder
 * @throws {InputError} naming the file and field of the first problem
 *
 * @example
 * ```ts ignore
 * const a = await loadArtifact("out/demo/run");
 * console.log(a.epoch, a.inference.threshold);
 * a.model.dispose();
 * ```
 */
export async function loadArtifact(
  path: string,
  opts: { prepared?: string } = {},
): Promise<LoadedArtifact> {
  const info = await describeArtifact(path, opts);
  return { ...info, model: await loadCheckpointModel(info.dir) };
}
