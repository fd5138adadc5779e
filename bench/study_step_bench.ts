/**
 * The study preset's training step as `deno task train` runs it — U-Net depth 4, base 64, batch
 * norm, combo loss, RMSprop with momentum (two slots), batch 16 of 128² tiles — on wasm, where the
 * full batch does not fit the 4 GiB heap and `--micro-batch auto` splits it (`src/train/memory.ts`).
 *
 * `deno run -A bench/study_step_bench.ts` prints the memory plan, then the measured peak of a real
 * step two ways — `tf.profile`'s peak tensor bytes and the wasm heap's size after the step (the heap
 * only grows) — and seconds per step (median of `STUDY_BENCH_STEPS`, default 3, after one warm-up
 * step). `deno bench -A bench/study_step_bench.ts` times the same step.
 *
 * Environment: `STUDY_BENCH_MICRO` (`auto`, or a number), `STUDY_BENCH_BACKEND` (`wasm`),
 * `STUDY_BENCH_BATCH` (16), `STUDY_BENCH_SIZE` (128), `STUDY_BENCH_BASE` (64).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { buildUNet } from "../src/model/unet.ts";
import { makeLoss } from "../src/model/losses.ts";
import { makeConfig } from "../src/model/run_config.ts";
import { initBackend } from "../src/runtime/backends.ts";
import { Rng } from "../src/rng.ts";
import {
  measureStepMemory,
  memoryBudget,
  mib,
  Optimizer,
  planMicroBatch,
  trainStep,
} from "../src/train/mod.ts";

const env = (k: string, d: string) => Deno.env.get(k) ?? d;
const BACKEND = env("STUDY_BENCH_BACKEND", "wasm") as "wasm";
const BATCH = Number(env("STUDY_BENCH_BATCH", "16"));
const SIZE = Number(env("STUDY_BENCH_SIZE", "128"));
const BASE = Number(env("STUDY_BENCH_BASE", "64"));
const MICRO = env("STUDY_BENCH_MICRO", "auto");
const STEPS = Number(env("STUDY_BENCH_STEPS", "3"));

tf.enableProdMode();
await initBackend(BACKEND);
const config = makeConfig("study", { prepared: "-", out: "-", batchSize: BATCH });
const other = tf.memory().numBytes;
const model = buildUNet({ ...config.model, baseFilters: BASE });
const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
const lossFn = makeLoss(config.loss);
const optimizer = new Optimizer(config.optim, vars);
const step = await measureStepMemory(model, vars, lossFn, {
  depth: config.model.depth,
  optim: config.optim,
  ema: false,
});
const plan = planMicroBatch(
  step,
  { batchSize: BATCH, wanted: MICRO === "auto" ? "auto" : Number(MICRO), sidePx: SIZE },
  memoryBudget(tf.getBackend(), 0, other),
);

const rng = new Rng(0);
const batch = {
  x: new Float32Array(BATCH * SIZE * SIZE * 3).map(() => rng.normal()),
  y: new Float32Array(BATCH * SIZE * SIZE).map(() => (rng.float() < 0.05 ? 1 : 0)),
  sizePx: SIZE,
  tiles: Array.from({ length: BATCH }, (_, i) => ({ id: `t${i}` })),
};
// deno-lint-ignore no-explicit-any
const run = () => trainStep(model, vars, lossFn, optimizer, batch as any, plan.microBatch);

const heapBytes = () => {
  const b = tf.backend() as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.length ?? NaN;
};

if (import.meta.main) {
  console.log(
    `study step on ${tf.getBackend()}: depth ${config.model.depth} base ${BASE}, ${BATCH} × ` +
      `${SIZE}²; plan: micro-batch ${plan.microBatch} (${plan.parts} a step), estimated peak ` +
      `${mib(plan.peakBytes)} (full batch ${mib(plan.fullBatchBytes)})`,
  );
  await run(); // warm-up; creates the optimizer's slots
  const info = await tf.profile(run);
  console.log(
    `measured: tf.profile peak ${mib(info.peakBytes - other)} ` +
      `(estimate/measured ${(plan.peakBytes / (info.peakBytes - other)).toFixed(3)}); ` +
      `wasm heap after the steps ${mib(heapBytes())}`,
  );
  const times: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const t = performance.now();
    await run();
    times.push((performance.now() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(
    `${median.toFixed(2)} s/step (median of ${STEPS}: ${
      times.map((t) => t.toFixed(2)).join(", ")
    }), ` +
      `${(1 / median).toFixed(3)} steps/s, ${(BATCH / median).toFixed(2)} tiles/s`,
  );
} else {
  await run(); // warm-up
  Deno.bench({
    name: `study step ${BATCH}×${SIZE}² base ${BASE}, micro-batch ${plan.microBatch}`,
    n: 2,
    warmup: 0,
    fn: async () => {
      await run();
    },
  });
}
