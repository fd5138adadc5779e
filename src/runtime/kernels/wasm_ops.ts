/**
 * Training kernels for tfjs-backend-wasm on this project's own WebAssembly SIMD module
 * (`wasm_ops.wat`), instantiated on the backend's heap, so they read and write tfjs tensors in
 * place, with no copies in or out. The same module serves the filter gradient
 * (`./conv2d_backprop_filter.ts`: `to_planes`, `dw_gemm`), the fused batch-norm and ReLU-gradient
 * kernels of `src/runtime/fused_ops.ts` ({@linkcode batchNormTrainKernel},
 * {@linkcode batchNormTrainGradKernel}, {@linkcode reluGradKernel}) and, on the threaded build,
 * a helper thread (`./wasm_ops_helper.ts`).
 *
 * The memory-bound stock kernels it replaces, and why (tfjs-backend-wasm 4.22):
 *
 * | kernel | stock | here |
 * |---|---|---|
 * | `Sum`, `Mean` over all axes but the last (batch-norm statistics and gradients) | transposes the whole tensor to channels-first, then reduces | one pass, per-channel SIMD accumulators |
 * | `FusedBatchNorm` | per element index arithmetic | (x − μ)·a + β, 4 channels per instruction |
 * | `MaxPoolGrad` 2×2 stride 2 | generic window loop | one pass over the windows |
 * | `Concat` / `SplitV` on the channel axis (U-Net skips) | strided slices | row copies |
 * | `DepthToSpace` (the 2×2 transposed convolution's scatter) | per element loop | row copies |
 * | `Add`, `Sub`, `Multiply`, `RealDiv` of a tensor and a per-channel vector | generic broadcast loop | 4 channels per instruction |
 * | `Identity` (tfjs clones every tensor saved for the gradient), `Cast` to the same dtype | copies the tensor | shares it (reference count), as the cpu backend does |
 *
 * Any case outside these (other axes, dtypes, channel counts not a multiple of 4, empty tensors)
 * goes to the stock kernel. Each is tested against tfjs's stock cpu backend in
 * `wasm_ops_test.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { decodeBase64 } from "../../base64.ts";
import {
  WASM_OPS_BASE64,
  WASM_OPS_FMA_BASE64,
  WASM_OPS_SHARED_BASE64,
  WASM_OPS_SHARED_FMA_BASE64,
} from "./wasm_ops_bytes.ts";
import { FUSED_KERNELS, fusedKernelsTake } from "../fused_ops.ts";
import { type OpsHelper, opsHelperFor, startOpsHelper } from "./wasm_ops_helper.ts";

type TensorInfo = tf.TensorInfo;

/** The exports of `wasm_ops.wat` (pointers are byte offsets into the tfjs heap). */
export interface OpsExports {
  chan_sum(x: number, rows: number, c: number, out: number, tmp: number): void;
  chan_norm(
    x: number,
    rows: number,
    c: number,
    mean: number,
    a: number,
    b: number,
    y: number,
  ): void;
  chan_sqdev_sum(x: number, rows: number, c: number, mean: number, out: number, tmp: number): void;
  bn_grad_sums(
    x: number,
    dy: number,
    rows: number,
    c: number,
    mean: number,
    s1: number,
    s2: number,
    tmp: number,
  ): void;
  bn_grad_dx(
    x: number,
    dy: number,
    rows: number,
    c: number,
    mean: number,
    a: number,
    b: number,
    c0: number,
    dx: number,
  ): void;
  relu_grad(x: number, dy: number, n: number, dx: number): void;
  chan_binop(x: number, rows: number, c: number, v: number, y: number, op: number): void;
  maxpool2_grad(x: number, dy: number, dx: number, r: number, wo: number, c: number): void;
  dw_gemm(
    planes: number,
    plane: number,
    grid: number,
    co: number,
    ci: number,
    offs: number,
    ntaps: number,
    k0: number,
    k1: number,
    out: number,
  ): void;
  to_planes(
    src: number,
    n: number,
    h: number,
    w: number,
    c: number,
    dst: number,
    plane: number,
    hp: number,
    wp: number,
    pt: number,
    pl: number,
    srcPix: number,
    rowSkip: number,
    imgSkip: number,
  ): void;
  wino_filter(g: number, ci: number, co: number, u: number): void;
  wino_conv(params: number, t0: number, t1: number, scratch: number): void;
  wino_gemm(a: number, b: number, rows: number, k: number, cols: number, out: number): void;
  wino_dw(params: number, t0: number, t1: number, scratch: number, m: number): void;
  wino_filter_out(m0: number, m1: number, ci: number, co: number, dw: number): void;
  copy_rows(
    src: number,
    srcStride: number,
    dst: number,
    dstStride: number,
    rows: number,
    len: number,
  ): void;
}

