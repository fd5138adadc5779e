import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { guardWasmMalloc, initBackend } from "./backends.ts";
import { ResourceError } from "../errors.ts";
import { conv2dBackpropFilterCpu } from "./kernels/conv2d_backprop_filter.ts";

Deno.test("initBackend: explicit cpu and wasm activate the backend and the project kernels", async () => {
  const lines: string[] = [];
  const cpu = await initBackend("cpu", { log: (l) => lines.push(l) });
  assert.equal(cpu.name, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  assert.equal(tf.getKernel("Conv2DBackpropFilter", "cpu")?.kernelFunc, conv2dBackpropFilterCpu);
  assert.deepEqual(lines, ["backend: cpu (requested)"]);

  const wasm = await initBackend("wasm");
  assert.equal(wasm.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  // Default: one thread per logical CPU, at most 8.
  const cpus = Math.min(navigator.hardwareConcurrency, 8);
  assert.match(wasm.reason, cpus === 1 ? /SIMD, 1 thread\b/ : new RegExp(`SIMD, ${cpus} threads`));
  assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
});

Deno.test("initBackend: stockKernels puts tfjs's kernels back", async () => {
  await initBackend("cpu");
  const ours = tf.getKernel("Conv2DBackpropFilter", "cpu")?.kernelFunc;
  await initBackend("cpu", { stockKernels: true });
  const stock = tf.getKernel("Conv2DBackpropFilter", "cpu")?.kernelFunc;
  assert.ok(stock !== undefined && stock !== ours);
  await initBackend("wasm", { stockKernels: true });
  assert.equal(tf.getKernel("Conv2DBackpropFilter", "wasm"), undefined);
  await initBackend("cpu");
  assert.equal(tf.getKernel("Conv2DBackpropFilter", "cpu")?.kernelFunc, ours);
});

Deno.test({
  name: "initBackend auto: webgpu only on a hardware adapter, else wasm, with a reason line",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const lines: string[] = [];
    const b = await initBackend("auto", { log: (l) => lines.push(l) });
    assert.equal(tf.getBackend(), b.name);
    assert.match(lines[0], /^webgpu adapter: /);
    assert.match(lines[lines.length - 1], new RegExp(`^backend: ${b.name} \\(`));
    const gpu = (globalThis.navigator as { gpu?: GPU }).gpu;
    const adapter = gpu === undefined ? null : await gpu.requestAdapter();
    if (adapter === null) {
      assert.equal(b.name, "wasm");
      assert.match(b.reason, /no WebGPU adapter/);
    } else if (adapter.info.isFallbackAdapter) {
      assert.equal(b.name, "wasm");
      assert.match(b.reason, /software fallback/);
      assert.match(b.adapter ?? "", /software fallback/);
    } else {
      assert.equal(b.name, "webgpu");
    }
  },
});

Deno.test("initBackend auto: requestAdapter() giving null or no navigator.gpu falls back to wasm", async () => {
  const none = { requestAdapter: () => Promise.resolve(null) };
  const b = await initBackend("auto", { gpu: none });
  assert.equal(b.name, "wasm");
  assert.match(b.reason, /no WebGPU adapter: requestAdapter\(\) gave no adapter/);
  assert.equal(b.adapter, undefined);
  const c = await initBackend("auto", { gpu: null });
  assert.match(c.reason, /navigator.gpu is missing/);
  await assert.rejects(() => initBackend("webgpu", { gpu: none }), /Cannot use backend webgpu/);
});

Deno.test("guardWasmMalloc: a failed or out-of-heap allocation throws ResourceError, even after Emscripten's lazy binding", () => {
  const heap = new Uint8Array(4096);
  let next = 0;
  // A bump allocator that, like the real one near 4 GiB, can hand out blocks past the heap's end
  // (up to 8192) before it returns 0.
  const real = (bytes: number) => {
    if (next + bytes > 8192) return 0;
    const p = next;
    next += bytes;
    return p;
  };
  // Emscripten's lazy binding: the first call replaces Module._malloc with the real export.
  const wasm: Record<string, unknown> = { HEAPU8: heap, _free: () => {} };
  wasm._malloc = (bytes: number) => {
    wasm._malloc = real;
    return real(bytes);
  };
  guardWasmMalloc({ wasm });
  guardWasmMalloc({ wasm }); // idempotent
  const malloc = (bytes: number) => (wasm._malloc as (n: number) => number)(bytes);
  assert.equal(malloc(100), 16); // after the guard's 16-byte binding call
  assert.equal(malloc(1000), 116);
  assert.throws(() => malloc(3000), ResourceError); // 1116 + 3000 > 4096: past the heap's end
  assert.throws(() => malloc(5000), /the wasm heap is full .*--micro-batch/); // no memory at all
});
