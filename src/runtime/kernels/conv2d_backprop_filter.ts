/**
 * `Conv2DBackpropFilter` (the filter gradient of a 2-D convolution, NHWC) for the webgpu, wasm and
 * cpu backends.
 *
 * dW[i, j, ci, co] = Σ_{n, oy, ox} xPadded[n, oy·s + i, ox·s + j, ci] · dy[n, oy, ox, co]
 *
 * - {@linkcode conv2dBackpropFilterMatMul} (webgpu, wasm): column buffers in chunks of at most
 *   `maxRows` output pixels (im2col by taps: one strided slice per filter tap, concatenated along
 *   channels) and the backend's own `BatchMatMul`, cols^T × dy, accumulated over chunks. It uses only
 *   stock kernels of the backend, so the heavy lifting stays on the GPU or in XNNPACK. On webgpu the
 *   chunking is what fixes correctness: tfjs-webgpu's `Conv2DDerFilterProgram` loops over N·H·W in
 *   one shader invocation and Mesa's software drivers stop any loop after 65 535 iterations, so with
 *   N·H·W ≥ 65 536 the stock gradient is silently truncated. Here no loop runs over more than
 *   `maxRows` elements.
 * - {@linkcode conv2dBackpropFilterPlanes} (wasm, `method: "planes"`, stride 1: every 3×3 and 1×1
 *   layer of the U-Net): x and dy scattered once into zero-padded grids, all taps in one blocked
 *   SIMD matmul of this project's own, on two threads with the threaded build.
 * - {@linkcode conv2dBackpropFilterTaps} (wasm, `method: "taps"`, and the fallback of "planes":
 *   the 2×2 stride-2 transposed convolutions): x transposed once to
 *   channel-major; each tap is copied with typed-array runs straight from the wasm heap into one
 *   reusable buffer (borders zero-filled, so no PadV2 and no Slice kernels) and multiplied with dy
 *   by the backend's `BatchMatMul`.
 * - {@linkcode conv2dBackpropFilterCpu} (cpu): flat typed-array loops with a Float64 accumulator,
 *   instead of the stock kernel's per-element `TensorBuffer.get`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ptr, type WasmBackendLike, wasmOpsFor, wasmOpsHelperFor } from "./wasm_ops.ts";

type TensorInfo = tf.TensorInfo;
type WasmOps = NonNullable<ReturnType<typeof wasmOpsFor>>;
type Backend = tf.KernelBackend;

/** Attributes of tfjs's `Conv2DBackpropFilter` kernel. */
export interface FilterGradAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape: [number, number, number, number];
}

/** Calls a kernel registered for `backend` by name, as tfjs's own kernels do. */
export function callKernel(
  name: string,
  backend: Backend,
  inputs: tf.NamedTensorInfoMap | TensorInfo[],
  attrs: Record<string, unknown> = {},
): TensorInfo {
  const backendName = tf.getBackend();
  const k = tf.getKernel(name, backendName);
  if (k === undefined) {
    throw new Error(`Kernel '${name}' not registered for backend '${backendName}'`);
  }
  const out = k.kernelFunc({
    inputs: inputs as tf.NamedTensorInfoMap,
    backend,
    attrs: attrs as tf.NamedAttrMap,
  });
  return Array.isArray(out) ? out[0] : out as TensorInfo;
}

/** The convolution a `Conv2DBackpropFilter` call differentiates (dilation 1, NHWC). */
export function convInfo(xShape: number[], attrs: FilterGradAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
}

