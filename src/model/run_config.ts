/**
 * The configuration a training run is made with, as saved in `RUN/config.json` and in every
 * checkpoint's `state.json` (nanoGPT: a checkpoint carries its config). The types and the choice
 * lists live here, beside the model, because the model artifact (`artifact.ts`) reads and checks
 * them. The presets are typed objects here too, and {@linkcode makeConfig} builds a config from
 * one plus typed overrides (what the demo, the experiment runner and tests call); the flag table
 * and the command-line parsing are `src/train/config.ts`.
 *
 * @module
 */
import { DEFAULT_LOSS, FOCAL_VARIANTS, LOSS_NAMES, type LossConfig } from "./losses.ts";
import type { UNetConfig } from "./unet.ts";

/** Optimizers accepted by `--optimizer`. */
export const OPTIMIZERS = ["rmsprop", "adam", "sgd"] as const;
/** One of {@linkcode OPTIMIZERS}. */
export type OptimizerName = typeof OPTIMIZERS[number];
/** `--normalize` choices. */
export const NORMALIZE = ["none", "dataset"] as const;
/** `--augment` choices. */
export const AUGMENT = ["none", "morph", "color", "all"] as const;
/** `--backend` choices. */
export const BACKENDS = ["auto", "webgpu", "wasm", "cpu"] as const;
/** `--select` choices: what makes a checkpoint the best one. */
export const SELECT = ["dsc", "iou", "loss"] as const;
/** `--lr-schedule` choices (see `src/train/schedule.ts`). */
export const LR_SCHEDULES = ["constant", "cosine", "step", "plateau"] as const;

/** The learning-rate schedule (PyTorch's schedulers, stepped per epoch). */
export interface ScheduleConfig {
  name: typeof LR_SCHEDULES[number];
  /** Epochs of linear warm-up (0 = none). */
  warmupEpochs: number;
  /** Floor of cosine and plateau. */
  lrMin: number;
  /** `step`: the milestone epochs. */
  stepEpochs: number[];
  /** `step`: the factor at each milestone. */
  stepGamma: number;
  /** `plateau`: validations without a better loss before the rate drops. */
  plateauPatience: number;
  /** `plateau`: the factor of a drop. */
  plateauFactor: number;
}

/** `--preset` choices. */
export const PRESETS = ["study", "small", "tiny"] as const;
/** One of {@linkcode PRESETS}. */
export type PresetName = typeof PRESETS[number];

/** Optimisation settings; semantics follow PyTorch's optimizers (see `src/train/optim.ts`). */
export interface OptimConfig {
  name: OptimizerName;
  /** Learning rate. */
  lr: number;
  /** RMSprop/SGD momentum (Adam: β1 0.9, β2 0.999 fixed, momentum unused). */
  momentum: number;
  /** L2 weight decay added to the gradient, `g += wd·w`, like PyTorch's `weight_decay`. */
  weightDecay: number;
  /** Global-norm gradient clipping (`torch.nn.utils.clip_grad_norm_`); 0 turns it off. */
  clipNorm: number;
}

