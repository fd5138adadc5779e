/**
 * This project's replacement kernels and their registration per backend.
 *
 * | backend | kernel | why |
 * |---|---|---|
 * | webgpu | `Conv2DBackpropFilter` | stock shader loops over N·H·W; Mesa stops loops at 65 535 → wrong gradients |
 * | wasm | `Conv2DBackpropFilter` | missing in tfjs-backend-wasm 4.22 (training fails); 3×3 stride 1 by Winograd F(3×3, 2×2) |
 * | wasm | `Conv2DBackpropInput` | stock is a direct loop; rewritten onto `Conv2D` / XNNPACK matmul |
 * | wasm | `Conv2D`, `FusedConv2D` | 3×3 stride 1: Winograd F(2×2, 3×3), 2.25× fewer multiply–adds (`./conv2d_winograd.ts`) |
 * | wasm | `Sum`, `Mean`, `FusedBatchNorm`, `MaxPoolGrad`, `Concat`, `SplitV`, `DepthToSpace`, `Identity`, `Cast`, `Add`, `Sub`, `Multiply`, `RealDiv` | memory-bound; see `./wasm_ops.ts` |
 * | cpu | `Conv2DBackpropFilter` | stock reads element by element through `TensorBuffer.get` |
 * | all | gradient of `FusedBatchNorm` | stock tiles per-channel factors to full size (`Tile`) |
 * | all | gradient of `Relu` | one fused kernel where the backend has it (wasm), see `src/runtime/fused_ops.ts` |
 * | wasm | `VesselSegBatchNormTrain(Grad)`, `VesselSegReluGrad` | this project's fused kernels for `src/runtime/fused_ops.ts` |
 *
 * Gradients are registered for all backends at once (tfjs has one gradient registry); the
 * project's batch-norm gradient is installed by {@linkcode registerProjectKernels} for any backend
 * and removed by {@linkcode restoreStockKernels}.
 *
 * The stock kernel configs are kept so that {@linkcode restoreStockKernels} can put them back (the
 * benchmark's baseline).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  conv2dBackpropFilterCpu,
  makeConv2DBackpropFilterMatMul,
} from "./conv2d_backprop_filter.ts";
import { makeConv2DBackpropInput } from "./conv2d_backprop_input.ts";
import {
  makeConv2DBackpropFilterWinograd,
  makeConv2DWinograd,
  makeFusedConv2DWinograd,
} from "./conv2d_winograd.ts";
import { makeBatchNormGrad } from "./batch_norm_grad.ts";
import {
  batchNormTrainGradKernel,
  batchNormTrainKernel,
  makeCast,
  makeChannelBinary,
  makeChannelReduce,
  makeConcat,
  makeDepthToSpace,
  makeFusedBatchNorm,
  makeIdentity,
  makeMaxPoolGrad,
  makeSplitV,
  reluGradKernel,
} from "./wasm_ops.ts";
import { FUSED_KERNELS, reluGrad } from "../fused_ops.ts";

/** Backends with project kernels. */
export type KernelBackendName = "webgpu" | "wasm" | "cpu";

/** The kernels this project registers for `backend`; `stockOf` gives a stock kernel to fall back on. */
export function projectKernels(
  backend: KernelBackendName,
  stockOf: (kernelName: string) => tf.KernelFunc,
): tf.KernelConfig[] {
  switch (backend) {
    case "webgpu":
      // ≤ 16 384 rows per matmul: no shader loop gets near Mesa's 65 535-iteration cap.
      return [{
        kernelName: "Conv2DBackpropFilter",
        backendName: "webgpu",
        kernelFunc: makeConv2DBackpropFilterMatMul({ maxRows: 16384, maxColElements: 1 << 24 }),
      }];
    case "wasm":
      // ≤ 64 MiB of planes (or column buffer) per chunk.
      return [{
        kernelName: "Conv2DBackpropFilter",
        backendName: "wasm",
        kernelFunc: makeConv2DBackpropFilterWinograd(makeConv2DBackpropFilterMatMul({
          maxRows: 1 << 20,
          maxColElements: 1 << 24,
          method: "planes",
        })),
      }, {
        kernelName: "Conv2DBackpropInput",
        backendName: "wasm",
        kernelFunc: makeConv2DBackpropInput(stockOf("Conv2DBackpropInput")),
      }, {
        kernelName: "Conv2D",
        backendName: "wasm",
        kernelFunc: makeConv2DWinograd(stockOf("Conv2D")),
      }, {
        kernelName: "FusedConv2D",
        backendName: "wasm",
        kernelFunc: makeFusedConv2DWinograd(stockOf("FusedConv2D")),
      }, ...wasmOps(stockOf)];
    case "cpu":
      return [{
        kernelName: "Conv2DBackpropFilter",
        backendName: "cpu",
        kernelFunc: conv2dBackpropFilterCpu,
      }];
  }
}