/** Options of {@linkcode makeConv2DBackpropFilterMatMul}. */
export interface MatMulFilterGradOptions {
  /** Most output pixels (N·Ho·Wo rows) in one column buffer and one matmul. */
  maxRows: number;
  /** Most float32 elements in one column buffer (rows × kh·kw·Cin); bounds memory. */
  maxColElements: number;
  /**
   * Transpose the column buffer before the matmul instead of asking `BatchMatMul` for
   * `transposeA` (on tfjs-backend-wasm that made this kernel ≈ 1.8× faster).
   */
  transposeCols?: boolean;
  /**
   * `im2col` (default): one column buffer [rows, kh·kw·Cin] per chunk and one matmul.
   * `taps`: x is transposed once to channel-major [Cin, N, H, W]; each filter tap is then a
   * strided slice [Cin, rows] and a matmul with dy [rows, Cout], with no column buffer and no
   * transposed-A matmul.
   * `planes` (wasm, stride 1; else `taps`): see {@linkcode conv2dBackpropFilterPlanes}.
   */
  method?: "im2col" | "taps" | "planes";
  /**
   * With `taps`: concatenate the chunk's taps into one channel-major column buffer
   * [kh·kw·Cin, rows] and run one matmul instead of one per tap (dy is packed once).
   */
  concatTaps?: boolean;
}

/**
 * Makes the chunked im2col × `BatchMatMul` filter-gradient kernel function (NHWC, dilation 1).
 *
 * @example
 * ```ts ignore
 * tf.registerKernel({ kernelName: "Conv2DBackpropFilter", backendName: "wasm",
 *   kernelFunc: makeConv2DBackpropFilterMatMul({ maxRows: 16384, maxColElements: 1 << 22 }) });
 * ```
 */
export function makeConv2DBackpropFilterMatMul(opts: MatMulFilterGradOptions): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x as TensorInfo; // [N, H, W, Cin]
    const dy = inputs.dy as TensorInfo; // [N, Ho, Wo, Cout]
    const a = attrs as unknown as FilterGradAttrs;
    if (a.dataFormat === "NCHW") throw new Error("Conv2DBackpropFilter: NCHW is not supported");
    const c = convInfo(x.shape, a);
    if (opts.method === "planes") {
      const out = conv2dBackpropFilterPlanes(backend as Backend, x, dy, c, opts.maxColElements);
      if (out !== undefined) return out;
    }
    return opts.method === "taps" || opts.method === "planes"
      ? conv2dBackpropFilterTaps(backend as Backend, x, dy, c, opts)
      : conv2dBackpropFilterMatMul(backend as Backend, x, dy, c, opts);
  };
}

