/**
 * `Conv2D` and `FusedConv2D` for tfjs-backend-wasm through Winograd F(2×2, 3×3) on this project's
 * wasm module (`wino_*` in `./winograd_wat.ts`): 2.25× fewer multiply–adds than the direct
 * convolution XNNPACK runs. The input gradient of a stride-1 3×3 convolution is a forward
 * convolution too (`./conv2d_backprop_input.ts` calls `Conv2D`), so it takes the same path.
 *
 * Taken when the layer is a 3×3, stride-1, dilation-1 NHWC float32 convolution with Cin % 4 == 0
 * and Cout % 8 == 0, no activation or ReLU, and {@linkcode winogradWins} says the shape is
 * faster this way (measured per layer shape in `bench/winograd_bench.ts`); everything else goes to
 * the stock kernel. With the threaded build the tiles are split with the helper thread of
 * `./wasm_ops_helper.ts`.
 *
 * Rounding: Winograd sums in another order and through the transforms' additions, so results
 * differ from a direct convolution by a few float32 ulps of the largest partial sums (tested
 * against tfjs's cpu backend to 2e-6 relative L2 in `conv2d_winograd_test.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ptr, type WasmBackendLike, wasmOpsFor, wasmOpsHelperFor } from "./wasm_ops.ts";
import { WINO_DW_PARAMS, WINO_PARAMS } from "./winograd_wat.ts";
import { convInfo, type FilterGradAttrs } from "./conv2d_backprop_filter.ts";
import type { OpsHelper } from "./wasm_ops_helper.ts";

type TensorInfo = tf.TensorInfo;
type WasmOps = NonNullable<ReturnType<typeof wasmOpsFor>>;

/** Attributes of tfjs's `Conv2D` / `FusedConv2D` kernels. */
interface ConvAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dilations: [number, number] | number;
  dimRoundingMode?: "floor" | "round" | "ceil";
  activation?: string;
}

/** `VESSEL_SEG_WINOGRAD=0` turns the path off (the bench's before/after), `1` forces it on. */
function fromEnv(): boolean | undefined {
  try {
    const v = Deno.env.get("VESSEL_SEG_WINOGRAD");
    return v === "0" ? false : v === "1" ? true : undefined;
  } catch {
    return undefined;
  }
}

let forced: boolean | undefined = fromEnv();
let calls = 0;

/** How many convolutions have run through Winograd in this process (for tests). */
export function winogradCalls(): number {
  return calls;
}

/**
 * Forces the Winograd path on (`true`) or off (`false`) for every eligible shape, or back to the
 * measured choice (`undefined`); for tests and the bench.
 */
export function forceWinograd(on: boolean | undefined): void {
  forced = on ?? fromEnv();
}

/**
 * Whether Winograd beats XNNPACK's direct convolution for this layer shape (`bench/winograd_bench.ts`,
 * bench/README.md): everywhere it was measured except the narrowest layers, where the transforms'
 * memory traffic outweighs the multiply–adds saved.
 */
export function winogradWins(ci: number, co: number): boolean {
  if (forced !== undefined) return forced;
  return ci + co >= 32; // every U-Net layer measured; narrower ones were not
}

/**
 * Tiles per block of the filter gradient: more than the forward's, since each block also reads and
 * writes the sixteen Cin × Cout sums; 64–512, a multiple of 4.
 */
export function winogradFilterBlock(ci: number, co: number): number {
  return Math.max(64, Math.min(512, Math.floor(16384 / (ci + co) / 4) * 4));
}

/** Tiles per block: V and M of a block (16·tb·(ci + co) floats) stay within ≈ 512 KiB. */
export function winogradBlock(ci: number, co: number): number {
  const tb = Math.floor(8192 / (ci + co) / 4) * 4;
  return Math.max(8, Math.min(128, tb));
}

/**
 * Where tiles [0, tiles) split between this thread and the helper thread (a block boundary, the
 * helper taking the second half), or `undefined` to run them all here: no helper, or under two
 * blocks.
 */
function helperSplit(helper: OpsHelper | undefined, tiles: number, tb: number): number | undefined {
  return helper !== undefined && tiles >= 2 * tb ? Math.ceil(tiles / 2 / tb) * tb : undefined;
}

