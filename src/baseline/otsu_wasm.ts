/**
 * The Otsu pipeline on WebAssembly SIMD (`otsu_simd.wat`): grey conversion, histogram and mask
 * run in wasm, 16 pixels per step; the threshold is chosen in JS by `otsuThreshold`. Results are
 * byte-identical to the scalar functions in `otsu.ts` (tested against the same OpenCV goldens);
 * it is only faster. Used by `otsuMask` whenever the pixel count is a multiple of 16.
 *
 * @module
 */
import { decodeBase64 } from "../base64.ts";
import { OTSU_WASM_BASE64 } from "./otsu_wasm_bytes.ts";

interface Exports {
  memory: WebAssembly.Memory;
  grey(rgb: number, grey: number, n: number): void;
  hist(grey: number, hist: number, n: number): void;
  mask_gt(grey: number, mask: number, n: number, t: number): void;
  mask_le(grey: number, mask: number, n: number, t: number): void;
}

/** A wasm instance with room for tiles of `n` pixels: RGB, grey, 4 histograms, mask. */
export class OtsuWasm {
  #x: Exports;
  #n = -1;
  #rgb = 0;
  #grey = 0;
  #hist = 0;
  #mask = 0;

  /** Instantiates the module synchronously (it is under 1 KiB). */
  constructor() {
    const module = new WebAssembly.Module(decodeBase64(OTSU_WASM_BASE64));
    this.#x = new WebAssembly.Instance(module).exports as unknown as Exports;
  }

  #layout(n: number): void {
    if (n === this.#n) return;
    const align = (v: number) => (v + 15) & ~15;
    this.#rgb = 0;
    this.#grey = align(3 * n + 16); // 16 spare bytes: the last 4-pixel load reads 4 past the end
    this.#hist = align(this.#grey + n);
    this.#mask = this.#hist + 4096;
    const need = this.#mask + n;
    const have = this.#x.memory.buffer.byteLength;
    if (need > have) this.#x.memory.grow(Math.ceil((need - have) / 65536));
    this.#n = n;
  }

  /**
   * The 256-bin grey histogram of `rgbHWC` into `hist`, and the grey image into `grey` when given
   * (it also stays in wasm memory for {@linkcode OtsuWasm.mask}); `rgbHWC.length / 3` must be a
   * multiple of 16.
   */
  greyHistogram(rgbHWC: Uint8Array, hist: Float64Array, grey?: Uint8Array): void {
    const n = rgbHWC.length / 3;
    if (n % 16 !== 0 || (grey && grey.length !== n) || hist.length !== 256) {
      throw new RangeError(
        `OtsuWasm: ${n} pixels (need a multiple of 16), grey ${grey?.length}, ${hist.length} bins`,
      );
    }
    this.#layout(n);
    const buf = this.#x.memory.buffer;
    new Uint8Array(buf, this.#rgb, 3 * n).set(rgbHWC);
    this.#x.grey(this.#rgb, this.#grey, n);
    const h4 = new Int32Array(buf, this.#hist, 1024);
    h4.fill(0);
    this.#x.hist(this.#grey, this.#hist, n);
    for (let v = 0; v < 256; v++) {
      hist[v] = h4[4 * v] + h4[4 * v + 1] + h4[4 * v + 2] + h4[4 * v + 3];
    }
    grey?.set(new Uint8Array(buf, this.#grey, n));
  }

  /**
   * The 0/1 mask of the grey image left by the last {@linkcode OtsuWasm.greyHistogram} call:
   * grey > `threshold`, or grey ≤ `threshold` when `invert`; written into `out`.
   */
  mask(threshold: number, invert: boolean, out: Uint8Array): void {
    const n = this.#n;
    if (out.length !== n) throw new RangeError(`OtsuWasm: mask of ${out.length}, need ${n}`);
    const t = Math.max(0, Math.min(255, threshold | 0));
    if (invert) this.#x.mask_le(this.#grey, this.#mask, n, t);
    else this.#x.mask_gt(this.#grey, this.#mask, n, t);
    out.set(new Uint8Array(this.#x.memory.buffer, this.#mask, n));
  }
}

let shared: OtsuWasm | null | undefined;

/** The process-wide instance, or `null` where WebAssembly SIMD is unavailable. */
export function otsuWasm(): OtsuWasm | null {
  if (shared === undefined) {
    try {
      shared = new OtsuWasm();
    } catch {
      shared = null;
    }
  }
  return shared;
}
