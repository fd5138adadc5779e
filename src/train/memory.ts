/**
 * The memory plan of a training step: how much memory one step needs, and the largest
 * micro-batch that fits the backend (`--micro-batch auto`).
 *
 * How the estimate is made. Every tensor a U-Net step keeps for its backward pass is either of a
 * fixed size (weight gradients, the weights themselves) or proportional to the tiles' pixel count
 * `n·H·W` (activations: every level's side is an exact fraction of the tile's). So the transient
 * memory of the forward and backward pass is `a + n·b·H·W`. Two probe passes of one small tile
 * (sides `2^(depth+1)` and `2^(depth+2)`) measure it with `tf.profile`'s peak bytes and give `a`
 * and `b`; the probes restore the batch-norm running statistics they touch, so a run is the same
 * with or without them. On top come the resident bytes: all weights, the optimizer's slots
 * (RMSprop 1–2, Adam 2, SGD 0–1 per trainable weight), the `--ema` copy, and, when the batch is
 * split, one accumulator per trainable weight.
 *
 * Budgets: wasm, 90 % of its 4 GiB heap less what other tensors hold (tfjs-backend-wasm's heap
 * grows to the step's peak tensor bytes within a few MiB: measured in `bench/README.md`); WebGPU,
 * no total unless `--memory-budget` is given, but no single tensor larger than the adapter's
 * `maxStorageBufferBindingSize` / `maxBufferSize`; cpu, `--memory-budget` only.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { LossFn } from "../model/losses.ts";
import type { OptimConfig } from "../model/run_config.ts";

const MiB = 2 ** 20;
/** The wasm32 address space tfjs-backend-wasm's heap can grow to. */
export const WASM_HEAP_BYTES = 4096 * MiB;
/** Share of the wasm heap a step may plan for (the rest: allocator slack, kernels' scratch). */
const WASM_HEAP_SHARE = 0.9;

/** What the probe passes measured, per backend and model (see the module doc). */
export interface StepMemory {
  /** Transient bytes of a forward/backward pass that do not grow with the pixels (`a`). */
  fixedBytes: number;
  /** Transient bytes per pixel of the batch (`b`): `n·H·W·b` for n tiles of H×W. */
  bytesPerPixel: number;
  /** The largest single tensor of the pass, bytes per pixel of the batch. */
  largestTensorBytesPerPixel: number;
  /** All weights (trainable, frozen and batch-norm statistics). */
  weightBytes: number;
  /** The trainable weights (one gradient each; the optimizer's slots are this size). */
  trainableBytes: number;
  /** Optimizer slots and the EMA copy. */
  stateBytes: number;
}

/** The optimizer's slot variables per trainable weight (`src/train/optim.ts`). */
export function optimizerSlots(optim: OptimConfig): number {
  if (optim.name === "adam") return 2;
  if (optim.name === "rmsprop") return optim.momentum > 0 ? 2 : 1;
  return optim.momentum > 0 ? 1 : 0;
}

const bytesOf = (ts: readonly { shape: readonly (number | null)[] }[]) =>
  ts.reduce((sum, t) => sum + 4 * (t.shape as number[]).reduce((a, b) => a * b, 1), 0);

/**
 * Measures {@linkcode StepMemory} with two forward/backward passes of one small tile each on the
 * current backend. Leaves no tensor behind and the model's weights and statistics as they were.
 */
export async function measureStepMemory(
  model: tf.LayersModel,
  vars: tf.Variable[],
  lossFn: LossFn,
  opts: { depth: number; optim: OptimConfig; ema: boolean },
): Promise<StepMemory> {
  const sides = [2 ** (opts.depth + 1), 2 ** (opts.depth + 2)];
  // Batch norm updates its running statistics in training mode: keep them to put back.
  const stats = model.weights.filter((w) => !w.trainable);
  const saved = stats.map((w) => tf.clone(w.read()));
  const peaks: number[] = [];
  let largest = 0;
  try {
    for (const side of sides) {
      const x = tf.zeros([1, side, side, 3]);
      const y = tf.zeros([1, side, side, 1]);
      try {
        const before = tf.memory().numBytes;
        const info = await tf.profile(() => {
          const { value, grads } = tf.variableGrads(
            () => lossFn(model.apply(x, { training: true }) as tf.Tensor, y),
            vars,
          );
          tf.dispose([value, grads]);
        });
        peaks.push(info.peakBytes - before);
        for (const k of info.kernels) {
          for (const shape of k.outputShapes) {
            const n = (shape as number[]).reduce((a, b) => a * b, 1);
            largest = Math.max(largest, (4 * n) / (side * side));
          }
        }
      } finally {
        tf.dispose([x, y]);
      }
    }
  } finally {
    stats.forEach((w, i) => w.write(saved[i]));
    tf.dispose(saved);
  }
  const px = sides.map((s) => s * s);
  const bytesPerPixel = Math.max(0, (peaks[1] - peaks[0]) / (px[1] - px[0]));
  const trainableBytes = bytesOf(vars);
  const weightBytes = bytesOf(model.weights.map((w) => w.read()));
  return {
    fixedBytes: Math.max(0, peaks[0] - bytesPerPixel * px[0]),
    bytesPerPixel,
    largestTensorBytesPerPixel: largest,
    weightBytes,
    trainableBytes,
    stateBytes: optimizerSlots(opts.optim) * trainableBytes + (opts.ema ? weightBytes : 0),
  };
}