/**
 * Runs `ops[name](...args(t0, t1, part))` over tiles [0, tiles): all here (part 0), or split at
 * `mid` with [mid, tiles) on the helper thread as part 1 (each part has its own scratch).
 */
function runTiles(
  ops: WasmOps,
  helper: OpsHelper | undefined,
  name: "wino_conv" | "wino_dw",
  tiles: number,
  mid: number | undefined,
  args: (t0: number, t1: number, part: number) => number[],
): void {
  const fn = ops[name] as (...a: number[]) => void;
  if (mid === undefined || helper === undefined) return fn(...args(0, tiles, 0));
  helper.start(name, args(mid, tiles, 1));
  try {
    fn(...args(0, mid, 0));
  } finally {
    helper.finish();
  }
}

/**
 * y = conv2d(x, w) (+ bias, then ReLU when `relu`) by Winograd, or `undefined` when the shape is
 * not one this path takes.
 */
export function conv2dWinograd(
  backend: tf.KernelBackend,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  relu: boolean,
  attrs: ConvAttrs,
): TensorInfo | undefined {
  const ops = wasmOpsFor(backend);
  if (ops === undefined || attrs.dataFormat === "NCHW" || x.dtype !== "float32") return undefined;
  if (filter.dtype !== "float32" || x.shape.length !== 4) return undefined;
  const c = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = c;
  if (kh !== 3 || kw !== 3 || c.strideHeight !== 1 || c.strideWidth !== 1) return undefined;
  if (c.dilationHeight !== 1 || c.dilationWidth !== 1) return undefined;
  if (ci % 4 !== 0 || co % 8 !== 0 || !winogradWins(ci, co)) return undefined;
  if (
    bias !== undefined && (bias.dtype !== "float32" || tf.util.sizeFromShape(bias.shape) !== co)
  ) {
    return undefined;
  }
  const { top, left } = c.padInfo;
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: ho, outWidth: wo } = c;
  if (n * ho * wo === 0 || top < 0 || left < 0) return undefined;

  const wb = backend as unknown as WasmBackendLike;
  calls++;
  const th = Math.ceil(ho / 2), tw = Math.ceil(wo / 2), tiles = n * th * tw;
  const tb = winogradBlock(ci, co);
  const helper = wasmOpsHelperFor(backend);
  const mid = helperSplit(helper, tiles, tb);
  const scratchFloats = 16 * tb * (ci + co);
  const u = wb.makeOutput([16 * ci * co], "float32");
  const params = wb.makeOutput([WINO_PARAMS.length], "int32");
  const scratch = wb.makeOutput([(mid === undefined ? 1 : 2) * scratchFloats], "float32");
  const y = wb.makeOutput([n, ho, wo, co], "float32");
  try {
    ops.wino_filter(ptr(wb, filter), ci, co, ptr(wb, u));
    const values: Record<(typeof WINO_PARAMS)[number], number> = {
      x: ptr(wb, x),
      u: ptr(wb, u),
      y: ptr(wb, y),
      bias: bias === undefined ? 0 : ptr(wb, bias),
      relu: relu ? 1 : 0,
      h,
      w,
      ci,
      co,
      ho,
      wo,
      padT: top,
      padL: left,
      tw,
      tpi: th * tw,
      tb,
    };
    (wb.typedArrayFromHeap(params) as Int32Array).set(WINO_PARAMS.map((k) => values[k]));
    const p = ptr(wb, params), s0 = ptr(wb, scratch);
    runTiles(ops, helper, "wino_conv", tiles, mid, (t0, t1, part) => [
      p,
      t0,
      t1,
      s0 + 4 * part * scratchFloats,
    ]);
  } catch (e) {
    wb.disposeData(y.dataId);
    throw e;
  } finally {
    for (const t of [u, params, scratch]) wb.disposeData(t.dataId);
  }
  return y;
}

/** `Conv2D` on wasm: Winograd where {@linkcode conv2dWinograd} takes the shape, else `stock`. */
export function makeConv2DWinograd(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs;
    return conv2dWinograd(args.backend as tf.KernelBackend, x, filter, undefined, false, attrs) ??
      stock(args);
  };
}

/**
 * `FusedConv2D` on wasm (tfjs-layers' convolutions): Winograd with the bias and a linear or ReLU
 * activation fused into the output transform; other activations and PReLU weights go to `stock`.
 */
