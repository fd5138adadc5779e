/**
 * Same initial weights and the same batches give the same losses and weights on every backend:
 * a small U-Net (depth 2, base 8, batch norm, 2 × 32² tiles) trained for three steps on cpu (the
 * reference), wasm and — when an adapter exists — webgpu, each with this project's kernels.
 * Base 8 gives channel counts (8, 16, 32) that take every project wasm kernel's fast path,
 * including the blocked filter-gradient matmul; the compared weights include batch norm's
 * moving statistics.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { DEFAULT_LOSS, makeLoss } from "../model/losses.ts";
import { buildUNet } from "../model/unet.ts";
import { Rng } from "../rng.ts";
import { initBackend } from "../runtime/backends.ts";
import { hasWebGpuAdapter, relL2 } from "../runtime/kernels/testing.ts";
import { trainStep } from "./loop.ts";
import { Optimizer } from "./optim.ts";

tf.enableProdMode();
const gpu = await hasWebGpuAdapter();

const SIZE = 32, N = 2, STEPS = 3;

/** Three fixed batches: x standard normal, y a seeded blob mask (0/1). */
function fixedBatches(): { x: Float32Array; y: Float32Array }[] {
  const rng = new Rng(11);
  return Array.from({ length: STEPS }, () => {
    const x = new Float32Array(N * SIZE * SIZE * 3).map(() => rng.normal());
    const y = new Float32Array(N * SIZE * SIZE);
    for (let n = 0; n < N; n++) {
      const cx = 8 + rng.int(16), cy = 8 + rng.int(16), r = 4 + rng.int(5);
      for (let i = 0; i < SIZE; i++) {
        for (let j = 0; j < SIZE; j++) {
          if ((i - cy) ** 2 + (j - cx) ** 2 <= r * r) y[n * SIZE * SIZE + i * SIZE + j] = 1;
        }
      }
    }
    return { x, y };
  });
}

async function trainOn(
  backend: "cpu" | "wasm" | "webgpu",
): Promise<{ losses: number[]; weights: Float32Array }> {
  await initBackend(backend);
  const model = buildUNet({ depth: 2, baseFilters: 8, batchNorm: true, seed: 5 });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = new Optimizer(
    { name: "adam", lr: 1e-2, momentum: 0.9, weightDecay: 1e-8, clipNorm: 1 },
    vars,
  );
  const lossFn = makeLoss(DEFAULT_LOSS); // the study's combo loss
  const tiles = Array.from({ length: N }, (_, i) => ({ id: `t${i}` })) as never[];
  const losses: number[] = [];
  for (const b of fixedBatches()) {
    const r = await trainStep(model, vars, lossFn, opt, { ...b, sizePx: SIZE, tiles });
    losses.push(r.loss);
  }
  const parts = await Promise.all(
    model.weights.map((w) => w.read().data() as Promise<Float32Array>),
  );
  const weights = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    weights.set(p, o);
    o += p.length;
  }
  opt.dispose();
  model.dispose();
  return { losses, weights };
}

const reference = await trainOn("cpu");

for (const backend of ["wasm", "webgpu"] as const) {
  const skip = backend === "webgpu" && !gpu;
  Deno.test({
    name: `${backend}: same init and batches give cpu's losses and weights after ${STEPS} steps${
      skip ? " — skipped: no WebGPU adapter" : ""
    }`,
    ignore: skip,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const got = await trainOn(backend);
      const lossErr = Math.max(
        ...got.losses.map((l, i) => Math.abs(l - reference.losses[i]) / reference.losses[i]),
      );
      const wErr = relL2(got.weights, reference.weights);
      console.log(
        `  losses cpu ${reference.losses.map((l) => l.toFixed(5)).join(", ")}; ${backend} ` +
          `${got.losses.map((l) => l.toFixed(5)).join(", ")}; largest relative loss difference ` +
          `${lossErr.toExponential(2)}; weights relative L2 ${wErr.toExponential(2)}`,
      );
      // The losses must actually move, or equality would prove nothing.
      assert.ok(Math.abs(reference.losses[2] - reference.losses[0]) > 1e-3);
      assert.ok(lossErr <= 1e-4, `relative loss difference ${lossErr}`);
      assert.ok(wErr <= 1e-3, `weights relative L2 ${wErr}`);
    },
  });
}
