import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeLoss } from "../model/losses.ts";
import { makeConfig } from "../model/run_config.ts";
import { buildUNet } from "../model/unet.ts";
import { initBackend } from "../runtime/backends.ts";
import { Rng } from "../rng.ts";
import { writeTinyPrepared } from "../data/testing.ts";
import { batchGradients, train, trainStep } from "./loop.ts";
import {
  measureStepMemory,
  memoryBudget,
  optimizerSlots,
  planMicroBatch,
  type StepMemory,
  stepPeakBytes,
} from "./memory.ts";
import { Optimizer } from "./optim.ts";
import type { OptimConfig } from "../model/run_config.ts";

tf.enableProdMode();
await initBackend("wasm");

const RMSPROP: OptimConfig = {
  name: "rmsprop",
  lr: 1e-3,
  momentum: 0.9,
  weightDecay: 0,
  clipNorm: 0,
};

/** A batch of `n` random tiles of `s`² with a random 0/1 mask, from `seed`. */
function randomBatch(n: number, s: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(n * s * s * 3).map(() => rng.normal());
  const y = new Float32Array(n * s * s).map(() => (rng.float() < 0.3 ? 1 : 0));
  return { x, y, sizePx: s, tiles: Array.from({ length: n }, (_, i) => ({ id: `t${i}` })) };
}

const varsOf = (model: tf.LayersModel) =>
  model.trainableWeights.map((w) => w.read() as tf.Variable);

Deno.test("memory: gradients accumulated over micro-batches equal the full batch's (batch norm off, bce)", async () => {
  const model = buildUNet({ depth: 2, baseFilters: 4, batchNorm: false, seed: 5 });
  const vars = varsOf(model);
  const lossFn = makeLoss({ ...makeConfig("tiny", { prepared: "p", out: "o" }).loss, name: "bce" });
  // deno-lint-ignore no-explicit-any
  const batch = randomBatch(6, 16, 9) as any;
  const before = tf.memory().numTensors;
  const full = await batchGradients(model, vars, lossFn, batch);
  for (const micro of [1, 2, 4]) { // 6 = 6×1, 3×2, 4 + 2 (unequal parts are weighted by size)
    const acc = await batchGradients(model, vars, lossFn, batch, micro);
    const dLoss = Math.abs(acc.loss - full.loss) / Math.abs(full.loss);
    assert.ok(dLoss < 1e-5, `loss, micro ${micro}: relative difference ${dLoss}`);
    let worst = 0;
    acc.grads!.forEach((g, i) => {
      const a = g.dataSync(), b = full.grads![i].dataSync();
      const scale = Math.max(...Array.from(b, Math.abs));
      for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j] - b[j]) / scale);
    });
    // float32 sums in another order: differences of a few ulps of each weight's largest gradient
    assert.ok(worst < 1e-5, `micro ${micro}: largest difference ${worst} of the largest gradient`);
    tf.dispose(acc.grads);
  }
  tf.dispose(full.grads);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
  // The split is real: with batch norm on, each micro-batch is normalised over itself, so the
  // gradients differ from the full batch's.
  const bn = buildUNet({ depth: 2, baseFilters: 4, batchNorm: true, seed: 5 });
  const bnVars = varsOf(bn);
  const whole = await batchGradients(bn, bnVars, lossFn, batch);
  const split = await batchGradients(bn, bnVars, lossFn, batch, 2);
  const gap = Math.max(
    ...whole.grads!.map((g, i) =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(g, split.grads![i]))).dataSync()[0])
    ),
  );
  assert.ok(gap > 1e-4, `batch norm over micro-batches: largest gradient difference ${gap}`);
  tf.dispose([...whole.grads!, ...split.grads!]);
  bn.dispose();
});

Deno.test("memory: a micro-batched step is leak-free and steps the optimizer once", async () => {
  const model = buildUNet({ depth: 2, baseFilters: 4, batchNorm: true, seed: 1 });
  const vars = varsOf(model);
  const opt = new Optimizer(RMSPROP, vars);
  const lossFn = makeLoss({ ...makeConfig("tiny", { prepared: "p", out: "o" }).loss });
  // deno-lint-ignore no-explicit-any
  const batch = randomBatch(5, 16, 2) as any;
  await trainStep(model, vars, lossFn, opt, batch, 2); // creates the optimizer's slots
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await trainStep(model, vars, lossFn, opt, batch, 2);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(opt.step, 4);
  opt.dispose();
  model.dispose();
});

