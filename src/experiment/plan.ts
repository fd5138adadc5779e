/**
 * The arms of `deno task experiment`: the reference study's three comparisons (Bell 2023, Figs.
 * 3–5) as training configurations that differ from one base only in the setting compared.
 *
 * Base: `deno task train --preset tiny` (U-Net depth 3, base 8, Adam lr 3e-3, batch 8, combo loss,
 * dataset normalisation, no augmentation), the same seed and backend for every arm.
 *
 * - `normalization` (Fig. 3): raw (`--normalize none`), normalised (`dataset`), normalised +
 *   colour/morph transforms (`--augment all`), normalised + morph transforms only
 *   (`--augment morph`); the varied settings are `normalize` and `augment`.
 * - `batch` (Fig. 4): batch size 1 / 4 / 16.
 * - `loss` (Fig. 5): BCE / focal / combo.
 *
 * Arms of different questions with identical settings (normalised = combo) are trained once.
 *
 * @module
 */
import type { TrainConfig } from "../model/run_config.ts";
import type { LossName } from "../model/losses.ts";

/** The questions, in the order of the study's figures. */
export const QUESTIONS = ["normalization", "batch", "loss"] as const;
/** One of {@linkcode QUESTIONS}. */
export type Question = typeof QUESTIONS[number];

/** The settings an arm may change. */
export interface ArmSettings {
  normalize: TrainConfig["normalize"];
  augment: TrainConfig["augment"];
  loss: LossName;
  batchSize: number;
}

/** One arm of a question. */
export interface Arm {
  question: Question;
  /** Directory name under `runs/<question>/`. */
  name: string;
  /** Legend label. */
  label: string;
  /** The settings this arm sets (the others are the base's). */
  settings: Partial<ArmSettings>;
}

/** The config keys each question varies (`loss` is `loss.name`). */
export const VARIED: Record<Question, (keyof ArmSettings)[]> = {
  normalization: ["normalize", "augment"],
  batch: ["batchSize"],
  loss: ["loss"],
};

/** What each question compares, as a figure/section title. */
export const QUESTION_TITLES: Record<Question, string> = {
  normalization: "Normalisation and transforms (study Fig. 3)",
  batch: "Batch size against relative wall time (study Fig. 4)",
  loss: "Loss function (study Fig. 5)",
};

/** The arms of every question. */
export const ARMS: Record<Question, Arm[]> = {
  normalization: ([
    { name: "raw", label: "raw", settings: { normalize: "none", augment: "none" } },
    {
      name: "normalised",
      label: "normalised",
      settings: { normalize: "dataset", augment: "none" },
    },
    {
      name: "normalised-all",
      label: "normalised + colour/morph",
      settings: { normalize: "dataset", augment: "all" },
    },
    {
      name: "normalised-morph",
      label: "normalised + morph only",
      settings: { normalize: "dataset", augment: "morph" },
    },
  ] satisfies Omit<Arm, "question">[]).map((a) => ({ ...a, question: "normalization" as const })),
  batch: [1, 4, 16].map((n) => ({
    question: "batch" as const,
    name: `batch-${n}`,
    label: `batch ${n}`,
    settings: { batchSize: n },
  })),
  loss: (["bce", "focal", "combo"] as const).map((l) => ({
    question: "loss" as const,
    name: l,
    label: l === "bce" ? "BCE" : l,
    settings: { loss: l },
  })),
};

/**
 * The training config of `arm`: `base` with the arm's settings applied and `out` set. Nothing else
 * changes.
 *
 * @example
 * ```ts
 * import { ARMS, armConfig } from "./plan.ts";
 * import { makeConfig } from "../model/run_config.ts";
 * const base = makeConfig("tiny", { prepared: "p", out: "x" });
 * const c = armConfig(base, ARMS.batch[0], "runs/batch/batch-1");
 * console.assert(c.batchSize === 1 && c.loss.name === base.loss.name);
 * ```
 */
export function armConfig(base: TrainConfig, arm: Arm, out: string): TrainConfig {
  const s = arm.settings;
  const config: TrainConfig = structuredClone(base);
  config.out = out;
  if (s.normalize !== undefined) config.normalize = s.normalize;
  if (s.augment !== undefined) config.augment = s.augment;
  if (s.loss !== undefined) config.loss.name = s.loss;
  if (s.batchSize !== undefined) config.batchSize = s.batchSize;
  return config;
}

/**
 * The part of a config that decides what an arm trains: everything but `out` and `epochs` (the
 * epoch count grows while an arm runs to its budget). Equal keys mean the same training.
 */
export function trainingKey(config: TrainConfig): string {
  const { out: _out, epochs: _epochs, ...rest } = config;
  return JSON.stringify(rest);
}

/**
 * Parses `--questions a,b`: known names, deduplicated, in the order of {@linkcode QUESTIONS};
 * `unknown` names the first name that is not a question.
 *
 * @example
 * ```ts
 * import { parseQuestions } from "./plan.ts";
 * console.assert(parseQuestions("loss,batch").questions.join() === "batch,loss");
 * console.assert(parseQuestions("loss,size").unknown === "size");
 * ```
 */
export function parseQuestions(value: string): { questions: Question[]; unknown?: string } {
  const names = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const bad = names.find((n) => !(QUESTIONS as readonly string[]).includes(n));
  if (bad !== undefined) return { questions: [], unknown: bad };
  return { questions: QUESTIONS.filter((q) => names.includes(q)) };
}