/** The chunked im2col × matmul filter gradient; returns dW [kh, kw, Cin, Cout]. */
export function conv2dBackpropFilterMatMul(
  backend: Backend,
  x: TensorInfo,
  dy: TensorInfo,
  c: tf.backend_util.Conv2DInfo,
  opts: MatMulFilterGradOptions,
): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = c;
  const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo, batchSize: n } = c;
  const { top, bottom, left, right } = c.padInfo;
  const k = kh * kw * ci;
  const temps: TensorInfo[] = [];
  const free = (t: TensorInfo) => backend.disposeData(t.dataId);

  // xp: [N, H + top + bottom, W + left + right, Cin], zero padded (padInfo can be negative for
  // 'valid' when rows are unused; those rows are simply never sliced).
  let xp = x;
  const padT = Math.max(0, top), padB = Math.max(0, bottom);
  const padL = Math.max(0, left), padR = Math.max(0, right);
  if (padT + padB + padL + padR > 0) {
    xp = callKernel("PadV2", backend, { x }, {
      paddings: [[0, 0], [padT, padB], [padL, padR], [0, 0]],
      constantValue: 0,
    });
    temps.push(xp);
  }
  const offY = padT - top, offX = padL - left; // 0 unless the pad is negative

  // Chunk: nb whole images when one image fits, else yb output rows of one image.
  const rowLimit = Math.max(1, Math.min(opts.maxRows, Math.floor(opts.maxColElements / k)));
  const perImage = ho * wo;
  const nb = perImage <= rowLimit ? Math.max(1, Math.floor(rowLimit / perImage)) : 1;
  const yb = perImage <= rowLimit ? ho : Math.max(1, Math.floor(rowLimit / wo));
  const identityCols = kh === 1 && kw === 1 && sh === 1 && sw === 1 && xp.shape[1] === ho &&
    xp.shape[2] === wo;

  let acc: TensorInfo | undefined;
  for (let n0 = 0; n0 < n; n0 += nb) {
    const nc = Math.min(nb, n - n0);
    for (let y0 = 0; y0 < ho; y0 += yb) {
      const yc = Math.min(yb, ho - y0);
      const rows = nc * yc * wo;
      const chunk: TensorInfo[] = [];
      // cols: [nc, yc, Wo, kh·kw·Cin], taps in (i, j, ci) order = the filter's layout.
      let cols: TensorInfo;
      if (identityCols) {
        cols = callKernel("Slice", backend, { x: xp }, {
          begin: [n0, y0, 0, 0],
          size: [nc, yc, wo, ci],
        });
        chunk.push(cols);
      } else {
        const taps: TensorInfo[] = [];
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const by = offY + y0 * sh + i, bx = offX + j;
            taps.push(callKernel("StridedSlice", backend, { x: xp }, {
              begin: [n0, by, bx, 0],
              end: [n0 + nc, by + (yc - 1) * sh + 1, bx + (wo - 1) * sw + 1, ci],
              strides: [1, sh, sw, 1],
              beginMask: 0,
              endMask: 0,
              ellipsisMask: 0,
              newAxisMask: 0,
              shrinkAxisMask: 0,
            }));
          }
        }
        chunk.push(...taps);
        cols = taps.length === 1 ? taps[0] : callKernel("Concat", backend, taps, { axis: 3 });
        if (taps.length > 1) chunk.push(cols);
      }
      const cols3 = callKernel("Reshape", backend, { x: cols }, { shape: [1, rows, k] });
      chunk.push(cols3);
      const dyc = callKernel("Slice", backend, { x: dy }, {
        begin: [n0, y0, 0, 0],
        size: [nc, yc, wo, co],
      });
      chunk.push(dyc);
      const dy3 = callKernel("Reshape", backend, { x: dyc }, { shape: [1, rows, co] });
      chunk.push(dy3);
      // part: [1, K, Cout] = cols^T × dy
      let part: TensorInfo;
      if (opts.transposeCols) {
        const colsT = callKernel("Transpose", backend, { x: cols3 }, { perm: [0, 2, 1] });
        chunk.push(colsT);
        part = callKernel("BatchMatMul", backend, { a: colsT, b: dy3 }, {
          transposeA: false,
          transposeB: false,
        });
      } else {
        part = callKernel("BatchMatMul", backend, { a: cols3, b: dy3 }, {
          transposeA: true,
          transposeB: false,
        });
      }
      if (acc === undefined) {
        acc = part;
      } else {
        const sum = callKernel("Add", backend, { a: acc, b: part }, {});
        free(acc);
        free(part);
        acc = sum;
      }
      chunk.forEach(free);
    }
  }
  temps.forEach(free);
  const out = callKernel("Reshape", backend, { x: acc as TensorInfo }, { shape: [kh, kw, ci, co] });
  free(acc as TensorInfo);
  return out;
}

/**
 * The filter gradient without any per-tap copy (wasm, stride 1; `undefined` when it does not
 * apply). x is scattered once into channel-major planes of the zero-padded grid
 * [Cin, N·hp·wp] (hp = Ho + kh − 1, wp = Wo + kw − 1) and dy once into the same grid
 * [N·hp·wp, Cout] (zero where no output pixel is). With pos = (n·hp + y)·wp + x, the tap (i, j)
 * reads the padded input at pos + i·wp + j, so its column matrix is the plane buffer read from
 * offset i·wp + j: dW[i, j] = planes[:, off : off + P] × grid, with no copy per tap. All taps run
 * in one call of this project's blocked matmul (`dw_gemm` in `wasm_ops.wat`, Cin padded to a
 * multiple of 4 and Cout to 8 with zeros), split over grid positions with the helper thread when
 * there is one. Rows that run past their plane into the next one only meet zero rows of the grid
 * (every real output pixel's pos + off stays inside its plane), and the last plane has `off`
 * floats of zeroed slack. Images are taken in groups of at most `maxElements` floats of planes.
 */
