/**
 * The WebGPU half of `bench/gpu_check.sh`: on the webgpu backend (this project's kernels),
 *
 * 1. parity: a small U-Net (depth 2, base 8, batch norm, 2 × 32²) trained three steps from the same
 *    initial weights and batches on cpu and on webgpu; losses must agree to 1e-4 (relative) and the
 *    weights to 1e-3 (relative L2), the bounds of `src/train/backend_parity_test.ts`;
 * 2. the training step of `bench/train_step_bench.ts` (forward, combo loss, backward, RMSprop) at
 *    the shapes of the side-by-side benchmark: depth 4, base 16, 4 × 256², and base 64, 8 × 128²
 *    (`--small`: depth 2, base 8, 2 × 64², for software adapters).
 *
 * Prints the adapter and one Markdown table row per check; exits 1 when parity fails or there is
 * no adapter. It travels as a `deno bundle` (`bench/gpu_pack.sh`), so it imports nothing from
 * `src/train/` and reads no files.
 *
 *     deno run -A bench/gpu_check.ts [--small] [--steps 3]
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { comboLoss } from "../src/model/losses.ts";
import { buildUNet } from "../src/model/unet.ts";
import { initBackend } from "../src/runtime/backends.ts";
import { relL2 } from "../src/runtime/kernels/testing.ts";

/** A training-step shape: U-Net depth and base width, batch of `batch` tiles of `size`². */
export interface StepShape {
  depth: number;
  base: number;
  batch: number;
  size: number;
}

/**
 * FLOPs (2 per multiply–add) of one forward pass of this project's U-Net: two 3×3 convolutions
 * per level, 2×2 stride-2 transposed convolutions up, the 1×1 output convolution.
 */
export function unetForwardFlops(s: StepShape): number {
  let macs = 9 * (3 * s.base + s.base * s.base) * s.size ** 2;
  for (let k = 1; k <= s.depth; k++) {
    const c = s.base * 2 ** k, px = (s.size / 2 ** k) ** 2;
    macs += 9 * (c / 2 * c + c * c) * px;
  }
  for (let k = s.depth - 1; k >= 0; k--) {
    const c = s.base * 2 ** k, px = (s.size / 2 ** k) ** 2;
    macs += 2 * c * c * px + 9 * (2 * c * c + c * c) * px;
  }
  macs += s.base * s.size ** 2;
  return 2 * s.batch * macs;
}

const label = (s: StepShape) => `depth ${s.depth}, base ${s.base}, ${s.batch} × ${s.size}²`;

interface Run {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  x: tf.Tensor4D;
  y: tf.Tensor4D;
}

/** Model, optimizer and one batch, the same on every backend (seeded). */
function makeRun(s: StepShape): Run {
  const model = buildUNet({ depth: s.depth, baseFilters: s.base, batchNorm: true, seed: 0 });
  const optimizer = tf.train.rmsprop(1e-3, 0.9, 0.9, 1e-8);
  const x = tf.randomUniform([s.batch, s.size, s.size, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const y = tf.tidy(() =>
    tf.cast(
      tf.greater(tf.randomUniform([s.batch, s.size, s.size, 1], 0, 1, "float32", 2), 0.8),
      "float32",
    )
  ) as tf.Tensor4D;
  return { model, optimizer, x, y };
}

async function step(r: Run): Promise<number> {
  const loss = r.optimizer.minimize(() => {
    const logits = r.model.apply(r.x, { training: true }) as tf.Tensor;
    return comboLoss(logits, r.y);
  }, true) as tf.Scalar;
  const v = (await loss.data())[0];
  loss.dispose();
  return v;
}

function dispose(r: Run): void {
  r.model.dispose();
  r.optimizer.dispose();
  tf.dispose([r.x, r.y]);
}

/** Losses of three steps and the weights after them on `backend`. */
async function parityRun(backend: "cpu" | "webgpu"): Promise<[number[], Float32Array]> {
  await initBackend(backend);
  const r = makeRun({ depth: 2, base: 8, batch: 2, size: 32 });
  const losses = [];
  for (let i = 0; i < 3; i++) losses.push(await step(r));
  const parts = await Promise.all(
    r.model.weights.map((w) => w.read().data() as Promise<Float32Array>),
  );
  dispose(r);
  const weights = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) weights.set(p, o), o += p.length;
  return [losses, weights];
}

/** The checks; returns the exit code. */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      small: { type: "boolean", default: false },
      steps: { type: "string", default: "3" },
    },
  });
  const steps = Number(values.steps);
  if (!(Number.isInteger(steps) && steps >= 1)) {
    console.error("error: --steps: a positive integer is needed");
    return 2;
  }
  tf.enableProdMode();
  let adapter = "";
  try {
    adapter = (await initBackend("webgpu")).adapter ?? "?";
  } catch (e) {
    console.log(`| webgpu | – | no adapter: ${(e as Error).message} | FAIL |`);
    return 1;
  }
  console.log(`webgpu adapter: ${adapter}`);
  console.log("| check | shape | result | verdict |");
  console.log("|---|---|---|---|");

  const [cpuLosses, cpuWeights] = await parityRun("cpu");
  const [gpuLosses, gpuWeights] = await parityRun("webgpu");
  const lossErr = Math.max(
    ...cpuLosses.map((l, i) => Math.abs(gpuLosses[i] - l) / Math.max(Math.abs(l), 1e-12)),
  );
  const wErr = relL2(gpuWeights, cpuWeights);
  const parityOk = lossErr <= 1e-4 && wErr <= 1e-3 && Number.isFinite(lossErr + wErr);
  console.log(
    `| parity webgpu vs cpu, 3 steps | ${label({ depth: 2, base: 8, batch: 2, size: 32 })} | ` +
      `losses ${gpuLosses.map((l) => l.toFixed(5)).join(", ")} (cpu ${
        cpuLosses.map((l) => l.toFixed(5)).join(", ")
      }); largest loss difference ${lossErr.toExponential(1)}, weights relative L2 ${
        wErr.toExponential(1)
      } | ${parityOk ? "ok" : "FAIL"} |`,
  );

  const shapes: StepShape[] = values.small
    ? [{ depth: 2, base: 8, batch: 2, size: 64 }]
    : [{ depth: 4, base: 16, batch: 4, size: 256 }, { depth: 4, base: 64, batch: 8, size: 128 }];
  await initBackend("webgpu");
  for (const s of shapes) {
    const r = makeRun(s);
    await step(r); // warm-up: shader compilation
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step(r);
    const ms = (performance.now() - t0) / steps;
    dispose(r);
    const gflops = 3 * unetForwardFlops(s) / ms / 1e6;
    console.log(
      `| tfjs webgpu training step | ${label(s)} | ${ms.toFixed(0)} ms/step, ${
        gflops.toFixed(1)
      } GFLOP/s (${steps} steps) | – |`,
    );
  }
  return parityOk ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
