/**
 * A second thread for this project's wasm kernels when tfjs-backend-wasm runs its threaded build
 * (the heap is a shared `WebAssembly.Memory`): XNNPACK's thread pool only serves tfjs's own
 * kernels, so the filter-gradient matmul (`dw_gemm`) would otherwise run on one core.
 *
 * The helper is a `node:worker_threads` thread (unref'd, so it never keeps the process alive)
 * that instantiates the same module on the same memory. A kernel posts one call with
 * {@linkcode OpsHelper.start}, does its own share on the main thread, then blocks in
 * {@linkcode OpsHelper.finish} (`Atomics.wait`, allowed on Deno's main thread) until the helper
 * is done. The two shares write disjoint memory.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { ARGS, DONE, FN, MAX_ARGS, NARGS, SLOTS, STATE } from "./wasm_ops_control.ts";

/** Functions of `wasm_ops.wat` the helper can run. */
export const HELPER_CALLS = ["dw_gemm", "wino_conv", "wino_dw"] as const;
/** One of {@linkcode HELPER_CALLS}. */
export type HelperCall = (typeof HELPER_CALLS)[number];

/** A started helper thread. */
export interface OpsHelper {
  /** Posts `name(...args)` to the helper thread and returns at once. */
  start(name: HelperCall, args: number[]): void;
  /** Blocks until the posted call has finished; throws if it threw or took over a minute. */
  finish(): void;
}

const helpers = new WeakMap<WebAssembly.Memory, OpsHelper>();

/** The helper started for `memory`, if any. */
export function opsHelperFor(memory: WebAssembly.Memory): OpsHelper | undefined {
  return helpers.get(memory);
}

/**
 * Starts the helper thread for a shared `memory` running `module` (idempotent); resolves when it
 * is ready, to `undefined` when the memory is not shared or the thread cannot start.
 */
export async function startOpsHelper(
  memory: WebAssembly.Memory,
  module: WebAssembly.Module,
): Promise<OpsHelper | undefined> {
  const existing = helpers.get(memory);
  if (existing !== undefined) return existing;
  if (typeof SharedArrayBuffer === "undefined" || !(memory.buffer instanceof SharedArrayBuffer)) {
    return undefined;
  }
  const control = new SharedArrayBuffer(4 * SLOTS);
  const ctl = new Int32Array(control);
  let worker: Worker;
  try {
    worker = new Worker(new URL("./wasm_ops_worker.ts", import.meta.url), {
      workerData: { memory, module, control, names: [...HELPER_CALLS] },
    });
    await new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
    });
  } catch {
    return undefined;
  }
  worker.unref();
  let busy = false;
  const helper: OpsHelper = {
    start(name, args) {
      if (busy) throw new Error("wasm ops helper: a call is already running");
      if (args.length > MAX_ARGS) throw new Error(`wasm ops helper: more than ${MAX_ARGS} args`);
      ctl[FN] = HELPER_CALLS.indexOf(name);
      ctl[NARGS] = args.length;
      ctl.set(args, ARGS);
      Atomics.store(ctl, DONE, 0);
      Atomics.store(ctl, STATE, 1);
      Atomics.notify(ctl, STATE);
      busy = true;
    },
    finish() {
      if (!busy) return;
      busy = false;
      if (Atomics.wait(ctl, DONE, 0, 60_000) === "timed-out") {
        throw new Error("wasm ops helper: no answer within 60 s");
      }
      if (Atomics.load(ctl, DONE) === 2) throw new Error("wasm ops helper: the call threw");
    },
  };
  helpers.set(memory, helper);
  return helper;
}