export function conv2dBackpropFilterPlanes(
  backend: Backend,
  x: TensorInfo,
  dy: TensorInfo,
  c: tf.backend_util.Conv2DInfo,
  maxElements: number,
): TensorInfo | undefined {
  const wb = backend as unknown as WasmBackendLike;
  const ops = wasmOpsFor(backend);
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = c;
  const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo, batchSize: n } = c;
  const { top, bottom, left, right } = c.padInfo;
  const [, h, w] = x.shape;
  if (
    ops !== undefined && sh * sw > 1 && sh === kh &&
    sw === kw && top === 0 && bottom === 0 && left === 0 && right === 0 && h === ho * sh &&
    w === wo * sw
  ) {
    return filterGradBlocks(wb, ops, x, dy, c);
  }
  if (
    ops === undefined || sh !== 1 || sw !== 1 ||
    c.dilationHeight !== 1 || c.dilationWidth !== 1 || x.dtype !== "float32" ||
    Math.min(top, bottom, left, right) < 0 || n * ho * wo === 0
  ) {
    return undefined;
  }
  const hp = ho + kh - 1, wp = wo + kw - 1;
  if (h + top > hp || w + left > wp) return undefined;
  // dw_gemm takes channels in blocks of 4 (Cin) and 8 (Cout): pad with zero planes / columns.
  const ciP = Math.ceil(ci / 4) * 4, coP = Math.ceil(co / 8) * 8;
  const taps = kh * kw, size = taps * ciP * coP;
  const slack = (kh - 1) * wp + (kw - 1);
  const perImage = hp * wp;
  const nb = Math.max(1, Math.min(n, Math.floor(maxElements / (ciP * perImage))));
  const acc = new Float64Array(taps * ci * co);
  for (let n0 = 0; n0 < n; n0 += nb) {
    const m = Math.min(nb, n - n0);
    const plane = m * perImage;
    const planes = wb.makeOutput([ciP * plane + slack], "float32");
    zeroBorders(wb.typedArrayFromHeap(planes) as Float32Array, ci * m, hp, wp, top, h, left, w);
    (wb.typedArrayFromHeap(planes) as Float32Array).fill(0, ci * plane);
    ops.to_planes(
      ptr(wb, x) + 4 * n0 * h * w * ci,
      m,
      h,
      w,
      ci,
      ptr(wb, planes),
      plane,
      hp,
      wp,
      top,
      left,
      4 * ci,
      0,
      0,
    );
    const grid = wb.makeOutput([1, plane, coP], "float32");
    if (co === coP) {
      // dy's pixels fill rows 0..Ho−1, columns 0..Wo−1 of each image's hp × wp grid: zero the
      // rest, copy the rows.
      zeroBorders(wb.typedArrayFromHeap(grid) as Float32Array, m, hp, wp * co, 0, ho, 0, wo * co);
      for (let b = 0; b < m; b++) {
        ops.copy_rows(
          ptr(wb, dy) + 4 * (n0 + b) * ho * wo * co,
          wo * co,
          ptr(wb, grid) + 4 * b * perImage * co,
          wp * co,
          ho,
          wo * co,
        );
      }
    } else {
      const g = wb.typedArrayFromHeap(grid) as Float32Array;
      const d = wb.typedArrayFromHeap(dy) as Float32Array;
      g.fill(0);
      for (let b = 0; b < m; b++) {
        for (let y = 0; y < ho; y++) {
          for (let xx = 0; xx < wo; xx++) {
            const src = (((n0 + b) * ho + y) * wo + xx) * co;
            const dst = (b * perImage + y * wp + xx) * coP;
            for (let r = 0; r < co; r++) g[dst + r] = d[src + r];
          }
        }
      }
    }
    // All taps in one pass of this project's blocked matmul (wasm_ops.wat `dw_gemm`); with a
    // helper thread (threaded tfjs build) each thread takes half of the grid positions.
    const offs = Array.from({ length: taps }, (_, t) => Math.floor(t / kw) * wp + (t % kw));
    const work = dwGemm(wb, ops, planes, plane, grid, coP, ciP, offs);
    const v = wb.typedArrayFromHeap(work) as Float32Array;
    for (let t = 0; t < taps; t++) {
      for (let q = 0; q < ci; q++) {
        const from = taps + (t * ciP + q) * coP, to = (t * ci + q) * co;
        for (let r = 0; r < co; r++) acc[to + r] += v[from + r] + v[from + size + r];
      }
    }
    backend.disposeData(work.dataId);
    backend.disposeData(planes.dataId);
    backend.disposeData(grid.dataId);
  }
  const out = wb.makeOutput([kh, kw, ci, co], "float32");
  (wb.typedArrayFromHeap(out) as Float32Array).set(acc);
  return out;
}

