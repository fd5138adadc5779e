/**
 * The command line of `deno task train`: one flag table ({@linkcode TRAIN}) in which every flag is
 * declared once — its type, range or choices, help line and the config field it sets — and the
 * parsing into a {@linkcode TrainConfig} built from a preset (`src/model/run_config.ts`, where the
 * config's types, the presets and {@linkcode makeConfig} live). The resolved config is printed at
 * start, saved as `RUN/config.json`, and carried by every checkpoint.
 *
 * Defaults are the reference study's (milesial's U-Net, depth 4, base 64, RMSprop lr 1e-5,
 * momentum 0.999, weight decay 1e-8, gradient clipping 1.0, combo loss); `--preset tiny|small`
 * are CPU-sized starting points whose values any explicit flag overrides. `--help` shows each
 * flag's value in every preset.
 *
 * @module
 */
import { defineTask, type Flag, flag, type FlagTable, parseTask, QUIET } from "../cli.ts";
import { normalize } from "node:path";
import { UsageError } from "../errors.ts";
import { FOCAL_VARIANTS, LOSS_NAMES } from "../model/losses.ts";
import * as rc from "../model/run_config.ts";
import type { ConfigOverrides, TrainConfig } from "../model/run_config.ts";

export * from "../model/run_config.ts";

const { AUGMENT, BACKENDS, fieldAt, makeConfig, NORMALIZE, OPTIMIZERS, PRESET_VALUES, PRESETS } =
  rc;

/** A train flag that sets a config field (`path`, dotted) when given. */
type Sets = { path: string };

const sets = <F extends Flag>(path: string, f: F): F & Sets => ({ ...f, path });
const n = (
  path: string,
  help: string,
  range: { min?: number; max?: number; integer?: boolean } = {},
) => sets(path, flag.number({ ...range, help }));
const c = <C extends string>(path: string, choices: readonly C[], help: string) =>
  sets(path, flag.choice(choices, { help }));

/** The flags of `deno task train`, each declared once. */
const TRAIN_TABLE = {
  prepared: flag.string({
    arg: "DIR",
    help: "prepared dataset (deno task prepare --out); required",
  }),
  out: flag.string({ arg: "RUN", help: "run folder; required unless --resume" }),
  resume: flag.string({
    arg: "RUN",
    help: "continue RUN from its last checkpoint (its config.json is used)",
  }),
  preset: flag.choice(PRESETS, { default: "study", help: "starting values (study: the paper's)" }),
  depth: n("model.depth", "U-Net down-steps", { min: 1, max: 8, integer: true }),
  "base-filters": n("model.baseFilters", "filters of the first level (study ≈ 31 M params)", {
    min: 1,
    max: 1024,
    integer: true,
  }),
  "batch-norm": sets("model.batchNorm", flag.boolean({ help: "batch norm after each 3×3 conv" })),
  "no-batch-norm": flag.boolean({ help: "no batch norm" }),
  optimizer: c("optim.name", OPTIMIZERS, "optimizer"),
  lr: n("optim.lr", "learning rate", { min: 0 }),
  momentum: n(
    "optim.momentum",
    "RMSprop/SGD momentum (another optimizer than the preset's: rmsprop 0.999, else 0.9)",
    {
      min: 0,
      max: 0.999999,
    },
  ),
  "weight-decay": n("optim.weightDecay", "L2 added to the gradient like PyTorch", { min: 0 }),
  "clip-norm": n("optim.clipNorm", "global gradient-norm clip, 0 = off", { min: 0 }),
  "batch-size": n("batchSize", "tiles per step", { min: 1, integer: true }),
  epochs: n("epochs", "epochs", { min: 1, integer: true }),
  seed: n("seed", "init, data order and augmentation seed", {
    min: 0,
    max: 2 ** 32 - 1,
    integer: true,
  }),
  loss: c("loss.name", LOSS_NAMES, "combo = α·BCE + (1 − α)·(1 − Dice)"),
  "focal-alpha": n("loss.focalAlpha", "focal α", { min: 0, max: 1 }),
  "focal-gamma": n("loss.focalGamma", "focal γ", { min: 0 }),
  "focal-variant": c("loss.focalVariant", FOCAL_VARIANTS, "mean-bce = the reference code"),
  "combo-alpha": n("loss.comboAlpha", "combo: weight of cross-entropy vs Dice", { min: 0, max: 1 }),
  "combo-beta": n("loss.comboBeta", "combo: weight of false negatives vs positives", {
    min: 0,
    max: 1,
  }),
  normalize: c("normalize", NORMALIZE, "dataset = training-split mean/std from the manifest"),
  augment: c("augment", AUGMENT, "flips/rotations (morph), colour jitter (color)"),
  "checkpoint-epochs": sets(
    "checkpointEpochs",
    flag.list({ arg: "A,B,…", help: "keep checkpoints after these epochs; the last always" }),
  ),
  "val-every": n("valEvery", "validate every N epochs and after the last", {
    min: 1,
    integer: true,
  }),
  backend: c("backend", BACKENDS, "auto: hardware WebGPU, else the fastest CPU backend"),
  threshold: n("threshold", "probability threshold of validation masks (saved with the run)", {
    min: 0,
    max: 1,
  }),
  "max-tiles": n("maxTiles", "train on at most N tiles, 0 = all", { min: 0, integer: true }),
  select: c("select", rc.SELECT, "validation score that picks checkpoints/best/ (loss: lowest)"),
  "lr-schedule": c(
    "schedule.name",
    rc.LR_SCHEDULES,
    "learning-rate schedule, per epoch (PyTorch's)",
  ),
  "warmup-epochs": n("schedule.warmupEpochs", "linear warm-up epochs", { min: 0, integer: true }),
  "lr-min": n("schedule.lrMin", "floor of cosine and plateau", { min: 0 }),
  "step-epochs": sets(
    "schedule.stepEpochs",
    flag.list({ arg: "A,B,…", help: "step: epochs after which the rate is multiplied by gamma" }),
  ),
  "step-gamma": n("schedule.stepGamma", "step: the factor at each milestone", { min: 0, max: 1 }),
  "plateau-patience": n("schedule.plateauPatience", "plateau: validations without a lower loss", {
    min: 0,
    integer: true,
  }),
  "plateau-factor": n("schedule.plateauFactor", "plateau: the factor of a drop", {
    min: 0,
    max: 1,
  }),
  "init-from": sets(
    "initFrom",
    flag.string({
      arg: "RUN|CHECKPOINT|FILE.pth",
      help: "start from these weights (fresh optimizer, this config); the architecture must " +
        "match; a .pth/.pt file: a PyTorch state_dict in milesial/Pytorch-UNet's names",
    }),
  ),
  "freeze-encoder": sets(
    "freezeEncoder",
    flag.boolean({ help: "train only the decoder (with --init-from: fine-tuning)" }),
  ),
  ema: n("ema", "decay of the weights' moving average used to validate and checkpoint, 0 = off", {
    min: 0,
    max: 0.999999,
  }),
  patience: n("patience", "stop after N validations without a better --select score, 0 = off", {
    min: 0,
    integer: true,
  }),
  "micro-batch": sets(
    "microBatch",
    flag.string({
      arg: "auto|N",
      help: "tiles per forward/backward pass; auto = the most that fit the memory budget " +
        "(gradients accumulated over the batch)",
    }),
  ),
  "memory-budget": n("memoryBudgetMiB", "MiB a step may use, 0 = the backend's limit", {
    min: 0,
  }),
  quiet: QUIET,
} satisfies FlagTable;

