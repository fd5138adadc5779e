/**
 * The helper thread of `./wasm_ops_helper.ts`: instantiates this project's wasm module on the
 * shared tfjs heap and runs the calls posted to its control block, one at a time, until the
 * process exits (the thread is unref'd).
 *
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { ARGS, DONE, FN, NARGS, STATE } from "./wasm_ops_control.ts";

const { memory, module, control, names } = workerData as {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  control: SharedArrayBuffer;
  names: string[];
};
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<
  string,
  (...args: number[]) => void
>;
const ctl = new Int32Array(control);
parentPort!.postMessage("ready");
for (;;) {
  Atomics.wait(ctl, STATE, 0);
  let status = 1;
  try {
    const args = Array.from(ctl.subarray(ARGS, ARGS + ctl[NARGS]));
    exports[names[ctl[FN]]](...args);
  } catch {
    status = 2;
  }
  Atomics.store(ctl, STATE, 0);
  Atomics.store(ctl, DONE, status);
  Atomics.notify(ctl, DONE);
}