/**
 * Runs `dw_gemm` for the taps at plane offsets `offs` over all `plane` grid positions — half of
 * them on the helper thread when there is one — and returns the work buffer
 * [offs (as i32) | out | out2], out and out2 [taps, ci, co] each (out2 zero without a helper):
 * dW = out + out2. The caller disposes it.
 */
function dwGemm(
  wb: WasmBackendLike,
  ops: WasmOps,
  planes: TensorInfo,
  plane: number,
  grid: TensorInfo,
  co: number,
  ci: number,
  offs: number[],
): TensorInfo {
  const taps = offs.length, size = taps * ci * co;
  const work = wb.makeOutput([taps + 2 * size], "float32");
  const w32 = wb.typedArrayFromHeap(work) as Float32Array;
  w32.fill(0);
  new Int32Array(w32.buffer, w32.byteOffset, taps).set(offs);
  const base = ptr(wb, work), pp = ptr(wb, planes), pg = ptr(wb, grid);
  const out1 = base + 4 * taps, out2 = out1 + 4 * size;
  const helper = plane >= 256 ? wasmOpsHelperFor(wb) : undefined;
  if (helper === undefined) {
    ops.dw_gemm(pp, plane, pg, co, ci, base, taps, 0, plane, out1);
    return work;
  }
  const half = Math.floor(plane / 2);
  helper.start("dw_gemm", [pp, plane, pg, co, ci, base, taps, half, plane, out2]);
  try {
    ops.dw_gemm(pp, plane, pg, co, ci, base, taps, 0, half, out1);
  } finally {
    helper.finish();
  }
  return work;
}

/**
 * The filter gradient when the windows tile the input exactly (filter size = stride, no
 * padding: the 2×2 stride-2 transposed convolution's filter), `undefined` unless
 * kh·kw·Cin % 4 == 0 and Cout % 8 == 0. Then dW, read as [kh·kw·Cin, Cout], is one matmul of
 * the space-to-depth of x, made channel-major — planes[(i, j, q)][pos] = x[n, y·kh + i, x·kw + j,
 * q] for pos = (n·Ho + y)·Wo + x, written by `to_planes` with a strided source — by dy itself as
 * the [N·Ho·Wo, Cout] grid.
 */
function filterGradBlocks(
  wb: WasmBackendLike,
  ops: WasmOps,
  x: TensorInfo,
  dy: TensorInfo,
  c: tf.backend_util.Conv2DInfo,
): TensorInfo | undefined {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = c;
  const { outHeight: ho, outWidth: wo, batchSize: n } = c;
  const [, , w] = x.shape;
  const k = kh * kw * ci;
  if (k % 4 !== 0 || co % 8 !== 0 || x.dtype !== "float32") return undefined;
  const plane = n * ho * wo;
  const planes = wb.makeOutput([k * plane], "float32");
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // pixels (y·kh + i, x·kw + j): kw·Cin floats apart, kh − 1 input rows skipped per row
      ops.to_planes(
        ptr(wb, x) + 4 * (i * w + j) * ci,
        n,
        ho,
        wo,
        ci,
        ptr(wb, planes) + 4 * (i * kw + j) * ci * plane,
        plane,
        ho,
        wo,
        0,
        0,
        4 * kw * ci,
        4 * (kh - 1) * w * ci,
        0,
      );
    }
  }
  const work = dwGemm(wb, ops, planes, plane, dy, co, k, [0]);
  const v = wb.typedArrayFromHeap(work) as Float32Array;
  const out = wb.makeOutput([kh, kw, ci, co], "float32");
  const o = wb.typedArrayFromHeap(out) as Float32Array;
  for (let e = 0; e < k * co; e++) o[e] = v[1 + e] + v[1 + k * co + e]; // taps = 1
  wb.disposeData(work.dataId);
  wb.disposeData(planes.dataId);
  return out;
}