Deno.test("memory: the probe leaves the weights and batch-norm statistics as they were, and no tensor", async () => {
  const model = buildUNet({ depth: 2, baseFilters: 4, batchNorm: true, seed: 3 });
  const lossFn = makeLoss(makeConfig("tiny", { prepared: "p", out: "o" }).loss);
  const snapshot = () => model.weights.map((w) => Array.from(w.read().dataSync()));
  const was = snapshot();
  const tensors = tf.memory().numTensors;
  const m = await measureStepMemory(model, varsOf(model), lossFn, {
    depth: 2,
    optim: RMSPROP,
    ema: false,
  });
  assert.deepEqual(snapshot(), was);
  assert.equal(tf.memory().numTensors, tensors);
  assert.ok(m.bytesPerPixel > 0 && m.fixedBytes >= 0, JSON.stringify(m));
  model.dispose();
});

/**
 * The measured peak of one real step: `tf.profile`'s peak tensor bytes over a `trainStep` after
 * the optimizer's slots exist, less the bytes of tensors that are not the run's.
 */
async function measuredPeak(
  model: tf.LayersModel,
  opt: Optimizer,
  n: number,
  s: number,
  micro: number,
): Promise<number> {
  const lossFn = makeLoss(makeConfig("tiny", { prepared: "p", out: "o" }).loss);
  // deno-lint-ignore no-explicit-any
  const batch = randomBatch(n, s, 4) as any;
  await trainStep(model, opt.vars, lossFn, opt, batch, micro); // slots now exist
  const resident = model.weights.reduce((sum, w) => sum + 4 * w.read().size, 0) +
    optimizerSlots(opt.config) * opt.vars.reduce((sum, v) => sum + 4 * v.size, 0);
  const other = tf.memory().numBytes - resident;
  const info = await tf.profile(() => trainStep(model, opt.vars, lossFn, opt, batch, micro));
  return info.peakBytes - other;
}

Deno.test("memory: the estimate is within 30 % of the measured peak of real steps (other shapes than the probes')", async () => {
  const cases = [
    { depth: 2, base: 8, bn: true, n: 4, s: 64, micro: 4 },
    { depth: 3, base: 8, bn: false, n: 6, s: 64, micro: 3 },
    { depth: 3, base: 16, bn: true, n: 2, s: 96, micro: 2 },
    { depth: 2, base: 16, bn: true, n: 8, s: 48, micro: 2 },
  ];
  for (const c of cases) {
    const model = buildUNet({ depth: c.depth, baseFilters: c.base, batchNorm: c.bn, seed: 0 });
    const vars = varsOf(model);
    const lossFn = makeLoss(makeConfig("tiny", { prepared: "p", out: "o" }).loss);
    const m = await measureStepMemory(model, vars, lossFn, {
      depth: c.depth,
      optim: RMSPROP,
      ema: false,
    });
    const estimate = stepPeakBytes(m, c.n, c.micro, c.s);
    const opt = new Optimizer(RMSPROP, vars);
    const measured = await measuredPeak(model, opt, c.n, c.s, c.micro);
    const ratio = estimate / measured;
    console.log(
      `  depth ${c.depth} base ${c.base} bn ${c.bn} ${c.n}×${c.s}² micro ${c.micro}: ` +
        `estimate ${(estimate / 2 ** 20).toFixed(2)} MiB, measured ${
          (measured / 2 ** 20).toFixed(2)
        } MiB (${ratio.toFixed(3)})`,
    );
    assert.ok(ratio > 0.7 && ratio < 1.3, `estimate/measured ${ratio}`);
    opt.dispose();
    model.dispose();
  }
});

