/// <reference lib="dom" />
/**
 * The browser page: loads the served model (`/model/model.json`, TensorFlow.js LayersModel) on
 * the WebGPU backend, falling back to WebGL and then the CPU; a dropped or picked PNG tile is
 * decoded without colour conversion, brought to the model's scale and normalised like training
 * (`pipeline.ts`), run, and shown with its probability overlay and vessel count.
 *
 * `deno task serve` bundles this file (with the project modules it imports) for the browser. The
 * page loads `tf` and the WebGPU backend as globals from the tfjs browser bundles it serves.
 *
 * The page runs the whole scaled tile in one forward pass and keeps the mask at the model's scale.
 * `deno task predict` instead covers larger tiles with training-size windows and upsamples the
 * map to the tile's size; the two see the same input when the scaled tile is one training tile
 * (a 512² Kaggle tile at scale 0.25 → 128²), and give the same mask when the scale is also 1.
 * TIFF is not decoded here (the project's decoder needs `node:zlib`): the page asks for a PNG.
 *
 * For tests the result of the last prediction is `globalThis.__result` ({@linkcode PageGlobals});
 * `?backend=cpu|webgl|webgpu` forces a backend.
 *
 * @module
 */
import type * as tfTypes from "@tensorflow/tfjs";
import {
  binarize,
  countComponents8,
  type ModelMeta,
  overlayRgba,
  prepareInput,
  rgbaToRgb,
} from "./pipeline.ts";

declare const tf: typeof tfTypes;

/** What a prediction leaves in `exposed.__result`. */
export interface PageResult {
  /** The thresholded mask at the model's scale, row-major, 0/1. */
  mask: number[];
  /** The probabilities at the model's scale, row-major. */
  prob: number[];
  width: number;
  height: number;
  /** 8-connected components of the mask. */
  count: number;
  backend: string;
  /** Milliseconds of the forward pass, read-back included. */
  inferenceMs: number;
}

/** What the page exposes on `globalThis` for tests. */
export interface PageGlobals {
  /** The last prediction. */
  __result?: PageResult;
  /** The last error shown. */
  __error?: string;
  /** Set once the model is loaded and the page accepts tiles. */
  __ready?: boolean;
}

const exposed = globalThis as unknown as PageGlobals;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function say(text: string, isError = false): void {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", isError);
  if (isError) exposed.__error = text;
}

async function pickBackend(): Promise<string> {
  const forced = new URLSearchParams(location.search).get("backend");
  const order = forced !== null ? [forced] : ["webgpu", "webgl", "cpu"];
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return tf.getBackend();
      }
    } catch (_e) {
      // This backend cannot start here (no navigator.gpu, no WebGL context): try the next one.
    }
  }
  throw new Error(`no tfjs backend of ${order.join(", ")} could start`);
}

async function decodeFile(file: Blob): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const magic = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  const tiff = (magic[0] === 0x49 && magic[1] === 0x49 && magic[2] === 42 && magic[3] === 0) ||
    (magic[0] === 0x4d && magic[1] === 0x4d && magic[2] === 0 && magic[3] === 42);
  if (tiff) {
    throw new Error("TIFF cannot be read here: convert the tile to PNG (or use deno task predict)");
  }
  // No colour-space conversion and no premultiplication, so the bytes are the file's bytes, as
  // the project's PNG decoder reads them.
  const bitmap = await createImageBitmap(file, {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext("2d", { colorSpace: "srgb" });
  if (ctx === null) throw new Error("no 2D canvas context");
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const data = ctx.getImageData(0, 0, width, height).data;
  return { rgb: rgbaToRgb(data), width, height };
}

async function predict(
  model: tfTypes.LayersModel,
  meta: ModelMeta,
  file: Blob,
  name: string,
): Promise<void> {
  say(`running ${name} …`);
  const img = await decodeFile(file);
  const inp = prepareInput(img.rgb, img.width, img.height, meta);
  const w = inp.widthPx, h = inp.heightPx;
  const t0 = performance.now();
  // x: [1, h, w, 3] float32, normalised; prob: [1, h, w, 1]
  const probT = tf.tidy(() => {
    const x = tf.tensor4d(inp.x, [1, h, w, 3]);
    return tf.sigmoid(model.predict(x) as tfTypes.Tensor);
  });
  const prob = (await probT.data()) as Float32Array;
  probT.dispose();
  const inferenceMs = performance.now() - t0;
  const mask = binarize(prob, meta.threshold);
  const count = countComponents8(mask, w, h);

  const canvas = $<HTMLCanvasElement>("view");
  canvas.width = w;
  canvas.height = h;
  canvas.getContext("2d")!.putImageData(
    new ImageData(overlayRgba(inp.rgbHWC, prob, mask), w, h),
    0,
    0,
  );
  $("count").textContent = String(count);
  const scaled = inp.factor === 1 ? "" : ` (area-downscaled ×1/${inp.factor})`;
  say(
    `${name}: ${img.width}×${img.height}${scaled}, ${count} vessel${count === 1 ? "" : "s"} ` +
      `at p > ${meta.threshold}, ${inferenceMs.toFixed(0)} ms on ${tf.getBackend()}`,
  );
  exposed.__result = {
    mask: Array.from(mask),
    prob: Array.from(prob),
    width: w,
    height: h,
    count,
    backend: tf.getBackend(),
    inferenceMs,
  };
}

async function start(): Promise<void> {
  const metaRes = await fetch("/model/meta.json");
  if (!metaRes.ok) {
    say(`no model: ${(await metaRes.text()).trim()}`, true);
    return;
  }
  const meta = (await metaRes.json()) as ModelMeta;
  const backend = await pickBackend();
  $("backend").textContent = backend;
  say(`loading ${meta.checkpoint} …`);
  const model = await tf.loadLayersModel("/model/model.json");
  $("model").textContent = `${meta.checkpoint} (epoch ${meta.epoch}, tiles ${meta.tileSizePx} px` +
    `${meta.scale === 1 ? "" : ` at scale ${meta.scale}`})`;
  const trained = $("trained");
  trained.textContent = meta.trainedOn;
  trained.classList.toggle("warn", meta.synthetic === true);
  say("drop a tile image (PNG) here, or pick one");

  let busy = Promise.resolve();
  const run = (file: File) => {
    busy = busy.then(() => predict(model, meta, file, file.name)).catch((e) => {
      say(`${file.name}: ${(e as Error).message}`, true);
    });
  };
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer?.files[0];
    if (file !== undefined) run(file);
  });
  const input = $<HTMLInputElement>("file");
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    if (file !== undefined) run(file);
  });
  exposed.__ready = true;
}

start().catch((e) => say((e as Error).message, true));