/**
 * Zeroes what lies outside an h × w window at (top, left) in each of `count` consecutive
 * hp × wp row-major grids of `a` (the window itself is written by the caller): the rows above and
 * below it, and between its rows the run from one row's right edge to the next row's left edge.
 */
function zeroBorders(
  a: Float32Array,
  count: number,
  hp: number,
  wp: number,
  top: number,
  h: number,
  left: number,
  w: number,
): void {
  for (let g = 0; g < count; g++) {
    const base = g * hp * wp;
    // from the grid's start to the window's first cell
    let from = base;
    for (let y = 0; y < h; y++) {
      const start = base + (top + y) * wp + left;
      a.fill(0, from, start);
      from = start + w;
    }
    a.fill(0, from, base + hp * wp);
  }
}

/** The per-tap channel-major filter gradient (`method: "taps"`); returns dW [kh, kw, Cin, Cout]. */
export function conv2dBackpropFilterTaps(
  backend: Backend,
  x: TensorInfo,
  dy: TensorInfo,
  c: tf.backend_util.Conv2DInfo,
  opts: MatMulFilterGradOptions,
): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = c;
  const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo, batchSize: n } = c;
  const { top, bottom, left, right } = c.padInfo;
  const free = (t: TensorInfo) => backend.disposeData(t.dataId);
  const heap = wasmHeapOf(backend);
  const padT = Math.max(0, top), padB = Math.max(0, bottom);
  const padL = Math.max(0, left), padR = Math.max(0, right);
  let xp = x;
  // On wasm the tap copies zero-fill the borders themselves, so x is not padded.
  if (heap === undefined && padT + padB + padL + padR > 0) {
    xp = callKernel("PadV2", backend, { x }, {
      paddings: [[0, 0], [padT, padB], [padL, padR], [0, 0]],
      constantValue: 0,
    });
  }
  // xt: [Cin, N, Hp, Wp] (on wasm [Cin, N, H, W])
  const xt = callKernel("Transpose", backend, { x: xp }, { perm: [3, 0, 1, 2] });
  if (xp !== x) free(xp);
  const offY = padT - top, offX = padL - left;
  const colChannels = opts.concatTaps ? kh * kw * ci : ci;
  const rowLimit = Math.max(
    1,
    Math.min(opts.maxRows, Math.floor(opts.maxColElements / colChannels)),
  );
  const perImage = ho * wo;
  const nb = perImage <= rowLimit ? Math.max(1, Math.floor(rowLimit / perImage)) : 1;
  const yb = perImage <= rowLimit ? ho : Math.max(1, Math.floor(rowLimit / wo));
  const acc: (TensorInfo | undefined)[] = new Array(opts.concatTaps ? 1 : kh * kw).fill(undefined);
  for (let n0 = 0; n0 < n; n0 += nb) {
    const nc = Math.min(nb, n - n0);
    for (let y0 = 0; y0 < ho; y0 += yb) {
      const yc = Math.min(yb, ho - y0);
      const rows = nc * yc * wo;
      // One chunk covering all of dy needs no copy of it (Reshape shares the data).
      const whole = nc === n && yc === ho;
      const dyc = whole ? dy : callKernel("Slice", backend, { x: dy }, {
        begin: [n0, y0, 0, 0],
        size: [nc, yc, wo, co],
      });
      const dy3 = callKernel("Reshape", backend, { x: dyc }, { shape: [1, rows, co] });
      const accumulate = (g: number, part: TensorInfo) => {
        const prev = acc[g];
        if (prev === undefined) {
          acc[g] = part;
        } else {
          acc[g] = callKernel("Add", backend, { a: prev, b: part }, {});
          free(prev);
          free(part);
        }
      };
      if (heap !== undefined) {
        // wasm: each tap is copied straight from xt on the heap into one reusable buffer
        // [1, taps·Cin, rows] (no Slice/StridedSlice/Concat kernels), then one matmul per buffer.
        const perBuf = opts.concatTaps ? kh * kw : 1;
        const buf = heap.makeOutput([1, perBuf * ci, rows], "float32");
        const geom = { ci, n, h: xt.shape[2], w: xt.shape[3], n0, nc, yc, wo, sh, sw };
        for (let g = 0; g < (kh * kw) / perBuf; g++) {
          // Views are re-taken after every kernel call: the heap may have grown (and moved).
          const src = heap.typedArrayFromHeap(xt) as Float32Array;
          const dst = heap.typedArrayFromHeap(buf) as Float32Array;
          for (let t = 0; t < perBuf; t++) {
            const tap = g * perBuf + t;
            const i = Math.floor(tap / kw), j = tap % kw;
            copyTap(src, dst, t * ci * rows, y0 * sh + i - top, j - left, geom);
          }
          accumulate(
            g,
            callKernel("BatchMatMul", backend, { a: buf, b: dy3 }, {
              transposeA: false,
              transposeB: false,
            }),
          );
        }
        free(buf);
      } else {
        const taps: TensorInfo[] = [];
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const by = offY + y0 * sh + i, bx = offX + j;
            // tap: [Cin, nc, yc, Wo]
            taps.push(callKernel("StridedSlice", backend, { x: xt }, {
              begin: [0, n0, by, bx],
              end: [ci, n0 + nc, by + (yc - 1) * sh + 1, bx + (wo - 1) * sw + 1],
              strides: [1, 1, sh, sw],
              beginMask: 0,
              endMask: 0,
              ellipsisMask: 0,
              newAxisMask: 0,
              shrinkAxisMask: 0,
            }));
          }
        }
        // One matmul over all taps ([kh·kw·Cin, rows], taps in (i, j) order = dW's layout), or one
        // per tap.
        const groups = opts.concatTaps ? [taps] : taps.map((t) => [t]);
        groups.forEach((group, g) => {
          const cat = group.length === 1
            ? group[0]
            : callKernel("Concat", backend, group, { axis: 0 });
          const a3 = callKernel("Reshape", backend, { x: cat }, {
            shape: [1, group.length * ci, rows],
          });
          const part = callKernel("BatchMatMul", backend, { a: a3, b: dy3 }, {
            transposeA: false,
            transposeB: false,
          });
          if (group.length > 1) free(cat);
          free(a3);
          accumulate(g, part);
        });
        taps.forEach(free);
      }
      if (!whole) free(dyc);
      free(dy3);
    }
  }
  free(xt);
  const parts = acc as TensorInfo[];
  const cat = parts.length === 1 ? parts[0] : callKernel("Concat", backend, parts, { axis: 0 });
  const out = callKernel("Reshape", backend, { x: cat }, { shape: [kh, kw, ci, co] });
  if (parts.length > 1) parts.forEach(free);
  free(cat);
  return out;
}