/** The resolved configuration of a training run. */
export interface TrainConfig {
  /** Prepared dataset directory (`deno task prepare --out`). */
  prepared: string;
  /** Run directory: config.json, log.jsonl, checkpoints/. */
  out: string;
  preset: PresetName;
  model: UNetConfig;
  loss: LossConfig;
  optim: OptimConfig;
  batchSize: number;
  epochs: number;
  /** Seed of the weight init (model.seed is derived from it), the data order and augmentation. */
  seed: number;
  normalize: typeof NORMALIZE[number];
  augment: typeof AUGMENT[number];
  /** Epochs after which a checkpoint is kept (the last epoch always is). */
  checkpointEpochs: number[];
  /** Validate every this many epochs (and after the last). */
  valEvery: number;
  backend: typeof BACKENDS[number];
  /** Probability threshold for validation masks (saved: evaluate and predict default to it). */
  threshold: number;
  /** Use at most this many training tiles (0 = all); for quick runs. */
  maxTiles: number;
  /** The validation score that picks `checkpoints/best/`: micro DSC, micro IoU (higher is
   * better) or the validation loss (lower is better). */
  select: typeof SELECT[number];
  /** Stop after this many validations without a better `select` score; 0 = never. */
  patience: number;
  /** The learning-rate schedule. */
  schedule: ScheduleConfig;
  /** Decay of the weights' exponential moving average; 0 = none. Validation, checkpoints and
   * the best choice use the average when on. */
  ema: number;
  /** A run or checkpoint whose weights start this run (fresh optimizer, this config); null =
   * the seeded initialisation. */
  initFrom: string | null;
  /** Train only the decoder (the encoder's weights stay as initialised). */
  freezeEncoder: boolean;
  /** Tiles per forward/backward pass: `"auto"` = the largest that fits the memory budget (see
   * `src/train/memory.ts`); smaller than `batchSize`, the gradients of the micro-batches are
   * accumulated and the optimizer still steps once per batch. */
  microBatch: "auto" | number;
  /** Memory a training step may use, MiB; 0 = the backend's own limit (wasm: its 4 GiB heap). */
  memoryBudgetMiB: number;
}

/**
 * The default schedule: a constant rate; the other schedules' settings at PyTorch's defaults
 * where they exist (MultiStepLR γ 0.1; ReduceLROnPlateau patience 10, factor 0.1).
 */
export const CONSTANT_LR: ScheduleConfig = {
  name: "constant",
  warmupEpochs: 0,
  lrMin: 0,
  stepEpochs: [],
  stepGamma: 0.1,
  plateauPatience: 10,
  plateauFactor: 0.1,
};

/**
 * Fields added after format 1 was first written, with the values older runs had in effect (and
 * every preset's defaults).
 */
export const LATER_FIELDS: Pick<
  TrainConfig,
  | "select"
  | "patience"
  | "schedule"
  | "ema"
  | "initFrom"
  | "freezeEncoder"
  | "microBatch"
  | "memoryBudgetMiB"
> = {
  select: "dsc",
  patience: 0,
  schedule: CONSTANT_LR,
  ema: 0,
  initFrom: null,
  freezeEncoder: false,
  microBatch: "auto",
  memoryBudgetMiB: 0,
};

/** Values a preset sets; explicit flags override them. */
export type PresetValues = Omit<TrainConfig, "prepared" | "out" | "preset">;

const STUDY: PresetValues = {
  model: { depth: 4, baseFilters: 64, batchNorm: true, seed: 0 },
  loss: { ...DEFAULT_LOSS },
  optim: { name: "rmsprop", lr: 1e-5, momentum: 0.999, weightDecay: 1e-8, clipNorm: 1 },
  batchSize: 16,
  epochs: 160,
  seed: 0,
  normalize: "dataset",
  augment: "none",
  checkpointEpochs: [40, 80, 160],
  valEvery: 1,
  backend: "auto",
  threshold: 0.5,
  maxTiles: 0,
  ...LATER_FIELDS,
};

/**
 * The presets. `study` (the default) is the reference study's setup (milesial's U-Net, depth 4,
 * base 64, RMSprop lr 1e-5, momentum 0.999, weight decay 1e-8, gradient clipping 1.0, combo
 * loss); `small` and `tiny` are CPU-sized starting points.
 */
export const PRESET_VALUES: Record<PresetName, PresetValues> = {
  study: STUDY,
  small: cpuPreset({ depth: 4, baseFilters: 16, lr: 1e-3, checkpointEpochs: [10, 20, 40] }),
  tiny: cpuPreset({ depth: 3, baseFilters: 8, lr: 3e-3, checkpointEpochs: [4, 8] }),
};

