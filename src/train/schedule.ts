/**
 * Learning-rate schedules, per epoch, with PyTorch's formulas (its schedulers step once per
 * epoch):
 *
 * - `constant`: the base learning rate (the study's setup);
 * - `cosine`: `CosineAnnealingLR` over the epochs after the warm-up,
 *   `lr = lrMin + (base − lrMin)·(1 + cos(π·t/T))/2` with `t` the 0-based epoch after warm-up and
 *   `T` their number;
 * - `step`: `MultiStepLR`, `lr = base·γ^k` with `k` the milestones `≤ e − 1` (epoch `e` is
 *   1-based: a milestone of 30 lowers the rate from epoch 31 on);
 * - `plateau`: `ReduceLROnPlateau` on the validation loss (mode min, relative threshold 1e-4, no
 *   cooldown): after `patience` validations without a loss below `best·(1 − 1e-4)` the rate is
 *   multiplied by `factor` (never below `lrMin`). Its state is saved in every checkpoint.
 *
 * A warm-up of `W` epochs scales any of them linearly: epoch `e ≤ W` uses `rate·e/W`.
 *
 * @module
 */
import type { ScheduleConfig } from "../model/run_config.ts";

/** `ReduceLROnPlateau`'s running state. */
export interface PlateauState {
  /** Lowest validation loss so far (Infinity before the first). */
  best: number;
  /** Validations since `best` improved. */
  bad: number;
  /** The current (reduced) rate. */
  lr: number;
}

/** The plateau state before any validation. */
export function initialPlateau(baseLr: number): PlateauState {
  return { best: Infinity, bad: 0, lr: baseLr };
}

/**
 * The learning rate of 1-based `epoch` of `epochs`.
 *
 * @example
 * ```ts
 * import { scheduledLr } from "./schedule.ts";
 * const cfg = { name: "step" as const, warmupEpochs: 0, lrMin: 0, stepEpochs: [3], stepGamma: 0.1,
 *   plateauPatience: 10, plateauFactor: 0.1 };
 * console.assert(scheduledLr(1, 3, 10, cfg) === 1 && Math.abs(scheduledLr(1, 4, 10, cfg) - 0.1) < 1e-15);
 * ```
 */
export function scheduledLr(
  baseLr: number,
  epoch: number,
  epochs: number,
  cfg: ScheduleConfig,
  plateau?: PlateauState,
): number {
  const w = cfg.warmupEpochs;
  let lr: number;
  switch (cfg.name) {
    case "constant":
      lr = baseLr;
      break;
    case "cosine": {
      const t = Math.max(0, epoch - w - 1), T = Math.max(1, epochs - w);
      lr = cfg.lrMin + (baseLr - cfg.lrMin) * (1 + Math.cos((Math.PI * t) / T)) / 2;
      break;
    }
    case "step":
      lr = baseLr * cfg.stepGamma ** cfg.stepEpochs.filter((m) => m <= epoch - 1).length;
      break;
    case "plateau":
      lr = plateau?.lr ?? baseLr;
      break;
  }
  return w > 0 && epoch <= w ? (lr * epoch) / w : lr;
}

/**
 * One `ReduceLROnPlateau` step after a validation loss.
 *
 * @example
 * ```ts
 * import { initialPlateau, plateauStep } from "./schedule.ts";
 * const cfg = { name: "plateau" as const, warmupEpochs: 0, lrMin: 0, stepEpochs: [], stepGamma: 0.1,
 *   plateauPatience: 1, plateauFactor: 0.5 };
 * let s = initialPlateau(1);
 * for (const loss of [1, 1, 1]) s = plateauStep(s, loss, cfg);
 * console.assert(s.lr === 0.5);
 * ```
 */
export function plateauStep(
  state: PlateauState,
  valLoss: number,
  cfg: ScheduleConfig,
): PlateauState {
  if (valLoss < state.best * (1 - 1e-4)) return { ...state, best: valLoss, bad: 0 };
  const bad = state.bad + 1;
  if (bad > cfg.plateauPatience) {
    return { ...state, bad: 0, lr: Math.max(state.lr * cfg.plateauFactor, cfg.lrMin) };
  }
  return { ...state, bad };
}