/** `--micro-batch`'s value: `auto` or a positive integer. */
function microBatchValue(text: string): "auto" | number {
  if (text === "auto") return "auto";
  const v = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(v) || v < 1) {
    throw new UsageError(`--micro-batch: "${text}" is neither auto nor a positive integer`);
  }
  return v;
}

function presetText(path: string): string {
  const show = (v: unknown) => (Array.isArray(v) ? v.join(",") : String(v));
  const values = PRESETS.map((p) => show(fieldAt(PRESET_VALUES[p], path)));
  if (values.every((v) => v === values[0])) return values[0];
  return PRESETS.map((p, i) => `${p} ${values[i]}`).join(", ");
}

for (const f of Object.values(TRAIN_TABLE)) {
  const path = (f as Partial<Sets>).path;
  if (path !== undefined && f.kind !== "boolean") (f as Flag).defaultText = presetText(path);
}

/** The command line of `deno task train`. */
export const TRAIN = defineTask({
  synopsis: "deno task train --prepared DIR --out RUN [flags]\n" +
    "deno task train --resume RUN [--epochs N] [--backend B] [--prepared DIR] [--micro-batch M]",
  summary:
    "Trains the U-Net on a prepared dataset, validating every epoch and keeping checkpoints.\n" +
    "Exit 0 done; 1 bad input or a NaN/Inf loss; 2 bad flags; 130 interrupted (Ctrl-C).",
  flags: TRAIN_TABLE,
});

/** What {@linkcode parseTrainArgs} gives: a fresh config, or a resume request. */
export type TrainRequest =
  | { kind: "help" }
  | { kind: "fresh"; config: TrainConfig; quiet: boolean }
  | {
    kind: "resume";
    run: string;
    /** Flags allowed with --resume: more epochs, another backend or prepared directory, and
     * the original command line's other flags, which must equal the saved config. */
    overrides: ResumeOverrides;
    quiet: boolean;
  };

/** A flag given with `--resume` that must equal the saved config's value at `path`. */
export interface SameFlag {
  flag: string;
  path: string;
  value: unknown;
}

/** What `--resume` may change, and what it must find unchanged. */
export interface ResumeOverrides {
  epochs?: number;
  backend?: TrainConfig["backend"];
  prepared?: string;
  /** Memory knobs: another machine may need other micro-batches. */
  microBatch?: TrainConfig["microBatch"];
  memoryBudgetMiB?: number;
  same?: SameFlag[];
}