/**
 * A CPU-sized preset: the study's setup with a smaller U-Net, Adam (momentum 0.9), batch 8, and
 * as many epochs as the last checkpoint.
 */
function cpuPreset(
  p: { depth: number; baseFilters: number; lr: number; checkpointEpochs: number[] },
): PresetValues {
  const { depth, baseFilters, lr, checkpointEpochs } = p;
  return {
    ...STUDY,
    model: { depth, baseFilters, batchNorm: true, seed: 0 },
    optim: { name: "adam", lr, momentum: 0.9, weightDecay: 1e-8, clipNorm: 1 },
    batchSize: 8,
    epochs: checkpointEpochs[checkpointEpochs.length - 1],
    checkpointEpochs,
  };
}

/**
 * The momentum a preset gives `optimizer`: the preset's own for its optimizer, else RMSprop's
 * 0.999 (the study) or 0.9.
 */
export function defaultMomentum(p: PresetValues, optimizer: OptimizerName | undefined): number {
  if (optimizer === undefined || optimizer === p.optim.name) return p.optim.momentum;
  return optimizer === "rmsprop" ? 0.999 : 0.9;
}

/** Typed overrides of a preset: any field, nested objects partially. */
export type ConfigOverrides = {
  [K in keyof PresetValues]?: PresetValues[K] extends unknown[] ? PresetValues[K]
    : PresetValues[K] extends object ? Partial<PresetValues[K]>
    : PresetValues[K];
};

/**
 * A complete config from a preset and typed overrides; `model.seed` follows `seed` unless given.
 * Throws a `RangeError` naming the field when the result is not a valid config.
 *
 * @example
 * ```ts
 * import { makeConfig } from "./run_config.ts";
 * const c = makeConfig("tiny", { prepared: "p", out: "r", epochs: 2, model: { baseFilters: 4 } });
 * console.assert(c.model.baseFilters === 4 && c.model.depth === 3 && c.epochs === 2);
 * ```
 */
export function makeConfig(
  preset: PresetName,
  init: { prepared: string; out: string } & ConfigOverrides,
): TrainConfig {
  const p = PRESET_VALUES[preset];
  const { prepared, out, ...o } = init;
  const seed = o.seed ?? p.seed;
  const config: TrainConfig = {
    prepared,
    out,
    preset,
    ...structuredClone(p),
    ...o,
    model: { ...p.model, seed, ...o.model },
    loss: { ...p.loss, ...o.loss },
    optim: { ...p.optim, momentum: defaultMomentum(p, o.optim?.name), ...o.optim },
    schedule: { ...p.schedule, ...o.schedule },
    seed,
  };
  const problem = configProblem(config);
  if (problem !== undefined) throw new RangeError(problem);
  return config;
}

type Check = [path: string, ok: (v: unknown) => boolean, expected: string];

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => (v: unknown) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const num = (min: number, max = Infinity) => (v: unknown) =>
  typeof v === "number" && Number.isFinite(v) && v >= min && v <= max;
const oneOf = (choices: readonly unknown[]) => (v: unknown) => choices.includes(v);

