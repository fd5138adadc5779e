/**
 * Helpers for the kernel tests: seeded random inputs, relative L2 error, running one computation
 * on a chosen backend with stock or project kernels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { prerequisite } from "../../prerequisite.ts";
import { Rng } from "../../rng.ts";
import { initBackend } from "../backends.ts";

/** Standard-normal values from a seed. */
export function randomArray(seed: number, length: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = rng.normal();
  return out;
}

/** ‖a − b‖₂ / ‖b‖₂ (b is the reference); 0 when both are all zero. */
export function relL2(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/**
 * Whether `navigator.gpu` gives any adapter (hardware or software). With `CI=true` a missing one
 * is a failing test ({@linkcode prerequisite}).
 */
export async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  let found = false;
  try {
    found = gpu !== undefined && (await gpu.requestAdapter()) !== null;
  } catch {
    found = false;
  }
  return prerequisite(
    "a WebGPU adapter",
    found,
    "install Debian's mesa-vulkan-drivers and libvulkan1 (.ci/run does)",
  );
}

/**
 * Runs `fn` on `backend` (stock kernels when `stock`), returning its outputs as plain arrays; all
 * tensors made inside are disposed.
 */
export async function runOn(
  backend: "webgpu" | "wasm" | "cpu",
  stock: boolean,
  fn: () => tf.Tensor[],
): Promise<Float32Array[]> {
  await initBackend(backend, { stockKernels: stock });
  const outs = tf.tidy(fn);
  const arrays = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(outs);
  return arrays.map((a) => Float32Array.from(a));
}