/** What these kernels use of tfjs-backend-wasm's `BackendWasm`. */
export interface WasmBackendLike {
  wasm: { asm?: { memory?: unknown }; wasmMemory?: unknown };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: unknown): boolean;
  incRef(dataId: unknown): void;
}

const instances = new WeakMap<WebAssembly.Memory, OpsExports>();

/** The tfjs heap's `WebAssembly.Memory`, or undefined when the build does not expose it. */
function heapMemory(backend: WasmBackendLike): WebAssembly.Memory | undefined {
  for (const m of [backend.wasm.asm?.memory, backend.wasm.wasmMemory]) {
    if (m instanceof WebAssembly.Memory) return m;
  }
  return undefined;
}

const modules = new Map<string, WebAssembly.Module>();

let fmaChoice: boolean | undefined;

/**
 * Whether the kernels use relaxed SIMD's fused multiply–add (`f32x4.relaxed_madd`, in the
 * Winograd matmul): when the engine validates it, unless `VESSEL_SEG_WASM_FMA=0`. Fused and
 * unfused results differ in the last bits; on one machine and engine a run stays bit-identical.
 */
export function wasmFma(): boolean {
  if (fmaChoice === undefined) {
    const env = (() => {
      try {
        return Deno.env.get("VESSEL_SEG_WASM_FMA");
      } catch {
        return undefined;
      }
    })();
    fmaChoice = env !== "0" && WebAssembly.validate(decodeBase64(WASM_OPS_FMA_BASE64));
  }
  return fmaChoice;
}

/** The compiled module for a plain (`shared` false) or shared heap, compiled once. */
function opsModule(shared: boolean): WebAssembly.Module {
  const fma = wasmFma();
  const key = `${shared}/${fma}`;
  let m = modules.get(key);
  if (m === undefined) {
    const base64 = fma
      ? (shared ? WASM_OPS_SHARED_FMA_BASE64 : WASM_OPS_FMA_BASE64)
      : (shared ? WASM_OPS_SHARED_BASE64 : WASM_OPS_BASE64);
    m = new WebAssembly.Module(decodeBase64(base64));
    modules.set(key, m);
  }
  return m;
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

/** `backend`'s heap memory when `backend` is tfjs-backend-wasm, else undefined. */
function memoryOf(backend: unknown): WebAssembly.Memory | undefined {
  const b = backend as Partial<WasmBackendLike>;
  if (b.wasm === undefined || b.dataIdMap === undefined) return undefined;
  return heapMemory(b as WasmBackendLike);
}

/** This project's module instantiated on `backend`'s heap (cached per heap). */
export function wasmOpsFor(backend: unknown): OpsExports | undefined {
  const memory = memoryOf(backend);
  if (memory === undefined) return undefined;
  let ops = instances.get(memory);
  if (ops === undefined) {
    const instance = new WebAssembly.Instance(opsModule(isShared(memory)), { env: { memory } });
    ops = instance.exports as unknown as OpsExports;
    instances.set(memory, ops);
  }
  return ops;
}

/**
 * Starts the second thread for these kernels when `backend` is tfjs-backend-wasm's threaded
 * build (shared heap); resolves to whether one runs. See `./wasm_ops_helper.ts`.
 */
export async function startWasmOpsHelper(backend: unknown): Promise<boolean> {
  const memory = memoryOf(backend);
  if (memory === undefined || !isShared(memory)) return false;
  return (await startOpsHelper(memory, opsModule(true))) !== undefined;
}

/** The helper thread started for `backend`'s heap, if any. */
export function wasmOpsHelperFor(backend: unknown): OpsHelper | undefined {
  const memory = memoryOf(backend);
  return memory === undefined ? undefined : opsHelperFor(memory);
}

/** Byte offset of `t`'s data in the wasm heap. */
export function ptr(backend: WasmBackendLike, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A float32 scratch tensor on the heap holding `values`. */
function scratch(backend: WasmBackendLike, values: Float32Array): TensorInfo {
  const t = backend.makeOutput([values.length], "float32");
  (backend.typedArrayFromHeap(t) as Float32Array).set(values);
  return t;
}

/** `Sum` (`mean` false) or `Mean` (`mean` true) over every axis but the last. */
export function makeChannelReduce(mean: boolean, stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as WasmBackendLike;
    const x = args.inputs.x as TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as {
      axis: number | number[];
      keepDims: boolean;
    };
    const ops = wasmOpsFor(backend);
    const rank = x.shape.length;
    const c = x.shape[rank - 1];
    const n = size(x.shape);
    if (ops === undefined || x.dtype !== "float32" || rank < 2 || c % 4 !== 0 || n === 0) {
      return stock(args);
    }
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    if (axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return stock(args);
    const rows = n / c;
    const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), c] : [c], "float32");
    const tmp = backend.makeOutput([c], "float32");
    ops.chan_sum(ptr(backend, x), rows, c, ptr(backend, out), ptr(backend, tmp));
    backend.disposeData(tmp.dataId);
    if (mean) {
      const v = backend.typedArrayFromHeap(out) as Float32Array;
      for (let k = 0; k < c; k++) v[k] = v[k] / rows;
    }
    return out;
  };
}

