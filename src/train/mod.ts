/**
 * The training API, exported as `@vessel-seg/vessel-seg/train` (the root export, `mod.ts`, holds
 * everything that does not train): the loop (`train`, `resume`, `trainStep`), the typed config
 * and its presets (`makeConfig`, `PRESET_VALUES`), the command-line parsing of
 * `deno task train`, the optimizers and the memory plan of a step (`--micro-batch`).
 *
 * @example
 * ```ts
 * import { makeConfig } from "./mod.ts";
 * const config = makeConfig("tiny", { prepared: "out/demo/prepared", out: "runs/a", epochs: 2 });
 * console.assert(config.model.baseFilters === 8);
 * ```
 *
 * @module
 */
export {
  batchGradients,
  resume,
  type RunOptions,
  type RunResult,
  train,
  trainStep,
} from "./loop.ts";
export {
  measureStepMemory,
  memoryBudget,
  type MemoryPlan,
  mib,
  planMicroBatch,
  type StepMemory,
  stepPeakBytes,
} from "./memory.ts";
export { formatConfig, makeConfig, parseTrainArgs, PRESET_VALUES } from "./config.ts";
export type { TrainConfig } from "./config.ts";
export { Optimizer } from "./optim.ts";