/** The memory-bound kernels of `./wasm_ops.ts`, each falling back on its stock kernel. */
function wasmOps(stockOf: (kernelName: string) => tf.KernelFunc): tf.KernelConfig[] {
  const makers: [string, (stock: tf.KernelFunc) => tf.KernelFunc][] = [
    ["Sum", (stock) => makeChannelReduce(false, stock)],
    ["Mean", (stock) => makeChannelReduce(true, stock)],
    ["FusedBatchNorm", makeFusedBatchNorm],
    ["MaxPoolGrad", makeMaxPoolGrad],
    ["Concat", makeConcat],
    ["SplitV", makeSplitV],
    ["DepthToSpace", makeDepthToSpace],
    ["Identity", makeIdentity],
    ["Cast", makeCast],
    ...(["Add", "Sub", "Multiply", "RealDiv"] as const).map((
      k,
    ): [string, (stock: tf.KernelFunc) => tf.KernelFunc] => [
      k,
      (stock) => makeChannelBinary(k, stock),
    ]),
  ];
  const fused: [string, tf.KernelFunc][] = [
    [FUSED_KERNELS.batchNormTrain, batchNormTrainKernel],
    [FUSED_KERNELS.batchNormTrainGrad, batchNormTrainGradKernel],
    [FUSED_KERNELS.reluGrad, reluGradKernel],
  ];
  return [
    ...makers.map(([kernelName, make]) => ({
      kernelName,
      backendName: "wasm",
      kernelFunc: make(stockOf(kernelName)),
    })),
    ...fused.map(([kernelName, kernelFunc]) => ({ kernelName, backendName: "wasm", kernelFunc })),
  ];
}

/** Stock configs replaced so far, by `backend/kernel` (`null`: there was none). */
const stock = new Map<string, tf.KernelConfig | null>();

function replace(cfg: tf.KernelConfig | null, kernelName: string, backendName: string): void {
  if (tf.getKernel(kernelName, backendName) !== undefined) {
    tf.unregisterKernel(kernelName, backendName);
  }
  if (cfg !== null) tf.registerKernel(cfg);
}

/**
 * Registers this project's kernels for `backend`, replacing the stock ones (idempotent).
 *
 * @example
 * ```ts ignore
 * await tf.setBackend("wasm");
 * registerProjectKernels("wasm"); // tf.grad through conv2d now works on wasm
 * ```
 */
export function registerProjectKernels(backend: KernelBackendName): void {
  const stockOf = (kernelName: string): tf.KernelFunc => {
    const key = `${backend}/${kernelName}`;
    if (!stock.has(key)) stock.set(key, tf.getKernel(kernelName, backend) ?? null);
    const cfg = stock.get(key);
    if (cfg === null || cfg === undefined) {
      return () => {
        throw new Error(`Kernel '${kernelName}' not registered for backend '${backend}'`);
      };
    }
    return cfg.kernelFunc;
  };
  for (const cfg of projectKernels(backend, stockOf)) {
    stockOf(cfg.kernelName); // remember the stock kernel before replacing it
    replace(cfg, cfg.kernelName, backend);
  }
  useProjectGradients(true);
}

let stockBatchNormGrad: tf.GradConfig | undefined;
let stockReluGrad: tf.GradConfig | undefined;

/** ReLU's gradient through {@linkcode reluGrad} (one fused kernel where the backend has it). */
const projectReluGrad: tf.GradConfig = {
  kernelName: "Relu",
  inputsToSave: ["x"],
  gradFunc: (dy, saved) => ({ x: () => reluGrad(dy as tf.Tensor, saved[0]) }),
};

function useProjectGradients(on: boolean): void {
  // registerGradient replaces the entry (it warns only with the DEBUG flag on).
  stockBatchNormGrad ??= tf.getGradient("FusedBatchNorm");
  if (stockBatchNormGrad !== undefined) {
    tf.registerGradient(on ? makeBatchNormGrad(stockBatchNormGrad) : stockBatchNormGrad);
  }
  stockReluGrad ??= tf.getGradient("Relu");
  if (stockReluGrad !== undefined) tf.registerGradient(on ? projectReluGrad : stockReluGrad);
}

/** Puts tfjs's stock kernels back for `backend` (undoes {@linkcode registerProjectKernels}). */
export function restoreStockKernels(backend: KernelBackendName): void {
  for (const [key, cfg] of stock) {
    const [b, kernelName] = key.split("/");
    if (b !== backend) continue;
    replace(cfg, kernelName, backend);
    stock.delete(key);
  }
  useProjectGradients(false);
}