export function makeFusedConv2DWinograd(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<
      string,
      TensorInfo | undefined
    >;
    const attrs = args.attrs as unknown as ConvAttrs;
    const act = attrs.activation ?? "linear";
    if (preluActivationWeights != null || (act !== "linear" && act !== "relu")) {
      return stock(args);
    }
    const y = conv2dWinograd(
      args.backend as tf.KernelBackend,
      x!,
      filter!,
      bias ?? undefined,
      act === "relu",
      attrs,
    );
    return y ?? stock(args);
  };
}

/**
 * dW of a 3×3 stride-1 convolution by Winograd F(3×3, 2×2) (see `./winograd_wat.ts`), or
 * `undefined` when the shape is not one this path takes. The tiles of dy's 2×2 grid are split with
 * the helper thread when there is one; each thread sums into its own sixteen Cin × Cout matrices,
 * added in the final transform.
 */
export function conv2dBackpropFilterWinograd(
  backend: tf.KernelBackend,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: FilterGradAttrs,
): TensorInfo | undefined {
  const ops = wasmOpsFor(backend);
  if (ops === undefined || attrs.dataFormat === "NCHW" || x.dtype !== "float32") return undefined;
  if (dy.dtype !== "float32" || x.shape.length !== 4) return undefined;
  const c = convInfo(x.shape, attrs);
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = c;
  if (kh !== 3 || kw !== 3 || c.strideHeight !== 1 || c.strideWidth !== 1) return undefined;
  if (ci % 4 !== 0 || co % 8 !== 0 || !winogradWins(ci, co)) return undefined;
  const { top, left } = c.padInfo;
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: ho, outWidth: wo } = c;
  if (n * ho * wo === 0 || top < 0 || left < 0) return undefined;
  if (dy.shape[1] !== ho || dy.shape[2] !== wo || dy.shape[3] !== co) return undefined;

  const wb = backend as unknown as WasmBackendLike;
  calls++;
  const th = Math.ceil(ho / 2), tw = Math.ceil(wo / 2), tiles = n * th * tw;
  const tb = winogradFilterBlock(ci, co);
  const helper = wasmOpsHelperFor(backend);
  const mid = helperSplit(helper, tiles, tb);
  const parts = mid === undefined ? 1 : 2;
  const scratchFloats = 16 * tb * (ci + co), mFloats = 16 * ci * co;
  const params = wb.makeOutput([WINO_DW_PARAMS.length], "int32");
  const scratch = wb.makeOutput([parts * scratchFloats], "float32");
  const m = wb.makeOutput([parts * mFloats], "float32");
  const dw = wb.makeOutput(attrs.filterShape, "float32");
  try {
    (wb.typedArrayFromHeap(m) as Float32Array).fill(0);
    const values: Record<(typeof WINO_DW_PARAMS)[number], number> = {
      x: ptr(wb, x),
      dy: ptr(wb, dy),
      h,
      w,
      ci,
      co,
      ho,
      wo,
      padT: top,
      padL: left,
      tw,
      tpi: th * tw,
      tb,
    };
    (wb.typedArrayFromHeap(params) as Int32Array).set(WINO_DW_PARAMS.map((k) => values[k]));
    const p = ptr(wb, params), s0 = ptr(wb, scratch), m0 = ptr(wb, m);
    runTiles(ops, helper, "wino_dw", tiles, mid, (t0, t1, part) => [
      p,
      t0,
      t1,
      s0 + 4 * part * scratchFloats,
      m0 + 4 * part * mFloats,
    ]);
    ops.wino_filter_out(m0, parts === 2 ? m0 + 4 * mFloats : 0, ci, co, ptr(wb, dw));
  } catch (e) {
    wb.disposeData(dw.dataId);
    throw e;
  } finally {
    for (const t of [params, scratch, m]) wb.disposeData(t.dataId);
  }
  return dw;
}

/** `Conv2DBackpropFilter` on wasm: Winograd where it takes the shape, else `next`. */
export function makeConv2DBackpropFilterWinograd(next: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as FilterGradAttrs;
    return conv2dBackpropFilterWinograd(args.backend as tf.KernelBackend, x, dy, attrs) ??
      next(args);
  };
}