const CHECKS: Check[] = [
  ["prepared", (v) => typeof v === "string", "a path"],
  ["out", (v) => typeof v === "string", "a path"],
  ["preset", oneOf(PRESETS), PRESETS.join(" | ")],
  ["model.depth", int(1, 8), "an integer from 1 to 8"],
  ["model.baseFilters", int(1, 1024), "an integer from 1 to 1024"],
  ["model.batchNorm", (v) => typeof v === "boolean", "true or false"],
  ["model.seed", int(0, 2 ** 32 - 1), "a 32-bit seed"],
  ["loss.name", oneOf(LOSS_NAMES), LOSS_NAMES.join(" | ")],
  ["loss.focalAlpha", num(0, 1), "a number from 0 to 1"],
  ["loss.focalGamma", num(0), "a number ≥ 0"],
  ["loss.focalVariant", oneOf(FOCAL_VARIANTS), FOCAL_VARIANTS.join(" | ")],
  ["loss.comboAlpha", num(0, 1), "a number from 0 to 1"],
  ["loss.comboBeta", num(0, 1), "a number from 0 to 1"],
  ["optim.name", oneOf(OPTIMIZERS), OPTIMIZERS.join(" | ")],
  ["optim.lr", num(0), "a number ≥ 0"],
  ["optim.momentum", num(0, 1), "a number from 0 to 1"],
  ["optim.weightDecay", num(0), "a number ≥ 0"],
  ["optim.clipNorm", num(0), "a number ≥ 0"],
  ["batchSize", int(1), "a positive integer"],
  ["epochs", int(1), "a positive integer"],
  ["seed", int(0, 2 ** 32 - 1), "a 32-bit seed"],
  ["normalize", oneOf(NORMALIZE), NORMALIZE.join(" | ")],
  ["augment", oneOf(AUGMENT), AUGMENT.join(" | ")],
  ["checkpointEpochs", (v) => Array.isArray(v) && v.every(int(1)), "a list of epochs"],
  ["valEvery", int(1), "a positive integer"],
  ["backend", oneOf(BACKENDS), BACKENDS.join(" | ")],
  ["threshold", num(0, 1), "a number from 0 to 1"],
  ["maxTiles", int(0), "an integer ≥ 0"],
  ["select", oneOf(SELECT), SELECT.join(" | ")],
  ["patience", int(0), "an integer ≥ 0"],
  ["schedule.name", oneOf(LR_SCHEDULES), LR_SCHEDULES.join(" | ")],
  ["schedule.warmupEpochs", int(0), "an integer ≥ 0"],
  ["schedule.lrMin", num(0), "a number ≥ 0"],
  ["schedule.stepEpochs", (v) => Array.isArray(v) && v.every(int(1)), "a list of epochs"],
  ["schedule.stepGamma", num(0, 1), "a number from 0 to 1"],
  ["schedule.plateauPatience", int(0), "an integer ≥ 0"],
  ["schedule.plateauFactor", num(0, 1), "a number from 0 to 1"],
  ["ema", num(0, 0.999999), "a number from 0 (off) to below 1"],
  ["initFrom", (v) => v === null || (typeof v === "string" && v !== ""), "null or a path"],
  ["freezeEncoder", (v) => typeof v === "boolean", "true or false"],
  ["microBatch", (v) => v === "auto" || int(1)(v), '"auto" or a positive integer'],
  ["memoryBudgetMiB", num(0), "a number ≥ 0 (0 = the backend's limit)"],
];

/**
 * The value at a dotted `path` of a config-like object (`"optim.lr"`), `undefined` where absent.
 *
 * @example
 * ```ts
 * import { fieldAt } from "./run_config.ts";
 * console.assert(fieldAt({ optim: { lr: 0.1 } }, "optim.lr") === 0.1);
 * console.assert(fieldAt({}, "optim.lr") === undefined);
 * ```
 */
export function fieldAt(value: unknown, path: string): unknown {
  let v = value;
  for (const k of path.split(".")) {
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  }
  return v;
}

/**
 * The first problem of a saved config, as `field X: expected …, found …`, or `undefined` when it
 * is a complete, valid {@linkcode TrainConfig}.
 *
 * @example
 * ```ts
 * import { configProblem } from "./run_config.ts";
 * console.assert(configProblem({}) === "field prepared: expected a path, found undefined");
 * console.assert(configProblem(null) === "expected an object, found null");
 * ```
 */
export function configProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return `expected an object, found ${JSON.stringify(value)}`;
  }
  for (const [path, ok, expected] of CHECKS) {
    const v = fieldAt(value, path);
    if (!ok(v)) return `field ${path}: expected ${expected}, found ${JSON.stringify(v)}`;
  }
  return undefined;
}