/** The wasm backend's heap access (tfjs-backend-wasm `BackendWasm`). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** `backend` as a {@linkcode WasmHeapBackend} when it is tfjs-backend-wasm, else undefined. */
function wasmHeapOf(backend: Backend): WasmHeapBackend | undefined {
  const b = backend as unknown as Partial<WasmHeapBackend> & { wasm?: { HEAPU8?: unknown } };
  return typeof b.makeOutput === "function" && typeof b.typedArrayFromHeap === "function" &&
      b.wasm?.HEAPU8 !== undefined
    ? b as WasmHeapBackend
    : undefined;
}

/** Shapes for {@linkcode copyTap}: xt is [ci, n, h, w]; a tap is [ci, nc, yc, wo]. */
interface TapGeometry {
  ci: number;
  n: number;
  h: number;
  w: number;
  n0: number;
  nc: number;
  yc: number;
  wo: number;
  sh: number;
  sw: number;
}

/**
 * Copies one filter tap of channel-major, unpadded xt [Cin, N, H, W] into dst at `dstBase` as
 * [Cin, nc, yc, Wo]: dst[q, b, y, x] = xt[q, n0 + b, by + y·sh, bx + x·sw], 0 outside x (the
 * zero padding). With stride 1 along W the inside of each output row is one contiguous run.
 */
