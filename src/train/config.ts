/**
 * The whole training configuration in one typed object (nanoGPT-style): every flag of
 * `deno task train`, its default, the presets, and the parsing from the command line. The
 * resolved config is printed at start, saved as `RUN/config.json`, and carried by every
 * checkpoint.
 *
 * Defaults are the reference study's (milesial's U-Net, depth 4, base 64, RMSprop lr 1e-5,
 * momentum 0.999, weight decay 1e-8, gradient clipping 1.0, combo loss); `--preset tiny|small`
 * are CPU-sized starting points whose values any explicit flag overrides.
 *
 * @module
 */
import { choiceFlag, type FlagSpec, numberFlag, parseFlags } from "../cli.ts";
import { UsageError } from "../errors.ts";
import { DEFAULT_LOSS, FOCAL_VARIANTS, LOSS_NAMES, type LossConfig } from "../model/losses.ts";
import type { UNetConfig } from "../model/unet.ts";

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
/** `--preset` choices. */
export const PRESETS = ["study", "small", "tiny"] as const;
/** One of {@linkcode PRESETS}. */
export type PresetName = typeof PRESETS[number];

/** Optimisation settings; semantics follow PyTorch's optimizers (see `optim.ts`). */
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
  /** Probability threshold for validation masks. */
  threshold: number;
  /** Use at most this many training tiles (0 = all); for quick runs. */
  maxTiles: number;
}

/** Values a preset sets; explicit flags override them. */
type PresetValues = Omit<TrainConfig, "prepared" | "out" | "preset">;

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
};

/** The presets. `study` is the default. */
export const PRESET_VALUES: Record<PresetName, PresetValues> = {
  study: STUDY,
  small: {
    ...STUDY,
    model: { depth: 4, baseFilters: 16, batchNorm: true, seed: 0 },
    optim: { name: "adam", lr: 1e-3, momentum: 0.9, weightDecay: 1e-8, clipNorm: 1 },
    batchSize: 8,
    epochs: 40,
    checkpointEpochs: [10, 20, 40],
  },
  tiny: {
    ...STUDY,
    model: { depth: 3, baseFilters: 8, batchNorm: true, seed: 0 },
    optim: { name: "adam", lr: 3e-3, momentum: 0.9, weightDecay: 1e-8, clipNorm: 1 },
    batchSize: 8,
    epochs: 8,
    checkpointEpochs: [4, 8],
  },
};

/** Flags of `deno task train` with their documented defaults (shown by `--help`). */
export const TRAIN_FLAGS: { flag: string; doc: string }[] = [
  { flag: "--prepared DIR", doc: "prepared dataset (deno task prepare --out); required" },
  { flag: "--out RUN", doc: "run directory; required unless --resume" },
  { flag: "--resume RUN", doc: "continue RUN from its last checkpoint (its config.json is used)" },
  { flag: "--preset study|small|tiny", doc: "starting values (default study: the paper's setup)" },
  { flag: "--depth N", doc: "U-Net down-steps (study 4, small 4, tiny 3)" },
  {
    flag: "--base-filters N",
    doc: "filters of the first level (study 64 ≈ 31 M params, small 16, tiny 8)",
  },
  { flag: "--batch-norm / --no-batch-norm", doc: "batch norm after each 3×3 conv (default on)" },
  { flag: "--optimizer rmsprop|adam|sgd", doc: "study rmsprop; small/tiny adam" },
  { flag: "--lr X", doc: "learning rate (study 1e-5, small 1e-3, tiny 3e-3)" },
  { flag: "--momentum X", doc: "RMSprop/SGD momentum (study 0.999; others 0.9)" },
  { flag: "--weight-decay X", doc: "L2 added to the gradient like PyTorch (default 1e-8)" },
  { flag: "--clip-norm X", doc: "global gradient-norm clip, 0 = off (default 1.0)" },
  { flag: "--batch-size N", doc: "tiles per step (study 16, small/tiny 8)" },
  { flag: "--epochs N", doc: "epochs (study 160, small 40, tiny 8)" },
  { flag: "--seed N", doc: "init, data order and augmentation seed (default 0)" },
  { flag: "--loss bce|dice|focal|combo", doc: "default combo = 0.5·BCE + 0.5·(1 − Dice)" },
  { flag: "--focal-alpha X", doc: "focal α (default 0.8)" },
  { flag: "--focal-gamma X", doc: "focal γ (default 2)" },
  {
    flag: "--focal-variant per-pixel|mean-bce",
    doc: "mean-bce = the reference code (default per-pixel)",
  },
  { flag: "--combo-alpha X", doc: "combo: weight of cross-entropy vs Dice (default 0.5)" },
  { flag: "--combo-beta X", doc: "combo: weight of false negatives vs positives (default 0.5)" },
  {
    flag: "--normalize none|dataset",
    doc: "dataset = training-split mean/std from the manifest (default)",
  },
  { flag: "--augment none|morph|color|all", doc: "flips/rotations, colour jitter (default none)" },
  {
    flag: "--checkpoint-epochs A,B,…",
    doc: "keep checkpoints after these epochs (study 40,80,160); the last always",
  },
  { flag: "--val-every N", doc: "validate every N epochs and after the last (default 1)" },
  {
    flag: "--backend auto|webgpu|wasm|cpu",
    doc: "default auto: hardware WebGPU, else fastest CPU backend",
  },
  { flag: "--threshold X", doc: "probability threshold of validation masks (default 0.5)" },
  { flag: "--max-tiles N", doc: "train on at most N tiles, 0 = all (default 0)" },
  { flag: "--quiet", doc: "no progress bar" },
  { flag: "--help", doc: "print this list" },
];