/** `FusedBatchNorm` with per-channel statistics (rank-1 mean, variance, scale, offset). */
export function makeFusedBatchNorm(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as WasmBackendLike;
    const { x, mean, variance, offset, scale } = args.inputs as Record<
      string,
      TensorInfo | undefined
    >;
    const eps = (args.attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
    const ops = wasmOpsFor(backend);
    const c = x!.shape[x!.shape.length - 1];
    const perChannel = (t: TensorInfo | undefined) =>
      t === undefined || (t.dtype === "float32" && t.shape.length === 1 && t.shape[0] === c);
    if (
      ops === undefined || x!.dtype !== "float32" || x!.shape.length < 2 || c % 4 !== 0 ||
      size(x!.shape) === 0 || ![mean, variance, offset, scale].every(perChannel) ||
      mean === undefined || variance === undefined
    ) {
      return stock(args);
    }
    const read = (t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    const mu = read(mean), v = read(variance);
    const g = scale === undefined ? undefined : read(scale);
    const beta = offset === undefined ? undefined : read(offset);
    const params = new Float32Array(3 * c); // [mean | a | b]
    for (let k = 0; k < c; k++) {
      params[k] = mu[k];
      params[c + k] = (g === undefined ? 1 : g[k]) / Math.sqrt(v[k] + eps);
      params[2 * c + k] = beta === undefined ? 0 : beta[k];
    }
    const p = scratch(backend, params);
    const y = backend.makeOutput(x!.shape, "float32");
    const base = ptr(backend, p);
    ops.chan_norm(
      ptr(backend, x!),
      size(x!.shape) / c,
      c,
      base,
      base + 4 * c,
      base + 8 * c,
      ptr(backend, y),
    );
    backend.disposeData(p.dataId);
    return y;
  };
}

/** Binary kernels {@linkcode makeChannelBinary} replaces. */
export type ChannelBinaryKernel = "Add" | "Sub" | "Multiply" | "RealDiv";

/**
 * `Add`, `Sub`, `Multiply` or `RealDiv` of a float32 tensor and a per-channel vector (shape
 * `[C]` or `[1, …, 1, C]`, either operand), broadcast along every axis but the last.
 */
export function makeChannelBinary(kind: ChannelBinaryKernel, stock: tf.KernelFunc): tf.KernelFunc {
  // op codes of chan_binop: [vector second, vector first]
  const codes: Record<ChannelBinaryKernel, [number, number]> = {
    Add: [0, 0],
    Sub: [1, 2],
    Multiply: [3, 3],
    RealDiv: [4, 5],
  };
  return (args) => {
    const backend = args.backend as unknown as WasmBackendLike;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const ops = wasmOpsFor(backend);
    if (ops === undefined || a.dtype !== "float32" || b.dtype !== "float32") return stock(args);
    const vectorFirst = size(a.shape) < size(b.shape);
    const [full, vec] = vectorFirst ? [b, a] : [a, b];
    const rank = full.shape.length;
    const c = full.shape[rank - 1];
    const isChannelVector = vec.shape.length >= 1 && vec.shape.length <= rank &&
      vec.shape[vec.shape.length - 1] === c && size(vec.shape) === c;
    if (rank < 2 || c % 4 !== 0 || !isChannelVector || size(full.shape) <= c) return stock(args);
    const y = backend.makeOutput(full.shape, "float32");
    ops.chan_binop(
      ptr(backend, full),
      size(full.shape) / c,
      c,
      ptr(backend, vec),
      ptr(backend, y),
      codes[kind][vectorFirst ? 1 : 0],
    );
    return y;
  };
}

/** `MaxPoolGrad` of a 2×2, stride-2 max pool without padding on even-sided NHWC input. */
export function makeMaxPoolGrad(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as WasmBackendLike;
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
      filterSize: [number, number] | number;
      strides: [number, number] | number;
      pad: "valid" | "same" | number;
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    const ops = wasmOpsFor(backend);
    if (ops === undefined || input.dtype !== "float32" || dy.dtype !== "float32") {
      return stock(args);
    }
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const { padInfo } = info;
    const fits = info.filterHeight === 2 && info.filterWidth === 2 &&
      info.strideHeight === 2 && info.strideWidth === 2 &&
      padInfo.top === 0 && padInfo.left === 0 && padInfo.bottom === 0 && padInfo.right === 0 &&
      info.inHeight === 2 * info.outHeight && info.inWidth === 2 * info.outWidth &&
      info.inChannels % 4 === 0 && size(input.shape) > 0;
    if (!fits) return stock(args);
    const dx = backend.makeOutput(input.shape, "float32");
    ops.maxpool2_grad(
      ptr(backend, input),
      ptr(backend, dy),
      ptr(backend, dx),
      info.batchSize * info.outHeight,
      info.outWidth,
      info.inChannels,
    );
    return dx;
  };
}

