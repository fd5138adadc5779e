/**
 * Throughput of the baseline and metric kernels: Otsu (grey + histogram + threshold + mask) per
 * tile at 512² and 128² — the default WebAssembly SIMD path, the scalar JS path and its parts —
 * and confusion counting in Mpixel/s. Each group has a baseline: the whole
 * Otsu pipeline for the Otsu groups (its parts are shown beside it), and a plain byte sum over the
 * same two masks for confusion (a memory-bound floor).
 *
 * Run: `deno bench -A bench/metrics_bench.ts`. OpenCV side by side:
 * `/usr/bin/python3 bench/otsu_opencv.py`.
 *
 * @module
 */
import { decodePng } from "../src/data/png.ts";
import * as otsu from "../src/baseline/otsu.ts";
import { confusion } from "../src/metrics/confusion.ts";
import { randomMask } from "../src/baseline/trivial.ts";

const real = decodePng(
  await Deno.readFile(new URL("../fixtures/real/0006ff2aa7cd.png", import.meta.url)),
  "0006ff2aa7cd.png",
);
const rgb512 = real.rgb;
// 128²: every 4th pixel of every 4th row of the real tile (timing only).
const rgb128 = new Uint8Array(128 * 128 * 3);
for (let y = 0; y < 128; y++) {
  for (let x = 0; x < 128; x++) {
    rgb128.set(
      rgb512.subarray(((4 * y) * 512 + 4 * x) * 3, ((4 * y) * 512 + 4 * x) * 3 + 3),
      (y * 128 + x) * 3,
    );
  }
}
const scratch512 = {}, scratch128 = {};
const grey512 = otsu.rgbToGrey(rgb512);
const hist512 = new Float64Array(256);
const mask512 = new Uint8Array(512 * 512);

Deno.bench("otsu 512² tile (grey + histogram + threshold + mask)", {
  group: "otsu 512",
  baseline: true,
}, () => {
  otsu.otsuMask(rgb512, { scratch: scratch512 });
});
Deno.bench("otsu 512² scalar JS path (simd: false)", { group: "otsu 512" }, () => {
  otsu.otsuMask(rgb512, { scratch: scratch512, simd: false });
});
Deno.bench("rgbToGrey 512²", { group: "otsu 512" }, () => {
  otsu.rgbToGrey(rgb512, grey512);
});
Deno.bench("greyHistogram + otsuThreshold 512²", { group: "otsu 512" }, () => {
  otsu.otsuThreshold(otsu.greyHistogram(grey512, hist512));
});
Deno.bench("rgbToGreyHistogram 512² (fused, used by otsuMask)", { group: "otsu 512" }, () => {
  otsu.rgbToGreyHistogram(rgb512, grey512, hist512);
});
Deno.bench("thresholdMask 512²", { group: "otsu 512" }, () => {
  otsu.thresholdMask(grey512, 131, { out: mask512 });
});

Deno.bench("otsu 128² tile (grey + histogram + threshold + mask)", {
  group: "otsu 128",
  baseline: true,
}, () => {
  otsu.otsuMask(rgb128, { scratch: scratch128 });
});

Deno.bench("otsu 128² scalar JS path (simd: false)", { group: "otsu 128" }, () => {
  otsu.otsuMask(rgb128, { scratch: scratch128, simd: false });
});

const n = 512 * 512;
const pred = randomMask(n, 1, 0), truth = randomMask(n, 2, 0);
Deno.bench(
  "byte sum of two 512² masks (floor)",
  { group: "confusion 512²", baseline: true },
  () => {
    let s = 0;
    for (let i = 0; i < n; i++) s += pred[i] + truth[i];
    if (s < 0) throw new Error("unreachable");
  },
);
Deno.bench("confusion 512² (0.262 Mpixel)", { group: "confusion 512²" }, () => {
  confusion(pred, truth);
});
