/**
 * `Conv2DBackpropInput` (the input gradient of a 2-D convolution, and the forward pass of a
 * transposed convolution; NHWC, dilation 1) through the backend's fast kernels.
 *
 * tfjs-backend-wasm 4.22's own kernel is a direct loop outside XNNPACK. The two cases a U-Net
 * needs are rewritten onto XNNPACK-backed kernels:
 *
 * - stride 1 (the 3×3 'same' convolutions): dx = conv2d(dy, W′) with W′[i, j, co, ci] =
 *   W[kh−1−i, kw−1−j, ci, co] and padding (kh−1−top, kh−1−bottom, kw−1−left, kw−1−right), i.e.
 *   a correlation with the flipped, transposed filter;
 * - filter size = stride, no padding (the 2×2 stride-2 transposed convolution): the windows do not
 *   overlap, so dx = DepthToSpace(dy × Wᵀ), one matmul [N·Ho·Wo, Cout] × [Cout, kh·kw·Cin].
 *
 * Any other case goes to the stock kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { callKernel } from "./conv2d_backprop_filter.ts";

type TensorInfo = tf.TensorInfo;

/** Attributes of tfjs's `Conv2DBackpropInput` kernel. */
interface InputGradAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  inputShape: [number, number, number, number];
}

/** W′[i, j, co, ci] = W[kh−1−i, kw−1−j, ci, co]. */
export function flipTransposeFilter(
  w: Float32Array,
  kh: number,
  kw: number,
  ci: number,
  co: number,
): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const src = ((kh - 1 - i) * kw + (kw - 1 - j)) * ci * co;
      const dst = (i * kw + j) * co * ci;
      for (let q = 0; q < ci; q++) {
        for (let r = 0; r < co; r++) out[dst + r * ci + q] = w[src + q * co + r];
      }
    }
  }
  return out;
}

/** Wᵀ as [Cout, kh·kw·Cin] from W [kh, kw, Cin, Cout]. */
function transposeFilter2d(w: Float32Array, k: number, co: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < k; a++) {
    for (let r = 0; r < co; r++) out[r * k + a] = w[a * co + r];
  }
  return out;
}

interface BackendWithData extends tf.KernelBackend {
  // cpu and webgpu backends
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values: Float32Array): TensorInfo;
  // wasm backend
  makeOutput?(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap?(t: TensorInfo): Float32Array;
}

/** A float32 tensor on `backend` holding `values`. */
function upload(backend: BackendWithData, shape: number[], values: Float32Array): TensorInfo {
  if (backend.makeOutput !== undefined && backend.typedArrayFromHeap !== undefined) {
    const t = backend.makeOutput(shape, "float32");
    backend.typedArrayFromHeap(t).set(values);
    return t;
  }
  if (backend.makeTensorInfo !== undefined) return backend.makeTensorInfo(shape, "float32", values);
  throw new Error("Conv2DBackpropInput: backend cannot make tensors");
}

/**
 * Makes the `Conv2DBackpropInput` kernel function; `stock` handles the cases not rewritten.
 *
 * @example
 * ```ts ignore
 * const stock = tf.getKernel("Conv2DBackpropInput", "wasm")!.kernelFunc;
 * tf.unregisterKernel("Conv2DBackpropInput", "wasm");
 * tf.registerKernel({ kernelName: "Conv2DBackpropInput", backendName: "wasm",
 *   kernelFunc: makeConv2DBackpropInput(stock) });
 * ```
 */
export function makeConv2DBackpropInput(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as BackendWithData;
    const dy = inputs.dy as TensorInfo; // [N, Ho, Wo, Cout]
    const filter = inputs.filter as TensorInfo; // [kh, kw, Cin, Cout]
    const a = attrs as unknown as InputGradAttrs;
    if (a.dataFormat === "NCHW") return stock(args);
    const c = tf.backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape as [number, number, number, number],
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      "channelsLast",
    );
    const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = c;
    const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo } = c;
    const { top, bottom, left, right } = c.padInfo;
    const [n, h, w] = a.inputShape;

    if (sh === 1 && sw === 1) {
      const pt = kh - 1 - top, pb = kh - 1 - bottom, pl = kw - 1 - left, pr = kw - 1 - right;
      if (pt < 0 || pb < 0 || pl < 0 || pr < 0) return stock(args);
      if (ho + pt + pb - kh + 1 !== h || wo + pl + pr - kw + 1 !== w) return stock(args);
      const wv = backend.readSync(filter.dataId) as Float32Array;
      const flipped = upload(backend, [kh, kw, co, ci], flipTransposeFilter(wv, kh, kw, ci, co));
      const dx = callKernel("Conv2D", backend, { x: dy, filter: flipped }, {
        strides: [1, 1],
        pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]],
        dataFormat: "NHWC",
        dilations: [1, 1],
      });
      backend.disposeData(flipped.dataId);
      return dx;
    }

    const noPad = top === 0 && bottom === 0 && left === 0 && right === 0;
    if (kh === sh && kw === sw && kh === kw && noPad && ho * sh === h && wo * sw === w) {
      const k = kh * kw * ci;
      const wv = backend.readSync(filter.dataId) as Float32Array;
      const wt = upload(backend, [1, co, k], transposeFilter2d(wv, k, co));
      const dy3 = callKernel("Reshape", backend, { x: dy }, { shape: [1, n * ho * wo, co] });
      // cols: [1, N·Ho·Wo, kh·kw·Cin], channel order (i, j, ci) = DepthToSpace's block order.
      const cols = callKernel("BatchMatMul", backend, { a: dy3, b: wt }, {
        transposeA: false,
        transposeB: false,
      });
      const cols4 = callKernel("Reshape", backend, { x: cols }, { shape: [n, ho, wo, k] });
      const dx = callKernel("DepthToSpace", backend, { x: cols4 }, {
        blockSize: kh,
        dataFormat: "NHWC",
      });
      for (const t of [wt, dy3, cols, cols4]) backend.disposeData(t.dataId);
      return dx;
    }
    return stock(args);
  };
}