const FLAG_SPEC: FlagSpec = {
  prepared: { type: "string" },
  out: { type: "string" },
  resume: { type: "string" },
  preset: { type: "string" },
  depth: { type: "string" },
  "base-filters": { type: "string" },
  "batch-norm": { type: "boolean" },
  "no-batch-norm": { type: "boolean" },
  optimizer: { type: "string" },
  lr: { type: "string" },
  momentum: { type: "string" },
  "weight-decay": { type: "string" },
  "clip-norm": { type: "string" },
  "batch-size": { type: "string" },
  epochs: { type: "string" },
  seed: { type: "string" },
  loss: { type: "string" },
  "focal-alpha": { type: "string" },
  "focal-gamma": { type: "string" },
  "focal-variant": { type: "string" },
  "combo-alpha": { type: "string" },
  "combo-beta": { type: "string" },
  normalize: { type: "string" },
  augment: { type: "string" },
  "checkpoint-epochs": { type: "string" },
  "val-every": { type: "string" },
  backend: { type: "string" },
  threshold: { type: "string" },
  "max-tiles": { type: "string" },
  quiet: { type: "boolean" },
  help: { type: "boolean" },
};

/** What {@linkcode parseTrainArgs} gives: a fresh config, or a resume request. */
export type TrainRequest =
  | { kind: "help" }
  | { kind: "fresh"; config: TrainConfig; quiet: boolean }
  | {
    kind: "resume";
    run: string;
    /** Flags allowed with --resume: more epochs, another backend or prepared directory. */
    overrides: { epochs?: number; backend?: TrainConfig["backend"]; prepared?: string };
    quiet: boolean;
  };

/** Flags that may accompany `--resume`. */
const RESUME_FLAGS = new Set(["resume", "epochs", "backend", "prepared", "quiet"]);

function parseEpochList(value: string | boolean | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  if (typeof value !== "string") throw new UsageError("--checkpoint-epochs needs a list");
  if (value.trim() === "") return [];
  const out = value.split(",").map((s) =>
    numberFlag(s.trim(), "checkpoint-epochs", 0, { min: 1, integer: true })
  );
  return [...new Set(out)].sort((a, b) => a - b);
}

/**
 * Parses the command line of `deno task train`. Unknown flags and bad values are `UsageError`s.
 *
 * @example
 * ```ts
 * import { parseTrainArgs } from "./config.ts";
 * const r = parseTrainArgs(["--prepared", "p", "--out", "r", "--preset", "tiny"]);
 * console.assert(r.kind === "fresh" && r.config.model.baseFilters === 8);
 * ```
 */