const show = (v: unknown) => (Array.isArray(v) ? v.join(",") : String(v));

/**
 * Checks the flags given with `--resume` against the saved config: a differing value is one
 * `UsageError` line naming each flag, saved vs given.
 *
 * @example
 * ```ts
 * import { checkSameFlags, makeConfig } from "./config.ts";
 * const saved = makeConfig("tiny", { prepared: "p", out: "r" });
 * checkSameFlags(saved, [{ flag: "preset", path: "preset", value: "tiny" }]);
 * let msg = "";
 * try {
 *   checkSameFlags(saved, [{ flag: "lr", path: "optim.lr", value: 0.01 }]);
 * } catch (e) {
 *   msg = (e as Error).message;
 * }
 * console.assert(msg.includes("--lr: saved 0.003, given 0.01"), msg);
 * ```
 */
export function checkSameFlags(saved: TrainConfig, same: readonly SameFlag[]): void {
  const diffs = same.filter((s) =>
    JSON.stringify(fieldAt(saved, s.path)) !== JSON.stringify(s.value)
  )
    .map((s) => `--${s.flag}: saved ${show(fieldAt(saved, s.path))}, given ${show(s.value)}`);
  if (diffs.length > 0) {
    throw new UsageError(
      `--resume continues the saved config, which differs: ${diffs.join("; ")} ` +
        "(only --epochs, --backend, --prepared, --micro-batch and --memory-budget may change)",
    );
  }
}

/** Flags that may accompany `--resume`. */
const RESUME_FLAGS = new Set([
  "resume",
  "epochs",
  "backend",
  "prepared",
  "micro-batch",
  "memory-budget",
  "quiet",
]);

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let o = target;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]] = value;
}

function epochList(items: string[], flagName = "checkpoint-epochs"): number[] {
  const epochs = items.map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1) {
      throw new UsageError(`--${flagName}: "${s}" is not an epoch (a positive integer)`);
    }
    return v;
  });
  return [...new Set(epochs)].sort((a, b) => a - b);
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
  const f = parseTask(TRAIN, args, () => {});
  if (f === undefined) return { kind: "help" };
  const given = Object.keys(TRAIN_TABLE).filter((k) =>
    args.some((a) => a === `--${k}` || a.startsWith(`--${k}=`))
  );
  if (f.resume !== undefined) {
    const same: SameFlag[] = [];
    for (const name of given.filter((k) => !RESUME_FLAGS.has(k))) {
      const value = (f as Record<string, unknown>)[name];
      if (name === "out") {
        if (normalize(value as string) !== normalize(f.resume)) {
          throw new UsageError(`--out ${value} differs from --resume ${f.resume}`);
        }
      } else if (name === "preset") same.push({ flag: name, path: "preset", value });
      else if (name === "no-batch-norm") {
        same.push({ flag: name, path: "model.batchNorm", value: false });
      } else {
        const path = (TRAIN_TABLE[name as keyof typeof TRAIN_TABLE] as Partial<Sets>).path!;
        same.push({
          flag: name,
          path,
          value: name === "checkpoint-epochs" || name === "step-epochs"
            ? epochList(value as string[], name)
            : value,
        });
      }
    }
    const overrides: ResumeOverrides = {};
    if (f.epochs !== undefined) overrides.epochs = f.epochs;
    if (f.backend !== undefined) overrides.backend = f.backend;
    if (f.prepared !== undefined) overrides.prepared = f.prepared;
    if (f["micro-batch"] !== undefined) overrides.microBatch = microBatchValue(f["micro-batch"]);
    if (f["memory-budget"] !== undefined) overrides.memoryBudgetMiB = f["memory-budget"];
    if (same.length > 0) overrides.same = same;
    return { kind: "resume", run: f.resume, overrides, quiet: f.quiet };
  }
  if (f.prepared === undefined) throw new UsageError("--prepared is required");
  if (f.out === undefined) throw new UsageError("--out is required");
  if (f["batch-norm"] && f["no-batch-norm"]) {
    throw new UsageError("--batch-norm and --no-batch-norm contradict each other");
  }
  const overrides: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(TRAIN_TABLE)) {
    const path = (def as Partial<Sets>).path;
    const value = (f as Record<string, unknown>)[name];
    if (path === undefined || value === undefined || value === false) continue;
    const list = name === "checkpoint-epochs" || name === "step-epochs";
    setPath(
      overrides,
      path,
      list
        ? epochList(value as string[], name)
        : name === "micro-batch"
        ? microBatchValue(value as string)
        : value,
    );
  }
  if (f["no-batch-norm"]) setPath(overrides, "model.batchNorm", false);
  const config = makeConfig(f.preset, {
    prepared: f.prepared,
    out: f.out,
    ...(overrides as ConfigOverrides),
  });
  return { kind: "fresh", config, quiet: f.quiet };
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