/** Whether `axis` (tfjs's attribute: a number, or an array holding one) is the last of `rank`. */
function lastAxis(axis: number | number[], rank: number): boolean {
  const a = Array.isArray(axis) ? axis[0] : axis;
  return a === rank - 1 || a === -1;
}

/** `Concat` along the last axis of float32 tensors whose channel counts are multiples of 4. */
export function makeConcat(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as WasmBackendLike;
    const xs = Object.values(args.inputs) as TensorInfo[];
    const axis = (args.attrs as unknown as { axis: number | number[] }).axis;
    const ops = wasmOpsFor(backend);
    if (ops === undefined || xs.length < 2) return stock(args);
    const rank = xs[0].shape.length;
    const lead = xs[0].shape.slice(0, -1);
    const fits = rank >= 2 && lastAxis(axis, rank) &&
      xs.every((t) =>
        t.dtype === "float32" && t.shape.length === rank && t.shape[rank - 1] % 4 === 0 &&
        t.shape[rank - 1] > 0 && t.shape.slice(0, -1).every((d, i) => d === lead[i])
      ) && size(lead) > 0;
    if (!fits) return stock(args);
    const total = xs.reduce((s, t) => s + t.shape[rank - 1], 0);
    const out = backend.makeOutput([...lead, total], "float32");
    const rows = size(lead);
    let dst = ptr(backend, out);
    for (const t of xs) {
      const c = t.shape[rank - 1];
      ops.copy_rows(ptr(backend, t), c, dst, total, rows, c);
      dst += 4 * c;
    }
    return out;
  };
}

