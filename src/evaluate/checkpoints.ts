/**
 * The checkpoints of a training run that `deno task evaluate` scores: every
 * `RUN/checkpoints/epoch-NNNN/` directory (see `src/train/checkpoint.ts`), in epoch order. The
 * `interrupted/` checkpoint (a Ctrl-C in the middle of an epoch) is not an epoch's model and is
 * left out.
 *
 * Only `state.json` is read here (epoch, step, elapsed time, the run's config); the optimizer
 * state, which can be twice the model's size, is never loaded.
 *
 * @module
 */
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { exists } from "../io.ts";
import { type CheckpointFile, checkpointsDir } from "../train/checkpoint.ts";
import type { TrainConfig } from "../train/config.ts";

/** One epoch checkpoint of a run. */
export interface RunCheckpoint {
  /** Directory name, e.g. `epoch-0008`. */
  name: string;
  /** Path of the checkpoint directory (holds `model.json`). */
  dir: string;
  /** Epochs fully done when it was written. */
  epoch: number;
  /** Optimizer steps done. */
  step: number;
  /** Training wall time (s) when it was written. */
  elapsedS: number;
  /** The config the run was trained with. */
  config: TrainConfig;
}

const EPOCH_DIR = /^epoch-(\d+)$/;

/**
 * Lists the epoch checkpoints of `run`, sorted by epoch.
 *
 * @throws {InputError} when `run` has no `checkpoints/` folder, no epoch checkpoint, or a
 * checkpoint's `state.json` is missing or malformed
 *
 * @example
 * ```ts ignore
 * import { listCheckpoints } from "./checkpoints.ts";
 * for (const c of await listCheckpoints("out/demo/run")) console.log(c.epoch, c.dir);
 * ```
 */
export async function listCheckpoints(run: string): Promise<RunCheckpoint[]> {
  const root = checkpointsDir(run);
  if (!(await exists(root))) {
    throw new InputError(
      root,
      undefined,
      "no such folder (is --run a `deno task train --out` run?)",
    );
  }
  const out: RunCheckpoint[] = [];
  for await (const entry of Deno.readDir(root)) {
    const m = EPOCH_DIR.exec(entry.name);
    if (!entry.isDirectory || m === null) continue;
    const dir = join(root, entry.name);
    const path = join(dir, "state.json");
    let file: CheckpointFile;
    try {
      file = JSON.parse(await Deno.readTextFile(path));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw new InputError(path, undefined, "no such file");
      throw new InputError(path, undefined, `bad JSON: ${(e as Error).message}`);
    }
    if (file?.format !== "vessel-seg-checkpoint" || file.formatVersion !== 1) {
      throw new InputError(path, undefined, "not a vessel-seg checkpoint (format 1)");
    }
    const epoch = file.state?.epoch;
    if (!Number.isInteger(epoch) || epoch !== Number(m[1])) {
      throw new InputError(path, undefined, `state.epoch is ${epoch}, folder says ${Number(m[1])}`);
    }
    if (!(await exists(join(dir, "model.json")))) {
      throw new InputError(join(dir, "model.json"), undefined, "no such file");
    }
    out.push({
      name: entry.name,
      dir,
      epoch,
      step: file.state.step,
      elapsedS: file.state.elapsedS,
      config: file.config,
    });
  }
  if (out.length === 0) throw new InputError(root, undefined, "no epoch-NNNN checkpoint in it");
  return out.sort((a, b) => a.epoch - b.epoch);
}