export function parseTrainArgs(args: string[]): TrainRequest {
  const f = parseFlags(args, FLAG_SPEC);
  if (f.help) return { kind: "help" };
  const quiet = f.quiet === true;
  if (typeof f.resume === "string") {
    const extra = Object.keys(f).filter((k) => f[k] !== undefined && !RESUME_FLAGS.has(k));
    if (extra.length > 0) {
      throw new UsageError(
        `--resume continues with the run's saved config; cannot also give --${extra[0]} ` +
          `(allowed: --epochs, --backend, --prepared)`,
      );
    }
    const overrides: { epochs?: number; backend?: TrainConfig["backend"]; prepared?: string } = {};
    if (f.epochs !== undefined) {
      overrides.epochs = numberFlag(f.epochs, "epochs", 1, { min: 1, integer: true });
    }
    if (f.backend !== undefined) {
      overrides.backend = choiceFlag(f.backend, "backend", BACKENDS, "auto");
    }
    if (typeof f.prepared === "string") overrides.prepared = f.prepared;
    return { kind: "resume", run: f.resume, overrides, quiet };
  }
  if (typeof f.prepared !== "string" || f.prepared === "") {
    throw new UsageError("--prepared is required");
  }
  if (typeof f.out !== "string" || f.out === "") throw new UsageError("--out is required");
  const preset = choiceFlag(f.preset, "preset", PRESETS, "study");
  const p = PRESET_VALUES[preset];
  if (f["batch-norm"] && f["no-batch-norm"]) {
    throw new UsageError("--batch-norm and --no-batch-norm contradict each other");
  }
  const seed = numberFlag(f.seed, "seed", p.seed, { min: 0, max: 2 ** 32 - 1, integer: true });
  const optName = choiceFlag(f.optimizer, "optimizer", OPTIMIZERS, p.optim.name);
  const epochs = numberFlag(f.epochs, "epochs", p.epochs, { min: 1, integer: true });
  const config: TrainConfig = {
    prepared: f.prepared,
    out: f.out,
    preset,
    model: {
      depth: numberFlag(f.depth, "depth", p.model.depth, { min: 1, max: 8, integer: true }),
      baseFilters: numberFlag(f["base-filters"], "base-filters", p.model.baseFilters, {
        min: 1,
        max: 1024,
        integer: true,
      }),
      batchNorm: f["no-batch-norm"] ? false : f["batch-norm"] ? true : p.model.batchNorm,
      seed,
    },
    loss: {
      name: choiceFlag(f.loss, "loss", LOSS_NAMES, p.loss.name),
      focalAlpha: numberFlag(f["focal-alpha"], "focal-alpha", p.loss.focalAlpha, {
        min: 0,
        max: 1,
      }),
      focalGamma: numberFlag(f["focal-gamma"], "focal-gamma", p.loss.focalGamma, { min: 0 }),
      focalVariant: choiceFlag(
        f["focal-variant"],
        "focal-variant",
        FOCAL_VARIANTS,
        p.loss.focalVariant,
      ),
      comboAlpha: numberFlag(f["combo-alpha"], "combo-alpha", p.loss.comboAlpha, {
        min: 0,
        max: 1,
      }),
      comboBeta: numberFlag(f["combo-beta"], "combo-beta", p.loss.comboBeta, { min: 0, max: 1 }),
    },
    optim: {
      name: optName,
      lr: numberFlag(f.lr, "lr", p.optim.lr, { min: 0 }),
      momentum: numberFlag(
        f.momentum,
        "momentum",
        optName === p.optim.name ? p.optim.momentum : optName === "rmsprop" ? 0.999 : 0.9,
        { min: 0, max: 0.999999 },
      ),
      weightDecay: numberFlag(f["weight-decay"], "weight-decay", p.optim.weightDecay, { min: 0 }),
      clipNorm: numberFlag(f["clip-norm"], "clip-norm", p.optim.clipNorm, { min: 0 }),
    },
    batchSize: numberFlag(f["batch-size"], "batch-size", p.batchSize, { min: 1, integer: true }),
    epochs,
    seed,
    normalize: choiceFlag(f.normalize, "normalize", NORMALIZE, p.normalize),
    augment: choiceFlag(f.augment, "augment", AUGMENT, p.augment),
    checkpointEpochs: parseEpochList(f["checkpoint-epochs"], p.checkpointEpochs),
    valEvery: numberFlag(f["val-every"], "val-every", p.valEvery, { min: 1, integer: true }),
    backend: choiceFlag(f.backend, "backend", BACKENDS, p.backend),
    threshold: numberFlag(f.threshold, "threshold", p.threshold, { min: 0, max: 1 }),
    maxTiles: numberFlag(f["max-tiles"], "max-tiles", p.maxTiles, { min: 0, integer: true }),
  };
  return { kind: "fresh", config, quiet };
}

/** The config as aligned `key: value` lines, for the start of a run. */
export function formatConfig(config: TrainConfig): string {
  const lines: string[] = [];
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        walk(v as Record<string, unknown>, `${prefix}${k}.`);
      } else {
        lines.push(`  ${`${prefix}${k}`.padEnd(20)} ${Array.isArray(v) ? v.join(",") : String(v)}`);
      }
    }
  };
  walk(config as unknown as Record<string, unknown>, "");
  return lines.join("\n");
}