/** `SplitV` along the last axis of a float32 tensor into parts whose sizes are multiples of 4. */
export function makeSplitV(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as WasmBackendLike;
    const x = args.inputs.x as TensorInfo;
    const { numOrSizeSplits, axis } = args.attrs as unknown as {
      numOrSizeSplits: number | number[];
      axis: number;
    };
    const ops = wasmOpsFor(backend);
    const rank = x.shape.length;
    if (
      ops === undefined || x.dtype !== "float32" || rank < 2 || !lastAxis(axis, rank) ||
      size(x.shape) === 0
    ) {
      return stock(args);
    }
    const sizes = tf.backend_util.prepareSplitSize(
      x as unknown as tf.Tensor,
      numOrSizeSplits,
      rank - 1,
    );
    if (sizes.some((s) => s <= 0 || s % 4 !== 0)) return stock(args);
    const lead = x.shape.slice(0, -1);
    const rows = size(lead);
    const total = x.shape[rank - 1];
    let src = ptr(backend, x);
    return sizes.map((c) => {
      const out = backend.makeOutput([...lead, c], "float32");
      ops.copy_rows(src, total, ptr(backend, out), c, rows, c);
      src += 4 * c;
      return out;
    });
  };
}

/**
 * `DepthToSpace` (NHWC, TensorFlow's block order): out[n, y·b + i, x·b + j, c] =
 * in[n, y, x, (i·b + j)·C + c]. For fixed (n, y, i) the b·C values of each input pixel at block
 * row i are one contiguous run in both tensors, so each output row is one `copy_rows` call.
 */
export function makeDepthToSpace(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const backend = args.backend as unknown as WasmBackendLike;
    const x = args.inputs.x as TensorInfo;
    const { blockSize: b, dataFormat } = args.attrs as unknown as {
      blockSize: number;
      dataFormat: "NHWC" | "NCHW";
    };
    const ops = wasmOpsFor(backend);
    if (
      ops === undefined || x.dtype !== "float32" || dataFormat !== "NHWC" ||
      x.shape.length !== 4 || size(x.shape) === 0
    ) {
      return stock(args);
    }
    const [n, h, w, depth] = x.shape;
    const c = depth / (b * b);
    if (!Number.isInteger(c) || (b * c) % 4 !== 0) return stock(args);
    const out = backend.makeOutput([n, h * b, w * b, c], "float32");
    const src = ptr(backend, x), dst = ptr(backend, out);
    const run = 4 * b * c; // bytes of one pixel's block row
    for (let r = 0; r < n * h; r++) {
      for (let i = 0; i < b; i++) {
        ops.copy_rows(
          src + r * w * b * run + i * run,
          b * b * c,
          dst + (r * b + i) * w * run,
          b * c,
          w,
          b * c,
        );
      }
    }
    return out;
  };
}