Deno.test("memory: plans by hand — the largest micro-batch under the budget, evened out; tensor limits; unfit", () => {
  const MiB = 2 ** 20;
  // Per tile of 100² at 1 byte a pixel: 10 000 bytes; resident 1 MiB weights + 2 MiB state.
  const m: StepMemory = {
    fixedBytes: 0.5 * MiB,
    bytesPerPixel: 1,
    largestTensorBytesPerPixel: 0.25,
    weightBytes: MiB,
    trainableBytes: 0.5 * MiB,
    stateBytes: 2 * MiB,
  };
  const run = { batchSize: 16, wanted: "auto" as const, sidePx: 1000 }; // 1e6 bytes a tile
  // Full batch: 1 + 2 + 0.5 MiB + 16e6 bytes.
  assert.equal(stepPeakBytes(m, 16, 16, 1000), 3.5 * MiB + 16e6);
  // Split: + one accumulator (0.5 MiB).
  assert.equal(stepPeakBytes(m, 16, 5, 1000), 4 * MiB + 5e6);
  const budget = (total: number, tensor = Infinity) => ({
    totalBytes: total,
    tensorBytes: tensor,
    source: "t",
  });
  assert.equal(planMicroBatch(m, run, budget(Infinity)).microBatch, 16);
  // 4 MiB + 7e6 ≤ 11.2e6 < 4 MiB + 8e6: 7 fit → 3 parts → 6 + 6 + 4
  const p = planMicroBatch(m, run, budget(4 * MiB + 7.5e6));
  assert.deepEqual([p.microBatch, p.parts, p.fits], [6, 3, true]);
  // One tensor of 0.25e6 bytes a tile, at most 1e6: 4 tiles.
  assert.equal(planMicroBatch(m, run, budget(Infinity, 1e6)).microBatch, 4);
  // Not even one tile fits.
  assert.equal(planMicroBatch(m, run, budget(4 * MiB)).fits, false);
  // An explicit size is kept (capped at the batch), fitting or not.
  assert.equal(planMicroBatch(m, { ...run, wanted: 20 }, budget(Infinity)).microBatch, 16);
  assert.deepEqual(
    [planMicroBatch(m, { ...run, wanted: 5 }, budget(4 * MiB)).microBatch, 4],
    [5, 4],
  );
  assert.equal(memoryBudget("wasm", 0, 100 * MiB).totalBytes, 0.9 * 4096 * MiB - 100 * MiB);
  assert.equal(memoryBudget("cpu", 0).totalBytes, Infinity);
  assert.equal(memoryBudget("webgpu", 64).totalBytes, 64 * MiB);
  assert.equal(
    memoryBudget("webgpu", 0, 0, { maxBufferSize: 8 * MiB, maxStorageBufferBindingSize: 4 * MiB })
      .tensorBytes,
    4 * MiB,
  );
});

Deno.test("memory: train with a budget below one tile's step is one line saying what to change; a budget splits the batch and the log records the plan", async () => {
  const root = await Deno.makeTempDir({ prefix: "vessel-seg-memory-" });
  try {
    const prepared = join(root, "prepared");
    await writeTinyPrepared(prepared, { train: 4, val: 2, sizePx: 32, seed: 3 });
    const lines: string[] = [];
    const opts = {
      quiet: true,
      log: (l: string) => lines.push(l),
      print: () => {},
      keepBackend: true,
    };
    const base = { prepared, batchSize: 4, epochs: 1, model: { depth: 2, baseFilters: 4 } };
    await assert.rejects(
      train(makeConfig("tiny", { ...base, out: join(root, "a"), memoryBudgetMiB: 0.01 }), opts),
      /one 32² tile needs about .* MiB for a training step, more than 10 KiB \(--memory-budget 0.01\): use a smaller --scale/,
    );
    // Enough for the resident bytes and about two tiles: the batch of 4 goes as 2 + 2.
    const probe = buildUNet({ depth: 2, baseFilters: 4, batchNorm: true, seed: 0 });
    const cfg = makeConfig("tiny", { ...base, out: join(root, "b") });
    const m = await measureStepMemory(probe, varsOf(probe), makeLoss(cfg.loss), {
      depth: 2,
      optim: cfg.optim,
      ema: false,
    });
    probe.dispose();
    const budgetMiB = (stepPeakBytes(m, 4, 2, 32) + 0.5 * 32 * 32 * m.bytesPerPixel) / 2 ** 20;
    const r = await train({ ...cfg, memoryBudgetMiB: budgetMiB }, opts);
    assert.equal(r.status, "done");
    const start = JSON.parse(
      (await Deno.readTextFile(join(root, "b", "log.jsonl"))).split("\n")[0],
    );
    assert.equal(start.memory.microBatch, 2);
    assert.equal(start.memory.parts, 2);
    assert.ok(lines.some((l) => /→ micro-batches of 2 \(2 a step/.test(l)), lines.join("\n"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("memory: the study preset's batch of 16 × 128² is over the wasm heap's budget and the plan splits it into 2 × 8 that fit", async () => {
  const cfg = makeConfig("study", { prepared: "p", out: "o" });
  const model = buildUNet(cfg.model);
  const vars = varsOf(model);
  const m = await measureStepMemory(model, vars, makeLoss(cfg.loss), {
    depth: cfg.model.depth,
    optim: cfg.optim,
    ema: false,
  });
  model.dispose();
  const budget = memoryBudget("wasm", 0);
  const plan = planMicroBatch(m, { batchSize: 16, wanted: "auto", sidePx: 128 }, budget);
  console.log(
    `  full batch ${(plan.fullBatchBytes / 2 ** 20).toFixed(0)} MiB, plan ${plan.parts} × ` +
      `${plan.microBatch}: ${(plan.peakBytes / 2 ** 20).toFixed(0)} MiB of ` +
      `${(budget.totalBytes / 2 ** 20).toFixed(0)}`,
  );
  assert.ok(
    plan.fullBatchBytes > budget.totalBytes,
    "the full batch does not fit (the old failure)",
  );
  assert.deepEqual([plan.parts, plan.microBatch, plan.fits], [2, 8, true]);
});
