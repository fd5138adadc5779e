/**
 * Test helpers for the predict tests: a run directory in the training layout (prepared
 * `manifest.json`, `RUN/checkpoints/epoch-0001/` with `state.json` carrying the config) around any
 * given `tf.LayersModel`, so that inference can be checked against models whose output is known
 * by hand, or against a small untrained U-Net — no training needed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import type { Manifest } from "../data/prepared.ts";
import { saveCheckpoint } from "../model/artifact.ts";
import { makeConfig, type TrainConfig } from "../model/run_config.ts";
import { writeTinyPrepared } from "../data/testing.ts";

/** Options of {@linkcode writeRunAround}. */
export interface FabricatedRunOptions {
  /** The prepared scale written to the manifest (1, 0.5, 0.25). Default 1. */
  scale?: number;
  /** Prepared tile side at model scale. Default 16. */
  tileSizePx?: number;
  /** Default "dataset". */
  normalize?: "none" | "dataset";
  /** The threshold the run saves. Default 0.5. */
  threshold?: number;
}

/**
 * Writes `root/prepared` (a tiny dataset whose manifest carries `scale`, `tileSizePx` and
 * training statistics) and `root/run` with `model` saved as checkpoint `epoch-0001`.
 */
export async function writeRunAround(
  root: string,
  model: tf.LayersModel,
  opts: FabricatedRunOptions = {},
): Promise<{ run: string; prepared: string; manifest: Manifest; config: TrainConfig }> {
  const prepared = join(root, "prepared");
  const run = join(root, "run");
  const manifest = await writeTinyPrepared(prepared, {
    train: 2,
    val: 1,
    sizePx: opts.tileSizePx ?? 16,
    seed: 3,
  });
  manifest.scale = opts.scale ?? 1;
  await Deno.writeTextFile(join(prepared, "manifest.json"), JSON.stringify(manifest));
  const config = makeConfig("study", {
    prepared,
    out: run,
    model: { depth: 2, baseFilters: 4 },
    normalize: opts.normalize ?? "dataset",
    threshold: opts.threshold ?? 0.5,
  });
  const { mean, std } = manifest.stats;
  await saveCheckpoint(run, "epoch-0001", {
    model,
    optimizer: { name: config.optim.name, step: 0, slots: {} },
    state: {
      epoch: 1,
      batchInEpoch: 0,
      step: 0,
      rngState: [1, 2, 3, 4],
      elapsedS: 0,
      partialLoss: { sum: 0, tiles: 0 },
      backend: tf.getBackend(),
    },
    config,
    inference: {
      tileSizePx: manifest.tileSizePx,
      scale: manifest.scale,
      normalize: config.normalize === "dataset" ? { mean: [...mean], std: [...std] } : null,
      threshold: config.threshold,
    },
  });
  return { run, prepared, manifest, config };
}

/**
 * A fully convolutional one-layer model with a `k×k` kernel (same padding) and bias, whose logit
 * at a pixel is `bias + Σ kernel[dy][dx][c] · x[y+dy−k/2][x+dx−k/2][c]`.
 *
 * @param kernel `[k][k][3]` weights
 */
export function convModel(kernel: number[][][], bias: number): tf.LayersModel {
  const k = kernel.length;
  const input = tf.input({ shape: [null, null, 3], dtype: "float32", name: "image" });
  const conv = tf.layers.conv2d({
    filters: 1,
    kernelSize: k,
    padding: "same",
    useBias: true,
    name: "logits",
  });
  const out = conv.apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const w = tf.tensor4d(kernel.flat(2), [k, k, 3, 1]);
  const b = tf.tensor1d([bias]);
  conv.setWeights([w, b]);
  w.dispose();
  b.dispose();
  return model;
}

/**
 * The pointwise "pink vs white" model of the predict tests — logit `4.8·R − 12·G + 2` on `v/255`
 * inputs, untrained but following the stain — saved as `root/model/run` at scale 0.25 with 32-px
 * windows and no normalisation: masks with many instances, holes and diagonal contacts.
 */
export async function writePointwiseRun(root: string): Promise<string> {
  const model = convModel([[[4.8, -12, 0]]], 2);
  try {
    const { run } = await writeRunAround(join(root, "model"), model, {
      scale: 0.25,
      tileSizePx: 32,
      normalize: "none",
    });
    return run;
  } finally {
    model.dispose();
  }
}
