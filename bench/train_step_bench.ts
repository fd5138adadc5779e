/**
 * One U-Net training step (forward + combo loss + backward + RMSprop update) per tfjs backend,
 * with tfjs's stock kernels as each group's baseline where they run.
 *
 * Default shape: depth 4, base 16, batch norm, batch 4 × 256² × 3 (one forward ≈ 24.3 GFLOP; a
 * step ≈ 3× that). That is slow on a 2-core machine (seconds to a minute per step), so the shape
 * and backends can be cut down with environment variables:
 *
 * - `TRAIN_BENCH_SIZE` (256), `TRAIN_BENCH_BATCH` (4), `TRAIN_BENCH_BASE` (16), `TRAIN_BENCH_DEPTH` (4)
 * - `TRAIN_BENCH_BACKENDS` comma list of `wasm,cpu,webgpu` (default `wasm,webgpu,cpu`)
 * - `TRAIN_BENCH_STOCK` `1` (default) also times the stock kernels; `0` skips them
 * - `TRAIN_BENCH_STEPS` timed steps per case for the script form (default 2)
 * - `TRAIN_BENCH_PROFILE` `1`: the script form also prints a per-kernel profile of one step
 *   (`tf.profile`, kernel time summed by kernel name, largest first)
 * - `VESSEL_SEG_WASM_THREADS` wasm threads (default one per logical CPU; 1 is the
 *   single-threaded SIMD build, 2–8 the threaded build), see `src/runtime/backends.ts`
 *
 * `deno bench -A bench/train_step_bench.ts` reports time per step; `deno run -A
 * bench/train_step_bench.ts` prints ms/step and achieved GFLOP/s (3 × forward FLOPs / step time).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { buildUNet } from "../src/model/unet.ts";
import { comboLoss } from "../src/model/losses.ts";
import { type BackendName, initBackend } from "../src/runtime/backends.ts";

const env = (k: string, d: string) => Deno.env.get(k) ?? d;
const SIZE = Number(env("TRAIN_BENCH_SIZE", "256"));
const BATCH = Number(env("TRAIN_BENCH_BATCH", "4"));
const BASE = Number(env("TRAIN_BENCH_BASE", "16"));
const DEPTH = Number(env("TRAIN_BENCH_DEPTH", "4"));
const BACKENDS = env("TRAIN_BENCH_BACKENDS", "wasm,webgpu,cpu").split(",") as BackendName[];
const WITH_STOCK = env("TRAIN_BENCH_STOCK", "1") !== "0";
const STEPS = Number(env("TRAIN_BENCH_STEPS", "2"));
const PROFILE = env("TRAIN_BENCH_PROFILE", "0") === "1";

/** A model, its optimizer and one fixed batch on the active backend. */
interface StepState {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  x: tf.Tensor4D; // [N, H, W, 3]
  y: tf.Tensor4D; // [N, H, W, 1] in {0, 1}
}

function makeState(): StepState {
  const model = buildUNet({ depth: DEPTH, baseFilters: BASE, batchNorm: true, seed: 0 });
  // The study's optimizer: RMSprop lr 1e-5, momentum 0.999 (weight decay left out here).
  const optimizer = tf.train.rmsprop(1e-5, 0.9, 0.999, 1e-8);
  const x = tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const y = tf.cast(
    tf.greater(tf.randomUniform([BATCH, SIZE, SIZE, 1], 0, 1, "float32", 2), 0.8),
    "float32",
  ) as tf.Tensor4D;
  return { model, optimizer, x, y };
}

async function trainStep(s: StepState): Promise<number> {
  const loss = s.optimizer.minimize(() => {
    const logits = s.model.apply(s.x, { training: true }) as tf.Tensor;
    return comboLoss(logits, s.y);
  }, true) as tf.Scalar;
  const v = (await loss.data())[0];
  loss.dispose();
  return v;
}

function disposeState(s: StepState): void {
  s.model.dispose();
  s.optimizer.dispose();
  tf.dispose([s.x, s.y]);
}