function copyTap(
  src: Float32Array,
  dst: Float32Array,
  dstBase: number,
  by: number,
  bx: number,
  g: TapGeometry,
): void {
  const { ci, n, h, w, n0, nc, yc, wo, sh, sw } = g;
  // Output columns [xlo, xhi) read inside x; the rest are padding.
  const xlo = Math.min(wo, bx >= 0 ? 0 : Math.ceil(-bx / sw));
  const xhi = Math.max(xlo, Math.min(wo, Math.floor((w - 1 - bx) / sw) + 1));
  const long = xhi - xlo >= 32;
  let d = dstBase;
  for (let q = 0; q < ci; q++) {
    for (let b = 0; b < nc; b++) {
      const plane = (q * n + n0 + b) * h;
      for (let y = 0; y < yc; y++, d += wo) {
        const iy = by + y * sh;
        if (iy < 0 || iy >= h) {
          dst.fill(0, d, d + wo);
          continue;
        }
        const s = (plane + iy) * w + bx;
        for (let x = 0; x < xlo; x++) dst[d + x] = 0;
        if (sw === 1 && long) {
          dst.set(src.subarray(s + xlo, s + xhi), d + xlo);
        } else {
          for (let x = xlo; x < xhi; x++) dst[d + x] = src[s + x * sw];
        }
        for (let x = xhi; x < wo; x++) dst[d + x] = 0;
      }
    }
  }
}

/** Minimal view of the cpu backend's storage. */
interface CpuBackendLike {
  data: { get(id: unknown): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): TensorInfo;
}

/** Flat typed-array filter gradient for the pure-JS cpu backend (NHWC, dilation 1). */
export const conv2dBackpropFilterCpu: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const a = attrs as unknown as FilterGradAttrs;
  if (a.dataFormat === "NCHW") throw new Error("Conv2DBackpropFilter: NCHW is not supported");
  const c = convInfo(x.shape, a);
  const cpu = backend as unknown as CpuBackendLike;
  const xv = cpu.data.get(x.dataId).values as Float32Array;
  const dyv = cpu.data.get(dy.dataId).values as Float32Array;
  const dw = filterGradLoops(xv, dyv, c);
  return cpu.makeTensorInfo(a.filterShape, "float32", dw);
};

/** dW from NHWC x and dy arrays; loops ordered so the inner loop runs over Cout contiguously. */
export function filterGradLoops(
  x: Float32Array,
  dy: Float32Array,
  c: tf.backend_util.Conv2DInfo,
): Float32Array {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = c;
  const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo, batchSize: n } = c;
  const { inHeight: h, inWidth: w } = c;
  const { top, left } = c.padInfo;
  const acc = new Float64Array(kh * kw * ci * co);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        const dyBase = ((b * ho + oy) * wo + ox) * co;
        for (let i = 0; i < kh; i++) {
          const iy = oy * sh - top + i;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < kw; j++) {
            const ix = ox * sw - left + j;
            if (ix < 0 || ix >= w) continue;
            const xBase = ((b * h + iy) * w + ix) * ci;
            const wBase = (i * kw + j) * ci * co;
            for (let q = 0; q < ci; q++) {
              const xv = x[xBase + q];
              if (xv === 0) continue;
              const o = wBase + q * co;
              for (let r = 0; r < co; r++) acc[o + r] += xv * dy[dyBase + r];
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}