/** The peak bytes of one step of `batchSize` tiles of `sidePx`² in micro-batches of `micro`. */
export function stepPeakBytes(
  m: StepMemory,
  batchSize: number,
  micro: number,
  sidePx: number,
): number {
  const tiles = Math.min(micro, batchSize);
  return m.weightBytes + m.stateBytes + (tiles < batchSize ? m.trainableBytes : 0) +
    m.fixedBytes + tiles * sidePx * sidePx * m.bytesPerPixel;
}

/** What a step may use on the current backend. */
export interface MemoryBudget {
  /** Bytes in all (Infinity: no limit known). */
  totalBytes: number;
  /** Bytes of one tensor (Infinity: no limit known). */
  tensorBytes: number;
  /** Where the limits come from, for the printed plan. */
  source: string;
}

/**
 * The budget of backend `name`: `budgetMiB` (> 0) when given; else wasm's heap share less the
 * bytes other tensors already hold (`otherBytes`); WebGPU's buffer limits bound one tensor.
 */
export function memoryBudget(
  name: string,
  budgetMiB: number,
  otherBytes = 0,
  gpuLimits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number },
): MemoryBudget {
  const tensorBytes = Math.min(
    gpuLimits?.maxBufferSize ?? Infinity,
    gpuLimits?.maxStorageBufferBindingSize ?? Infinity,
  );
  if (budgetMiB > 0) {
    return { totalBytes: budgetMiB * MiB, tensorBytes, source: `--memory-budget ${budgetMiB}` };
  }
  if (name === "wasm") {
    return {
      totalBytes: WASM_HEAP_BYTES * WASM_HEAP_SHARE - otherBytes,
      tensorBytes,
      source: "90 % of the wasm heap's 4096 MiB",
    };
  }
  return {
    totalBytes: Infinity,
    tensorBytes,
    source: Number.isFinite(tensorBytes)
      ? `no total limit on ${name}; one buffer at most ${Math.floor(tensorBytes / MiB)} MiB`
      : `no limit known on ${name} (--memory-budget sets one)`,
  };
}

/** The micro-batch a step runs with, and its estimated peak. */
export interface MemoryPlan {
  microBatch: number;
  /** Micro-batches per optimizer step. */
  parts: number;
  peakBytes: number;
  /** The full batch's peak, for the printed plan. */
  fullBatchBytes: number;
  fits: boolean;
}

/**
 * The micro-batch for `--micro-batch` `wanted` (`"auto"`: the largest that fits `budget`, at
 * least 1; a number: that, capped at the batch). `fits` is false when even the chosen size is
 * over the budget.
 *
 * @example
 * ```ts
 * import { planMicroBatch } from "./memory.ts";
 * const m = { fixedBytes: 0, bytesPerPixel: 1, largestTensorBytesPerPixel: 0.1, weightBytes: 0,
 *   trainableBytes: 0, stateBytes: 0 };
 * const budget = { totalBytes: 3 * 100 * 100, tensorBytes: Infinity, source: "test" };
 * // 3 tiles fit: 8 tiles go as 3 parts, evened out to 3 + 3 + 2
 * const plan = planMicroBatch(m, { batchSize: 8, wanted: "auto", sidePx: 100 }, budget);
 * console.assert(plan.microBatch === 3 && plan.parts === 3 && plan.fits);
 * ```
 */
export function planMicroBatch(
  m: StepMemory,
  run: { batchSize: number; wanted: "auto" | number; sidePx: number },
  budget: MemoryBudget,
): MemoryPlan {
  const { batchSize, sidePx } = run;
  const fitsWith = (k: number) =>
    stepPeakBytes(m, batchSize, k, sidePx) <= budget.totalBytes &&
    k * sidePx * sidePx * m.largestTensorBytesPerPixel <= budget.tensorBytes;
  let micro: number;
  if (run.wanted === "auto") {
    micro = batchSize;
    while (micro > 1 && !fitsWith(micro)) micro--;
    // As many parts as needed, as even as they can be (16 as 8 + 8, not 9 + 7).
    micro = Math.ceil(batchSize / Math.ceil(batchSize / micro));
  } else micro = Math.min(run.wanted, batchSize);
  return {
    microBatch: micro,
    parts: Math.ceil(batchSize / micro),
    peakBytes: stepPeakBytes(m, batchSize, micro, sidePx),
    fullBatchBytes: stepPeakBytes(m, batchSize, batchSize, sidePx),
    fits: fitsWith(micro),
  };
}

/**
 * `bytes` for the printed plan: whole MiB, KiB under 1 MiB.
 *
 * @example
 * ```ts
 * import { mib } from "./memory.ts";
 * console.assert(mib(3 * 2 ** 20) === "3 MiB" && mib(10240) === "10 KiB");
 * console.assert(mib(Infinity) === "unlimited");
 * ```
 */
export const mib = (bytes: number): string =>
  !Number.isFinite(bytes)
    ? "unlimited"
    : bytes < MiB
    ? `${Math.round(bytes / 1024)} KiB`
    : `${Math.round(bytes / MiB)} MiB`;
