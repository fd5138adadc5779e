/**
 * Runs one ablation arm to a wall-clock budget without changing the training loop: the arm trains
 * one epoch at a time — `train` for the first, then `resume` with one more epoch — and stops at
 * the end of the first epoch at which its logged training time (`timeS` of `log.jsonl`: training
 * and validation, continued across resumes) reaches the budget, or at the epoch cap. Resuming
 * continues exactly (weights, optimizer, data order), so the run equals one uninterrupted run.
 *
 * `RUN/arm.json` records the arm's settings key, budget and cap, and `status`: `running` while it
 * trains, `done` (with `reason` budget | epochs | nan, `epochs`, `timeS`) when finished. A re-run
 * with the same key reuses a done arm and continues a running one from its latest checkpoint;
 * a different key starts the arm afresh.
 *
 * @module
 */
import { join } from "node:path";
import { exists, readJson, writeJsonAtomic } from "../io.ts";
import { latestCheckpoint, readCheckpointFile } from "../model/artifact.ts";
import type { TrainConfig } from "../model/run_config.ts";
import { resume, type RunOptions, train } from "../train/loop.ts";
import { trainingKey } from "./plan.ts";

/** Contents of `RUN/arm.json`. */
export interface ArmRecord {
  key: string;
  budgetS: number;
  maxEpochs: number;
  status: "running" | "done";
  reason?: "budget" | "epochs" | "nan";
  epochs?: number;
  timeS?: number;
  /** Set when the run was copied from an identical arm of another question. */
  sameAs?: string;
}

/** How {@linkcode runArm} ended. */
export interface ArmOutcome {
  record: ArmRecord;
  /** True when a finished run was reused. */
  reused: boolean;
  /** True when Ctrl-C stopped the run (a checkpoint was written; re-run to continue). */
  interrupted: boolean;
}

/** Reads `RUN/arm.json` (undefined when missing or unreadable). */
export async function readArmRecord(run: string): Promise<ArmRecord | undefined> {
  try {
    const v = await readJson<ArmRecord | null>(join(run, "arm.json"));
    return v !== null && typeof v === "object" && typeof v.key === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The `timeS` of the last record of `RUN/log.jsonl` (0 when there is none). */
export async function loggedTimeS(run: string): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(run, "log.jsonl"));
  } catch {
    return 0;
  }
  const lines = text.trimEnd().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const t = JSON.parse(lines[i]).timeS;
      if (typeof t === "number") return t;
    } catch {
      // a half-written last line (killed run): look further up
    }
  }
  return 0;
}

/** The record key of an arm: training settings, budget and cap. */
export function armKey(config: TrainConfig, budgetS: number, maxEpochs: number): string {
  return JSON.stringify({ training: trainingKey(config), budgetS, maxEpochs });
}

/**
 * Trains `config` (its `epochs` is ignored) in `config.out` until `budgetS` seconds of logged
 * training time or `maxEpochs` epochs, whichever comes first; see the module doc for reuse.
 */
export async function runArm(
  config: TrainConfig,
  budgetS: number,
  maxEpochs: number,
  opts: RunOptions = {},
): Promise<ArmOutcome> {
  const run = config.out;
  const key = armKey(config, budgetS, maxEpochs);
  const prev = await readArmRecord(run);
  if (prev?.key === key && prev.status === "done") {
    return { record: prev, reused: true, interrupted: false };
  }
  let latest = prev?.key === key ? await latestCheckpoint(run) : undefined;
  if (latest === undefined) {
    await Deno.remove(run, { recursive: true }).catch(() => {});
  }
  const record: ArmRecord = { key, budgetS, maxEpochs, status: "running" };
  await Deno.mkdir(run, { recursive: true });
  await writeJsonAtomic(join(run, "arm.json"), record);
  let epochs = latest === undefined ? 0 : (await readCheckpointFile(latest)).state.epoch;
  let reason: ArmRecord["reason"];
  for (;;) {
    if (epochs >= maxEpochs) {
      reason = "epochs";
      break;
    }
    if (epochs > 0 && (await loggedTimeS(run)) >= budgetS) {
      reason = "budget";
      break;
    }
    const result = latest === undefined
      ? await train({ ...config, epochs: 1 }, opts)
      : await resume(run, { epochs: epochs + 1 }, opts);
    if (result.status === "interrupted") {
      return { record, reused: false, interrupted: true };
    }
    if (result.status === "nan") {
      reason = "nan";
      break;
    }
    epochs = result.epoch;
    latest = result.checkpoint ?? (await latestCheckpoint(run));
  }
  const done: ArmRecord = {
    ...record,
    status: "done",
    reason,
    epochs,
    timeS: await loggedTimeS(run),
  };
  await writeJsonAtomic(join(run, "arm.json"), done);
  return { record: done, reused: false, interrupted: false };
}

/**
 * Gives `dest` the finished run of an identical arm (`src`): its `config.json` (with `out`
 * changed), `log.jsonl` and an `arm.json` naming the source. Checkpoints stay in `src`.
 */
export async function copyArm(src: string, dest: string): Promise<ArmRecord> {
  const rec = await readArmRecord(src);
  if (rec === undefined || rec.status !== "done") throw new Error(`${src} is not a finished arm`);
  await Deno.remove(dest, { recursive: true }).catch(() => {});
  await Deno.mkdir(dest, { recursive: true });
  const config = await readJson<Record<string, unknown>>(join(src, "config.json"));
  await writeJsonAtomic(join(dest, "config.json"), { ...config, out: dest });
  const log = await Deno.readFile(join(src, "log.jsonl"));
  await Deno.writeFile(join(dest, "log.jsonl.tmp"), log);
  await Deno.rename(join(dest, "log.jsonl.tmp"), join(dest, "log.jsonl"));
  const out: ArmRecord = { ...rec, sameAs: src };
  await writeJsonAtomic(join(dest, "arm.json"), out);
  return out;
}

/** True when `run` holds a finished arm with this key. */
export async function armDone(run: string, key: string): Promise<boolean> {
  const r = await readArmRecord(run);
  return r?.key === key && r.status === "done" && (await exists(join(run, "log.jsonl")));
}