/** FLOPs of one forward pass (2 per multiply-add), from each convolution's output shape. */
export function forwardFlops(model: tf.LayersModel, batch: number, size: number): number {
  const convs = model.layers.filter((l) =>
    l.getClassName() === "Conv2D" || l.getClassName() === "Conv2DTranspose"
  );
  // Output shapes on a tiny probe input scale linearly with the input side.
  const probeSide = 2 ** DEPTH;
  const probe = tf.model({
    inputs: model.inputs,
    outputs: convs.map((l) => l.output as tf.SymbolicTensor),
  });
  const outs = tf.tidy(() => {
    const o = probe.predict(tf.zeros([1, probeSide, probeSide, 3]));
    return (Array.isArray(o) ? o : [o]).map((t) => t.shape);
  });
  let flops = 0;
  convs.forEach((l, i) => {
    const k = l.getWeights()[0].shape as number[]; // Conv2D [kh, kw, cin, cout]; transposed [kh, kw, cout, cin]
    const [, oh, ow] = outs[i] as number[];
    const scale = size / probeSide;
    const pixels = batch * oh * scale * ow * scale;
    const stride = (l.getConfig().strides as number[] | undefined) ?? [1, 1];
    flops += 2 * pixels * k[0] * k[1] * k[2] * k[3] / (stride[0] * stride[1]);
  });
  return flops;
}

interface Case {
  backend: BackendName;
  stock: boolean;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const b of BACKENDS) {
    // Stock wasm has no Conv2DBackpropFilter: it cannot train, so it is not a baseline.
    if (WITH_STOCK && b !== "wasm") out.push({ backend: b, stock: true });
    out.push({ backend: b, stock: false });
  }
  return out;
}

const label = (c: Case) => `${c.backend} ${c.stock ? "stock kernels" : "project kernels"}`;
const shape = `depth ${DEPTH}, base ${BASE}, batch norm, ${BATCH}×${SIZE}²×3`;

/** Kernel time of one step summed per kernel name, largest first, as table rows. */
async function profileStep(s: StepState): Promise<string[]> {
  const info = await tf.profile(() => trainStep(s));
  const byName = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    const e = byName.get(k.name) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n += 1;
    byName.set(k.name, e);
    total += ms;
  }
  const rows = [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15);
  return [
    `kernel time ${total.toFixed(0)} ms in ${info.kernels.length} kernel calls`,
    ...rows.map(([name, e]) =>
      `  ${name.padEnd(24)} ${e.ms.toFixed(0).padStart(7)} ms ${String(e.n).padStart(5)} calls`
    ),
  ];
}

async function setUp(c: Case): Promise<StepState | undefined> {
  try {
    await initBackend(c.backend, { stockKernels: c.stock, log: (l) => console.error(l) });
  } catch (err) {
    console.error(`${label(c)}: skipped: ${(err as Error).message}`);
    return undefined;
  }
  return makeState();
}

if (import.meta.main) {
  console.log(`train step: ${shape}; ${STEPS} timed step(s) after 1 warm-up`);
  let flops = 0;
  const rows: string[] = [];
  for (const c of cases()) {
    const s = await setUp(c);
    if (s === undefined) continue;
    if (flops === 0) flops = forwardFlops(s.model, BATCH, SIZE);
    await trainStep(s);
    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) await trainStep(s);
    const ms = (performance.now() - t0) / STEPS;
    if (PROFILE) { for (const line of await profileStep(s)) console.log(line); }
    disposeState(s);
    const row = `| ${label(c)} | ${ms.toFixed(0)} | ${(3 * flops / ms / 1e6).toFixed(2)} |`;
    console.log(row);
    rows.push(row);
  }
  console.log(
    `\nforward ${(flops / 1e9).toFixed(2)} GFLOP\n| backend | ms/step | GFLOP/s |\n|---|---|---|`,
  );
  console.log(rows.join("\n"));
} else {
  for (const c of cases()) {
    let s: StepState | undefined;
    Deno.bench({
      name: label(c),
      group: c.backend,
      baseline: c.stock || c.backend === "wasm",
      n: STEPS,
      warmup: 1,
      sanitizeOps: false,
      sanitizeResources: false,
      async fn(b) {
        s ??= await setUp(c);
        if (s === undefined) return;
        b.start();
        await trainStep(s);
        b.end();
      },
    } as Deno.BenchDefinition);
  }
}