/** `Cast` to the tensor's own dtype shares its memory like {@linkcode makeIdentity}. */
export function makeCast(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
    if (x.dtype === "string" || dtype !== x.dtype) return stock(args);
    (args.backend as unknown as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/** `Identity` that shares the input's memory (reference counted) instead of copying it. */
export function makeIdentity(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as TensorInfo;
    if (x.dtype === "string") return stock(args);
    (args.backend as unknown as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

function checkFused(name: string, x: TensorInfo): void {
  if (!fusedKernelsTake(x)) {
    throw new Error(
      `${name}: needs float32 NHWC with channels % 4 == 0, got ${x.dtype} [${x.shape}]`,
    );
  }
}

/**
 * Batch norm in training mode over every axis but the last: inputs `x`, `scale` (γ), `offset`
 * (β); attribute `varianceEpsilon`; outputs `[y, mean, variance]` with the batch mean and biased
 * variance (what `tf.moments` gives) and y = (x − mean)·γ/√(variance + ε) + β. Three passes over
 * x: sum, sum of squared deviations, normalise.
 */
export const batchNormTrainKernel: tf.KernelFunc = (args) => {
  const backend = args.backend as unknown as WasmBackendLike;
  const { x, scale, offset } = args.inputs as Record<string, TensorInfo>;
  const eps = (args.attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
  checkFused(FUSED_KERNELS.batchNormTrain, x);
  const ops = wasmOpsFor(backend)!;
  const c = x.shape[x.shape.length - 1], rows = size(x.shape) / c;
  const mean = backend.makeOutput([c], "float32");
  const variance = backend.makeOutput([c], "float32");
  const tmp = backend.makeOutput([3 * c], "float32"); // [scratch | a | b]
  const px = ptr(backend, x), pm = ptr(backend, mean), pv = ptr(backend, variance);
  const pt = ptr(backend, tmp);
  ops.chan_sum(px, rows, c, pm, pt);
  const m = backend.typedArrayFromHeap(mean) as Float32Array;
  for (let k = 0; k < c; k++) m[k] = m[k] / rows;
  ops.chan_sqdev_sum(px, rows, c, pm, pv, pt);
  const v = backend.typedArrayFromHeap(variance) as Float32Array;
  const t = backend.typedArrayFromHeap(tmp) as Float32Array;
  const g = backend.typedArrayFromHeap(scale) as Float32Array;
  const beta = backend.typedArrayFromHeap(offset) as Float32Array;
  for (let k = 0; k < c; k++) {
    v[k] = v[k] / rows;
    t[c + k] = g[k] / Math.sqrt(v[k] + eps);
    t[2 * c + k] = beta[k];
  }
  const y = backend.makeOutput(x.shape, "float32");
  ops.chan_norm(px, rows, c, pm, pt + 4 * c, pt + 8 * c, ptr(backend, y));
  backend.disposeData(tmp.dataId);
  return [y, mean, variance];
};

/**
 * The gradient of {@linkcode batchNormTrainKernel}: inputs `dy`, `x`, `mean`, `variance`,
 * `scale`; outputs `[dx, dscale, doffset]`. With r = 1/√(variance + ε), N rows, S1 = Σ dy and
 * S2 = Σ dy·(x − mean) per channel: dβ = S1, dγ = r·S2 and
 * dx = γr·dy − γr³·S2/N·(x − mean) − γr·S1/N — the gradient through the batch statistics
 * included. Two passes: the sums, then dx.
 */
export const batchNormTrainGradKernel: tf.KernelFunc = (args) => {
  const backend = args.backend as unknown as WasmBackendLike;
  const { dy, x, mean, variance, scale } = args.inputs as Record<string, TensorInfo>;
  const eps = (args.attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
  checkFused(FUSED_KERNELS.batchNormTrainGrad, x);
  const ops = wasmOpsFor(backend)!;
  const c = x.shape[x.shape.length - 1], rows = size(x.shape) / c;
  const dScale = backend.makeOutput([c], "float32");
  const dOffset = backend.makeOutput([c], "float32");
  const tmp = backend.makeOutput([5 * c], "float32"); // [scratch 2C | a | b | c0]
  const px = ptr(backend, x), pdy = ptr(backend, dy), pm = ptr(backend, mean);
  const pt = ptr(backend, tmp);
  // S1 → dOffset, S2 → dScale (scaled by r below)
  ops.bn_grad_sums(px, pdy, rows, c, pm, ptr(backend, dOffset), ptr(backend, dScale), pt);
  const s1 = backend.typedArrayFromHeap(dOffset) as Float32Array;
  const s2 = backend.typedArrayFromHeap(dScale) as Float32Array;
  const v = backend.typedArrayFromHeap(variance) as Float32Array;
  const g = backend.typedArrayFromHeap(scale) as Float32Array;
  const t = backend.typedArrayFromHeap(tmp) as Float32Array;
  for (let k = 0; k < c; k++) {
    const r = 1 / Math.sqrt(v[k] + eps), gr = g[k] * r;
    t[2 * c + k] = gr;
    t[3 * c + k] = -gr * r * r * s2[k] / rows;
    t[4 * c + k] = -gr * s1[k] / rows;
    s2[k] = r * s2[k];
  }
  const dx = backend.makeOutput(x.shape, "float32");
  ops.bn_grad_dx(px, pdy, rows, c, pm, pt + 8 * c, pt + 12 * c, pt + 16 * c, ptr(backend, dx));
  backend.disposeData(tmp.dataId);
  return [dx, dScale, dOffset];
};

/** ReLU's gradient in one pass: inputs `dy`, `x`; dx = x > 0 ? dy : 0. */
export const reluGradKernel: tf.KernelFunc = (args) => {
  const backend = args.backend as unknown as WasmBackendLike;
  const { dy, x } = args.inputs as Record<string, TensorInfo>;
  checkFused(FUSED_KERNELS.reluGrad, x);
  const dx = backend.makeOutput(x.shape, "float32");
  wasmOpsFor(backend)!.relu_grad(
    ptr(backend, x),
    ptr(backend, dy),
    size(x.shape),
    ptr(backend, dx),
  );
  return dx;
};
