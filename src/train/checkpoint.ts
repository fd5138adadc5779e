/**
 * Checkpoints of a training run. Each is a directory under `RUN/checkpoints/`:
 *
 * - `model.json` + `weights.bin` — the TensorFlow.js LayersModel format, loadable with
 *   `tf.loadLayersModel("…/model.json")` in a browser (batch-norm running statistics included);
 * - `optimizer.bin` — the optimizer's slot tensors, float32, in the order listed in `state.json`;
 * - `state.json` — epoch, position inside the epoch, step, RNG state, elapsed time, the optimizer
 *   slot layout and the run's whole config (nanoGPT: a checkpoint carries its config).
 *
 * Deno has no `file://` handler in tfjs, so saving goes through a custom `tf.io.IOHandler`. A
 * checkpoint is written into a temporary directory and renamed into place; `RUN/checkpoints/latest.json`
 * is updated (atomically) only after that, so a crash never leaves a half-written checkpoint in
 * use.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { exists, writeFileAtomic, writeJsonAtomic } from "../io.ts";
import type { TrainConfig } from "./config.ts";
import type { OptimizerState } from "./optim.ts";

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

/** Name of the checkpoint after `epoch` complete epochs. */
export function epochCheckpointName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, "0")}`;
}

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

/** A `tf.io.IOHandler` that loads `dir/model.json` + its weight files from disk. */
export function fileLoadHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const path = join(dir, "model.json");
      const json = JSON.parse(await Deno.readTextFile(path)) as tf.io.ModelJSON;
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
 * Loads a checkpoint's model with `tf.loadLayersModel` (the same path a browser takes).
 *
 * @example
 * ```ts ignore
 * const model = await loadCheckpointModel("runs/demo/checkpoints/epoch-0008");
 * ```
 */
export async function loadCheckpointModel(dir: string): Promise<tf.LayersModel> {
  return await tf.loadLayersModel(fileLoadHandler(dir));
}

/** Loads a checkpoint's weights (trainable and batch-norm statistics) into `model` by name. */
export async function restoreWeights(model: tf.LayersModel, dir: string): Promise<void> {
  const artifacts = await fileLoadHandler(dir).load!();
  const named = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  try {
    model.loadWeights(named, true);
  } finally {
    for (const t of Object.values(named)) t.dispose();
  }
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

/** Writes checkpoint `name` of `run` atomically and points `latest.json` at it; returns its path. */
export async function saveCheckpoint(
  run: string,
  name: string,
  parts: {
    model: tf.LayersModel;
    optimizer: OptimizerState;
    state: TrainState;
    config: TrainConfig;
  },
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
    const slotShapes: Record<string, number[][]> = {};
    const arrays: Float32Array[] = [];
    for (const [slot, list] of Object.entries(parts.optimizer.slots)) {
      slotShapes[slot] = list.map((a) => a.shape);
      for (const a of list) arrays.push(a.values);
    }
    const total = arrays.reduce((n, a) => n + a.length, 0);
    const flat = new Float32Array(total);
    let off = 0;
    for (const a of arrays) {
      flat.set(a, off);
      off += a.length;
    }
    await writeFileAtomic(join(tmp, "optimizer.bin"), new Uint8Array(flat.buffer));
    const file: CheckpointFile = {
      format: "vessel-seg-checkpoint",
      formatVersion: 1,
      state: parts.state,
      config: parts.config,
      optimizer: { name: parts.optimizer.name, step: parts.optimizer.step, slots: slotShapes },
    };
    await writeJsonAtomic(join(tmp, "state.json"), file);
    await replaceDir(tmp, final);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  const pointer: LatestPointer = {
    name,
    epoch: parts.state.epoch,
    batchInEpoch: parts.state.batchInEpoch,
  };
  await writeJsonAtomic(join(root, "latest.json"), pointer);
  return final;
}

/** Reads a checkpoint's `state.json` and optimizer state. */
export async function readCheckpoint(
  dir: string,
): Promise<{ file: CheckpointFile; optimizer: OptimizerState }> {
  const path = join(dir, "state.json");
  let file: CheckpointFile;
  try {
    file = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new InputError(path, undefined, "no such file");
    throw new InputError(path, undefined, `bad JSON: ${(e as Error).message}`);
  }
  if (file?.format !== "vessel-seg-checkpoint" || file.formatVersion !== 1) {
    throw new InputError(path, undefined, "not a vessel-seg checkpoint (format 1)");
  }
  const bytes = await Deno.readFile(join(dir, "optimizer.bin"));
  const flat = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
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
  if (off !== flat.length) {
    throw new InputError(
      join(dir, "optimizer.bin"),
      undefined,
      `${flat.length} floats, state.json lists ${off}`,
    );
  }
  return { file, optimizer: { name: file.optimizer.name, step: file.optimizer.step, slots } };
}

/** The checkpoint `latest.json` of `run` points at, or `undefined` when there is none. */
export async function latestCheckpoint(run: string): Promise<string | undefined> {
  const path = join(checkpointsDir(run), "latest.json");
  if (!(await exists(path))) return undefined;
  let pointer: LatestPointer;
  try {
    pointer = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new InputError(path, undefined, `bad JSON: ${(e as Error).message}`);
  }
  if (typeof pointer?.name !== "string") {
    throw new InputError(path, undefined, "missing field name");
  }
  return join(checkpointsDir(run), pointer.name);
}
