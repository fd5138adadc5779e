/**
 * The training loop of `deno task train`: streamed batches → U-Net → loss → clipped, decayed
 * optimizer step; per-epoch validation with the metrics module; `RUN/log.jsonl` written one
 * record a line as it goes; checkpoints at the chosen epochs, at the end, and on Ctrl-C; resume
 * from the latest checkpoint that continues exactly where the run stopped.
 *
 * `RUN/log.jsonl` records (every one has `type` and `timeS`, seconds of training wall time since
 * the run started, continued across resumes):
 * - `start`: config, backend, parameter count, tile counts, `resumedFrom`;
 * - `batch`: epoch, batch (1-based within the epoch), step, tiles, loss, gradNorm (before clipping);
 * - `epoch`: epoch, mean training loss over its tiles, `epochS`, and `val` — validation DSC, IoU,
 *   sensitivity, specificity and precision, `micro` and `perImage` (`null` when not validated);
 * - `checkpoint`: epoch, batchInEpoch, path;
 * - `stop`: reason `done` | `interrupted` | `nan`, with a message.
 *
 * Checkpoints (see `src/model/artifact.ts`): `RUN/checkpoints/epoch-NNNN/` after each `--checkpoint-epochs`
 * epoch and the last one; `RUN/checkpoints/interrupted/` on Ctrl-C (mid-epoch; removed when a later
 * checkpoint is written); `RUN/checkpoints/latest.json` names the one `--resume` continues from.
 * A NaN/Inf loss writes nothing, so `latest.json` keeps pointing at the last good checkpoint.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { InputError, ResourceError, UsageError } from "../errors.ts";
import { openPrepared, type PreparedDataset } from "../data/prepared_io.ts";
import type { PreparedTile } from "../data/prepared.ts";
import { type LossFn, makeLoss } from "../model/losses.ts";
import { buildUNet, checkInputSize, countParams } from "../model/unet.ts";
import { claimOutput, exists, readInputFile, writeJsonAtomic } from "../io.ts";
import { formatDuration, Progress } from "../progress.ts";
import { Rng } from "../rng.ts";
import { initBackend } from "../runtime/backends.ts";
import {
  type ArtifactInfo,
  describeArtifact,
  epochCheckpointName,
  type InferenceMeta,
  latestCheckpoint,
  type Provenance,
  provenanceOf,
  readCheckpoint,
  restoreWeights,
  saveCheckpoint,
  type TrainState,
} from "../model/artifact.ts";
import { validate, type Validation } from "../model/score.ts";
import { decodePth, loadStateDict } from "../model/torch_state.ts";
import { checkSameFlags, formatConfig, type ResumeOverrides, type TrainConfig } from "./config.ts";
import { type Batch, type Normalization, normalizationFor } from "../data/input.ts";
import { batches, epochOrder } from "./data.ts";
import { WeightAverage } from "./ema.ts";
import { Optimizer } from "./optim.ts";
import {
  measureStepMemory,
  type MemoryBudget,
  memoryBudget,
  type MemoryPlan,
  mib,
  planMicroBatch,
  type StepMemory,
} from "./memory.ts";
import { initialPlateau, type PlateauState, plateauStep, scheduledLr } from "./schedule.ts";

/** Options of {@linkcode train} and {@linkcode resume}. */
export interface RunOptions {
  /** No progress bar. */
  quiet?: boolean;
  /** Human-readable lines (backend, summaries, errors). Default: stderr. */
  log?: (line: string) => void;
  /** Where the resolved config is printed at start. Default: stdout. */
  print?: (text: string) => void;
  /** Behave as if Ctrl-C came after this many batches of this session (tests). */
  stopAfterBatches?: number;
  /** Keep the current tfjs backend instead of calling `initBackend` (tests, benchmarks). */
  keepBackend?: boolean;
}

/** How a run ended. */
export interface RunResult {
  status: "done" | "interrupted" | "nan";
  /** Epochs fully done. */
  epoch: number;
  step: number;
  /** The latest checkpoint written (the last good one after a NaN stop). */
  checkpoint?: string;
  /** Validation of the last validated epoch. */
  lastVal?: Validation;
  /** Mean training loss of the last finished epoch. */
  lastLoss?: number;
  message: string;
}

const encoder = new TextEncoder();

/**
 * Starts a fresh run: writes `RUN/config.json` and trains. A `RUN` that already holds a run is a
 * `UsageError` (use {@linkcode resume}). If the run throws before its first checkpoint, the files
 * it wrote (and `RUN`, if it made it) are removed again.
 *
 * @example
 * ```ts ignore
 * import { parseTrainArgs } from "./config.ts";
 * const r = parseTrainArgs(["--prepared", "out/prepared", "--out", "runs/a", "--preset", "tiny"]);
 * if (r.kind === "fresh") await train(r.config);
 * ```
 */
export async function train(config: TrainConfig, opts: RunOptions = {}): Promise<RunResult> {
  const claim = await claimOutput(config.out, { inputs: [config.prepared] });
  try {
    if (await exists(join(config.out, "log.jsonl"))) {
      if ((await latestCheckpoint(config.out)) !== undefined) {
        throw new UsageError(
          `${config.out} already holds a run (log.jsonl); continue it with --resume ${config.out} or choose another --out`,
        );
      }
      // A run killed before its first checkpoint: nothing to resume, so start it afresh.
      (opts.log ?? ((l: string) => console.error(l)))(
        `train: ${config.out} holds a run that stopped before its first checkpoint; starting afresh`,
      );
      await removeFailedRun(config.out, false);
    }
    return await runLoop(config, undefined, opts);
  } catch (e) {
    // A run that failed before its first checkpoint (bad data, a full wasm heap) leaves nothing
    // behind, so the same command can be rerun once the cause is fixed.
    if ((await latestCheckpoint(config.out).catch(() => undefined)) === undefined) {
      await claim.release();
      await removeFailedRun(config.out, claim.created);
    }
    throw e;
  } finally {
    await claim.release();
  }
}

/** Removes what a fresh run writes before its first checkpoint (and `out` if this run made it). */
async function removeFailedRun(out: string, created: boolean): Promise<void> {
  for (const name of ["config.json", "log.jsonl", "checkpoints"]) {
    await Deno.remove(join(out, name), { recursive: true }).catch(() => {});
  }
  if (created) await Deno.remove(out).catch(() => {}); // only if empty
}

/**
 * Continues `run` from its latest checkpoint. `overrides` may raise the epoch count or change the
 * backend or the prepared directory's path.
 */
export async function resume(
  run: string,
  overrides: ResumeOverrides = {},
  opts: RunOptions = {},
): Promise<RunResult> {
  const dir = await latestCheckpoint(run);
  if (dir === undefined) {
    throw new InputError(
      join(run, "checkpoints", "latest.json"),
      undefined,
      "no checkpoint to resume from",
    );
  }
  const ckpt = await readCheckpoint(dir);
  checkSameFlags(ckpt.file.config, overrides.same ?? []);
  const config: TrainConfig = { ...ckpt.file.config, out: run };
  if (overrides.epochs !== undefined) config.epochs = overrides.epochs;
  if (overrides.backend !== undefined) config.backend = overrides.backend;
  if (overrides.prepared !== undefined) config.prepared = overrides.prepared;
  if (overrides.microBatch !== undefined) config.microBatch = overrides.microBatch;
  if (overrides.memoryBudgetMiB !== undefined) config.memoryBudgetMiB = overrides.memoryBudgetMiB;
  const claim = await claimOutput(run, { inputs: [config.prepared], flag: "--resume" });
  try {
    return await runLoop(config, { dir, ...ckpt }, opts);
  } finally {
    await claim.release();
  }
}

/**
 * The loss and the gradients of `vars` for a batch, computed in micro-batches of at most
 * `microBatch` tiles (forward in training mode: batch-norm statistics update once per
 * micro-batch). Split, the loss and gradients are the micro-batches' weighted by their share of
 * the tiles — the full batch's exactly for losses that are a mean over pixels (`bce`, per-pixel
 * `focal`; `dice` and `combo` take the Dice term, `mean-bce` focal its mean, over each
 * micro-batch). The caller disposes the
 * gradients; nothing else is left behind. A non-finite micro-batch loss stops early (NaN loss,
 * no gradients).
 */
export async function batchGradients(
  model: tf.LayersModel,
  vars: tf.Variable[],
  lossFn: LossFn,
  batch: Pick<Batch, "x" | "y" | "sizePx" | "tiles">,
  microBatch = Infinity,
): Promise<{ loss: number; grads?: tf.Tensor[] }> {
  const n = batch.tiles.length, s = batch.sizePx;
  const pass = async (from: number, to: number) => {
    const m = to - from;
    // x: [m, s, s, 3] float32 (normalised); y: [m, s, s, 1] float32 0/1
    const x = tf.tensor4d(batch.x.subarray(from * s * s * 3, to * s * s * 3), [m, s, s, 3]);
    const y = tf.tensor4d(batch.y.subarray(from * s * s, to * s * s), [m, s, s, 1]);
    const { value, grads } = tf.variableGrads(
      () => lossFn(model.apply(x, { training: true }) as tf.Tensor, y),
      vars,
    );
    const loss = (await value.data())[0];
    tf.dispose([x, y, value]);
    return { loss, grads: vars.map((v) => grads[v.name]) };
  };
  if (microBatch >= n) {
    const { loss, grads } = await pass(0, n);
    if (Number.isFinite(loss)) return { loss, grads };
    tf.dispose(grads);
    return { loss };
  }
  let acc: tf.Tensor[] | undefined;
  let loss = 0;
  for (let from = 0; from < n; from += microBatch) {
    const to = Math.min(n, from + microBatch);
    const part = await pass(from, to);
    if (!Number.isFinite(part.loss)) {
      tf.dispose([...part.grads, ...(acc ?? [])]);
      return { loss: part.loss };
    }
    const w = (to - from) / n;
    loss += part.loss * w;
    const prev = acc;
    acc = tf.tidy(() =>
      part.grads.map((g, i) => prev ? tf.add(prev[i], tf.mul(g, w)) : tf.mul(g, w))
    );
    tf.dispose([...part.grads, ...(prev ?? [])]);
  }
  return { loss, grads: acc };
}

/**
 * One optimisation step on a batch: {@linkcode batchGradients} (in micro-batches of at most
 * `microBatch` tiles), and — only when the loss is finite — one optimizer update. Leaves no
 * tensor behind. Returns the loss and the global gradient norm before clipping (NaN when
 * skipped).
 */
export async function trainStep(
  model: tf.LayersModel,
  vars: tf.Variable[],
  lossFn: LossFn,
  optimizer: Optimizer,
  batch: Pick<Batch, "x" | "y" | "sizePx" | "tiles">,
  microBatch = Infinity,
): Promise<{ loss: number; gradNorm: number }> {
  const { loss, grads } = await batchGradients(model, vars, lossFn, batch, microBatch);
  if (grads === undefined) return { loss, gradNorm: NaN };
  const norm = tf.tidy(() => optimizer.apply(grads));
  const gradNorm = (await norm.data())[0];
  tf.dispose([norm, ...grads]);
  return { loss, gradNorm };
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));

type FromCheckpoint = Awaited<ReturnType<typeof readCheckpoint>> & { dir: string };

/** Everything one training session holds: opened by {@linkcode openSession}, closed once. */
interface Session {
  config: TrainConfig;
  opts: RunOptions;
  say: (line: string) => void;
  backend: string;
  ds: PreparedDataset;
  model: tf.LayersModel;
  vars: tf.Variable[];
  optimizer: Optimizer;
  lossFn: LossFn;
  norm: Normalization;
  inference: InferenceMeta;
  trainTiles: PreparedTile[];
  valTiles: PreparedTile[];
  state: TrainState;
  /** Seconds of training wall time, continued across resumes. */
  timeS: () => number;
  record: (rec: Record<string, unknown>) => Promise<void>;
  /** Set by Ctrl-C (or `stopAfterBatches`): stop after the current batch. */
  interrupted: boolean;
  checkpoint?: string;
  lastVal?: Validation;
  /** The epoch `lastVal` was computed after. */
  lastValEpoch?: number;
  lastLoss?: number;
  sessionBatches: number;
  /** What the run trains on, saved with every checkpoint. */
  provenance: Provenance;
  /** The weights' moving average (`--ema`), when on. */
  ema?: WeightAverage;
  /** Step timing of this session: the first step (compilation, warm-up) is not timed. */
  timing: { since?: number; steps: number; said: boolean };
  /** The memory plan: micro-batch size and estimated peak (`./memory.ts`). */
  memory: { plan: MemoryPlan; step: StepMemory; budget: MemoryBudget };
  close: () => void;
}

/** Phase 1: backend, dataset, model, optimizer and the state to start from. */
async function openSession(
  config: TrainConfig,
  from: FromCheckpoint | undefined,
  opts: RunOptions,
): Promise<Session> {
  const say = opts.log ?? ((line: string) => console.error(line));
  // The prepared data are checked before a backend is chosen (which prints what it chose).
  const ds = await openPrepared(config.prepared);
  const manifestPath = join(config.prepared, "manifest.json");
  const closers: (() => void)[] = [() => ds.close()];
  const close = () => closers.reverse().forEach((f) => f());
  try {
    const sizePx = ds.manifest.tileSizePx;
    try {
      checkInputSize(sizePx, sizePx, config.model.depth);
    } catch (e) {
      throw new InputError(
        manifestPath,
        undefined,
        `tileSizePx ${sizePx}: ${(e as Error).message}; use a smaller --depth or another --scale`,
      );
    }
    let trainTiles = ds.tiles("train");
    if (config.maxTiles > 0) trainTiles = trainTiles.slice(0, config.maxTiles);
    if (trainTiles.length === 0) {
      throw new InputError(
        manifestPath,
        undefined,
        ds.tiles("val").length > 0
          ? "every tile is in val (an evaluation-only set, prepared with --val-fraction 1): " +
            "nothing to train on; score a model on it with deno task evaluate"
          : "no tiles in the train split",
      );
    }
    let norm: Normalization;
    try {
      norm = normalizationFor(config.normalize, ds.manifest.stats);
    } catch (e) {
      throw new InputError(manifestPath, undefined, (e as Error).message);
    }
    tf.enableProdMode(); // silences tfjs's "install tfjs-node" banner; no effect on results
    let backend: string = tf.getBackend();
    if (!opts.keepBackend) backend = (await initBackend(config.backend, { log: say })).name;
    const otherBytes = tf.memory().numBytes;
    const logFile = await Deno.open(join(config.out, "log.jsonl"), { create: true, append: true });
    closers.push(() => logFile.close());
    const model = buildUNet(config.model);
    closers.push(() => model.dispose());
    if (from === undefined && config.initFrom !== null) {
      if (await isPthFile(config.initFrom)) {
        const path = config.initFrom;
        const dict = decodePth(await readInputFile(path, "a PyTorch checkpoint"), path);
        loadStateDict(model, config.model, dict, path);
        say(`train: weights from ${path} (PyTorch state_dict, milesial's names); optimizer fresh`);
      } else {
        const init = await describeArtifact(config.initFrom);
        checkSameArchitecture(model, init);
        await restoreWeights(model, init.dir);
        say(`train: weights from ${init.dir} (epoch ${init.epoch}); optimizer and config fresh`);
      }
    }
    const vars = model.trainableWeights
      .filter((w) => !config.freezeEncoder || !isEncoderWeight(w.name))
      .map((w) => w.read() as tf.Variable);
    const optimizer = new Optimizer(config.optim, vars);
    closers.push(() => optimizer.dispose());
    let state: TrainState = {
      epoch: 0,
      batchInEpoch: 0,
      step: 0,
      rngState: new Rng(config.seed).state(),
      elapsedS: 0,
      partialLoss: { sum: 0, tiles: 0 },
      backend,
    };
    if (from !== undefined) {
      await restoreWeights(model, from.dir);
      optimizer.setState(from.optimizer);
      state = { ...from.file.state, backend };
      if (from.file.state.backend !== backend) {
        say(`note: checkpoint was written on ${from.file.state.backend}, resuming on ${backend}`);
      }
    }
    // With --ema a checkpoint's model files hold the average and raw_weights.bin the weights
    // training continues from: the average starts from the former, the model gets the latter.
    let ema: WeightAverage | undefined;
    if (config.ema > 0) {
      ema = new WeightAverage(model, config.ema);
      closers.push(() => ema!.dispose());
      if (from !== undefined) await loadRawWeights(model, from.dir);
    }
    // A set prepared with --ignore: targets of −1 are left out of the loss.
    const lossFn = makeLoss(config.loss, { ignore: (ds.manifest.ignore?.length ?? 0) > 0 });
    const memory = await planMemory(config, model, vars, lossFn, sizePx, backend, otherBytes);
    const t0 = performance.now();
    const startElapsed = state.elapsedS;
    const timeS = () => +(startElapsed + (performance.now() - t0) / 1000).toFixed(3);
    return {
      config,
      opts,
      say,
      backend,
      ds,
      model,
      vars,
      optimizer,
      lossFn,
      norm,
      inference: {
        tileSizePx: sizePx,
        scale: ds.manifest.scale,
        normalize: norm.mean && norm.std ? { mean: [...norm.mean], std: [...norm.std] } : null,
        threshold: config.threshold,
      },
      trainTiles,
      valTiles: ds.tiles("val"),
      provenance: provenanceOf(config.prepared, ds.manifest),
      state,
      timeS,
      record: async (rec) => {
        await logFile.write(encoder.encode(JSON.stringify({ ...rec, timeS: timeS() }) + "\n"));
      },
      interrupted: false,
      checkpoint: from?.dir,
      sessionBatches: 0,
      ema,
      timing: { steps: 0, said: false },
      memory,
      close,
    };
  } catch (e) {
    close();
    throw e;
  }
}

/** Phase 2: print the config (fresh) or where the run resumes, and log the `start` record. */
async function announce(s: Session, from: FromCheckpoint | undefined): Promise<void> {
  const { config, state } = s;
  const params = countParams(s.model);
  if (from === undefined) {
    (s.opts.print ?? console.log)(`train: config\n${formatConfig(config)}`);
    s.say(
      `train: U-Net depth ${config.model.depth} base ${config.model.baseFilters}: ${params} parameters; ` +
        `${s.trainTiles.length} train / ${s.valTiles.length} val tiles of ` +
        `${s.inference.tileSizePx}² on ${s.backend}`,
    );
  } else {
    s.say(
      `train: resuming ${from.dir} at epoch ${state.epoch + 1}, batch ${state.batchInEpoch + 1}`,
    );
  }
  s.say(describePlan(s.memory, config, s.inference.tileSizePx));
  if (s.valTiles.length === 0) {
    s.say(
      "train: no validation split (prepared with --val-fraction 0): training without " +
        "validation; no checkpoints/best, --patience and --select have nothing to go by",
    );
  }
  const { plan } = s.memory;
  await s.record({
    type: "start",
    config,
    backend: s.backend,
    params,
    trainTiles: s.trainTiles.length,
    valTiles: s.valTiles.length,
    tileSizePx: s.inference.tileSizePx,
    resumedFrom: from?.dir ?? null,
    memory: {
      microBatch: plan.microBatch,
      parts: plan.parts,
      estimatedPeakBytes: Math.round(plan.peakBytes),
      budgetBytes: Number.isFinite(s.memory.budget.totalBytes)
        ? Math.round(s.memory.budget.totalBytes)
        : null,
    },
  });
}

/**
 * Measures the step's memory on the current backend and picks the micro-batch
 * (`--micro-batch`, `--memory-budget`). `auto` with not even one tile fitting is a
 * `ResourceError` naming what to change.
 */
async function planMemory(
  config: TrainConfig,
  model: tf.LayersModel,
  vars: tf.Variable[],
  lossFn: LossFn,
  sidePx: number,
  backend: string,
  otherBytes: number,
): Promise<Session["memory"]> {
  const step = await measureStepMemory(model, vars, lossFn, {
    depth: config.model.depth,
    optim: config.optim,
    ema: config.ema > 0,
  });
  const limits = (tf.backend() as { device?: { limits?: GPUSupportedLimits } }).device?.limits;
  const budget = memoryBudget(backend, config.memoryBudgetMiB, otherBytes, limits);
  const plan = planMicroBatch(
    step,
    { batchSize: config.batchSize, wanted: config.microBatch, sidePx },
    budget,
  );
  if (!plan.fits && config.microBatch === "auto") {
    throw new ResourceError(
      `one ${sidePx}² tile needs about ${mib(plan.peakBytes)} for a training step, more than ` +
        `${mib(budget.totalBytes)} (${budget.source}): use a smaller --scale in prepare, ` +
        "--base-filters or --depth (or --preset small)",
    );
  }
  return { plan, step, budget };
}

/** The printed memory plan: estimate, budget and the micro-batches chosen. */
function describePlan(m: Session["memory"], config: TrainConfig, sidePx: number): string {
  const { plan, step, budget } = m;
  const perTile = step.bytesPerPixel * sidePx * sidePx;
  let text = `train: memory: about ${mib(plan.fullBatchBytes)} a step of ${config.batchSize} ` +
    `(weights ${mib(step.weightBytes)}, optimizer${config.ema > 0 ? " and EMA" : ""} ` +
    `${mib(step.stateBytes)}, gradients ${mib(step.fixedBytes)}, activations ` +
    `${mib(perTile)} a tile); budget ${mib(budget.totalBytes)} (${budget.source})`;
  if (plan.parts > 1) {
    text += ` → micro-batches of ${plan.microBatch} (${plan.parts} a step, about ` +
      `${mib(plan.peakBytes)}; gradients accumulated, one optimizer step per batch; batch ` +
      "norm normalises over each micro-batch and updates its running statistics per micro-batch)";
  }
  if (!plan.fits) text += "; warning: --micro-batch " + plan.microBatch + " may not fit";
  return text;
}

/**
 * Times the session's steps (all but the first) and, after two timed steps, prints the estimate
 * of a step, an epoch and the rest of the run; returns the run's ETA for the progress line.
 * Training steps only: validation and checkpoints are not in it.
 */
function runEta(s: Session, stepsPerEpoch: number): string {
  const now = performance.now();
  const t = s.timing;
  if (t.since === undefined) {
    t.since = now;
    return "";
  }
  t.steps++;
  const perStep = (now - t.since) / 1000 / t.steps;
  const left = s.config.epochs * stepsPerEpoch - s.state.step;
  if (t.steps === 2 && !t.said) {
    t.said = true;
    s.say(
      `train: ${perStep.toFixed(3)} s a step → about ${formatDuration(perStep * stepsPerEpoch)} ` +
        `an epoch and ${formatDuration(perStep * left)} for the ${left} step${
          left === 1 ? "" : "s"
        } left ` +
        "(training steps only; validation and checkpoints come on top)",
    );
  }
  return ` · run ETA ${formatDuration(perStep * left)}`;
}

/** Encoder weights of the U-Net (`src/model/unet.ts` names): `enc0_…` and `downK_…`. */
export function isEncoderWeight(name: string): boolean {
  return /^(enc0|down\d+)_/.test(name);
}

/**
 * Refuses `--init-from` weights of another architecture with one line naming the first weight
 * that differs (missing, extra, or another shape).
 */
function checkSameArchitecture(model: tf.LayersModel, init: ArtifactInfo): void {
  const specs = new Map<string, number[]>();
  const path = join(init.dir, "model.json");
  for (const group of init.modelJson.weightsManifest) {
    for (const w of group.weights) specs.set(w.name, w.shape);
  }
  const mine = new Set<string>();
  for (const w of model.weights) {
    // originalName: tfjs suffixes variable names (`_1`) when a process builds a second model
    const name = w.originalName;
    mine.add(name);
    const theirs = specs.get(name);
    const shape = w.shape as number[];
    if (theirs === undefined) {
      throw new InputError(
        path,
        undefined,
        `--init-from: no weight ${name} there (this config has it); the architecture differs`,
      );
    }
    if (theirs.join() !== shape.join()) {
      throw new InputError(
        path,
        undefined,
        `--init-from: weight ${name} is [${theirs}] there, [${shape}] in this config ` +
          "(--depth and --base-filters must match)",
      );
    }
  }
  const extra = [...specs.keys()].find((name) => !mine.has(name));
  if (extra !== undefined) {
    throw new InputError(
      path,
      undefined,
      `--init-from: weight ${extra} is not in this config's model`,
    );
  }
}

/** The file beside an averaged checkpoint's model files that holds the raw weights. */
const RAW_WEIGHTS = "raw_weights.bin";

/** All of the model's weights (in `model.weights` order) as float32 bytes. */
function rawWeightBytes(model: tf.LayersModel): Uint8Array {
  const arrays = model.weights.map((w) => w.read().dataSync() as Float32Array);
  const flat = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let off = 0;
  for (const a of arrays) {
    flat.set(a, off);
    off += a.length;
  }
  return new Uint8Array(flat.buffer);
}

/** `--init-from` names a PyTorch checkpoint: a file ending in `.pth` or `.pt`. */
async function isPthFile(path: string): Promise<boolean> {
  if (!/\.pth?$/i.test(path)) return false;
  const info = await Deno.stat(path).catch(() => undefined);
  return info?.isFile ?? true; // a missing .pth is reported by the reader, naming it
}

/** Loads `dir/raw_weights.bin` into the model (the weights an averaged run trains on). */
async function loadRawWeights(model: tf.LayersModel, dir: string): Promise<void> {
  const path = join(dir, RAW_WEIGHTS);
  const bytes = await readInputFile(path, "the raw weights of an --ema run");
  const size = (w: tf.LayerVariable) => (w.shape as number[]).reduce((a, b) => a * b, 1);
  const need = model.weights.reduce((n, w) => n + size(w), 0);
  if (bytes.byteLength !== need * 4) {
    throw new InputError(
      path,
      undefined,
      `${bytes.byteLength} bytes, the model has ${need} weights`,
    );
  }
  const flat = new Float32Array(bytes.slice().buffer);
  let off = 0;
  tf.tidy(() => {
    for (const w of model.weights) {
      const n = size(w);
      w.write(tf.tensor(flat.subarray(off, off + n), w.shape as number[]));
      off += n;
    }
  });
}

/** The number of non-finite values among the model's weights (batch-norm statistics included). */
export async function nonFiniteWeights(model: tf.LayersModel): Promise<number> {
  const count = tf.tidy(() =>
    tf.addN(
      model.weights.map((w) => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(w.read())), "int32"))),
    )
  );
  try {
    return (await count.data())[0];
  } finally {
    count.dispose();
  }
}

/** A checkpoint was due but the weights are no longer finite: nothing is written. */
class BrokenWeights extends Error {}

/**
 * Writes checkpoint `name` and logs it; any later checkpoint replaces `interrupted/`. Weights
 * that are no longer finite (an update broke them although the loss was still finite) are never
 * written: `BrokenWeights` is thrown and the run stops like a NaN loss.
 */
async function saveAs(s: Session, name: string): Promise<string> {
  const bad = await nonFiniteWeights(s.model);
  if (bad > 0) throw new BrokenWeights(`${bad} weights are NaN or infinite`);
  // the scores of these very weights: a validation after the last complete epoch
  const v = s.lastVal;
  const validation = v !== undefined && s.lastValEpoch === s.state.epoch &&
      s.state.batchInEpoch === 0 &&
      [v.micro.dsc, v.micro.iou, v.perImage.dsc].every(Number.isFinite)
    ? {
      epoch: s.state.epoch,
      dsc: v.micro.dsc,
      iou: v.micro.iou,
      perImageDsc: v.perImage.dsc,
      tiles: v.tiles,
    }
    : undefined;
  const save = async (extraFiles?: Record<string, Uint8Array>) =>
    await saveCheckpoint(s.config.out, name, {
      model: s.model,
      optimizer: await s.optimizer.getState(),
      state: { ...s.state, elapsedS: s.timeS() },
      config: s.config,
      inference: s.inference,
      provenance: s.provenance,
      ...(validation ? { validation } : {}),
      ...(extraFiles ? { extraFiles } : {}),
    }, { pointLatest: name !== "best" });
  // With --ema the model files hold the average (what inference and best/ use), and the raw
  // weights go beside them for resuming.
  let path: string;
  if (s.ema) {
    const raw = rawWeightBytes(s.model); // read before the average goes in
    path = await s.ema.withAveraged(s.model, () => save({ [RAW_WEIGHTS]: raw }));
  } else path = await save();
  if (name === "best") return path; // not where the run resumes from
  await s.record({
    type: "checkpoint",
    epoch: s.state.epoch,
    batchInEpoch: s.state.batchInEpoch,
    path,
  });
  if (name !== "interrupted") {
    await Deno.remove(join(s.config.out, "checkpoints", "interrupted"), { recursive: true })
      .catch(() => {});
  }
  s.checkpoint = path;
  return path;
}

/** Logs the `stop` record and builds the result. */
async function stopWith(s: Session, status: RunResult["status"], message: string) {
  const { epoch, step } = s.state;
  await s.record({ type: "stop", reason: status, message, epoch, step });
  return {
    status,
    epoch,
    step,
    checkpoint: s.checkpoint,
    lastVal: s.lastVal,
    lastLoss: s.lastLoss,
    message,
  };
}

/**
 * Phase 3: the batches of one epoch. Returns `undefined` when the epoch completed, else how the
 * run stopped (a NaN/Inf loss, or an interrupt with its checkpoint written).
 */
async function trainEpoch(
  s: Session,
  epoch: number,
  order: PreparedTile[],
  progress: Progress,
): Promise<RunResult | undefined> {
  const { config, state } = s;
  const nBatches = Math.ceil(order.length / config.batchSize);
  if (state.batchInEpoch > 0) {
    progress.tick(Math.min(order.length, state.batchInEpoch * config.batchSize));
  }
  let batchNo = state.batchInEpoch;
  const stream = batches(s.ds, order, {
    batchSize: config.batchSize,
    norm: s.norm,
    augment: config.augment,
    seed: config.seed,
    epoch,
    startBatch: state.batchInEpoch,
  });
  const stopHere = async () => {
    progress.done();
    const path = await saveAs(s, "interrupted");
    const msg = `interrupted at epoch ${epoch}, batch ${batchNo}; checkpoint ${path}; ` +
      `continue with --resume ${config.out}`;
    s.say(msg);
    return await stopWith(s, "interrupted", msg);
  };
  for await (const b of stream) {
    // Ctrl-C while the next batch was being read: stop before training it.
    if (s.interrupted) return await stopHere();
    batchNo++;
    const n = b.tiles.length;
    const { loss, gradNorm } = await trainStep(
      s.model,
      s.vars,
      s.lossFn,
      s.optimizer,
      b,
      s.memory.plan.microBatch,
    );
    if (!Number.isFinite(loss)) {
      const where = s.checkpoint === undefined
        ? "no checkpoint was written yet"
        : `last good checkpoint: ${s.checkpoint}`;
      const msg = `loss is ${loss} at epoch ${epoch}, batch ${batchNo} (step ${state.step + 1}); ` +
        `stopped without applying that step; ${where}`;
      progress.done();
      s.say(`error: ${msg}`);
      return await stopWith(s, "nan", msg);
    }
    state.step++;
    s.ema?.update(s.model);
    state.batchInEpoch = batchNo;
    state.partialLoss.sum += loss * n;
    state.partialLoss.tiles += n;
    await s.record({
      type: "batch",
      epoch,
      batch: batchNo,
      step: state.step,
      tiles: n,
      loss,
      gradNorm,
    });
    progress.tick(n, `batch ${batchNo}/${nBatches} loss ${loss.toFixed(4)}${runEta(s, nBatches)}`);
    s.sessionBatches++;
    if (s.opts.stopAfterBatches !== undefined && s.sessionBatches >= s.opts.stopAfterBatches) {
      s.interrupted = true;
    }
    // A macrotask turn, so that a pending Ctrl-C is delivered now: the tensor reads above resolve
    // as microtasks and would let several batches run before the signal listener gets its turn.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (s.interrupted) return await stopHere();
  }
  return undefined;
}

/**
 * Phase 4: the end of an epoch — state moved to the epoch boundary, validation, the `epoch`
 * record and the checkpoint. Returns how the run stopped when Ctrl-C came during it.
 */
async function endEpoch(
  s: Session,
  epoch: number,
  tiles: number,
  nextRngState: number[],
  epochStart: number,
  progress: Progress,
): Promise<RunResult | undefined> {
  const { config } = s;
  const meanLoss = s.state.partialLoss.sum / s.state.partialLoss.tiles;
  s.lastLoss = meanLoss;
  s.state = {
    ...s.state,
    epoch,
    batchInEpoch: 0,
    rngState: nextRngState,
    partialLoss: { sum: 0, tiles: 0 },
  };
  let val: Validation | null = null;
  if (s.valTiles.length > 0 && (epoch % config.valEvery === 0 || epoch === config.epochs)) {
    const run = () =>
      validate(s.model, s.ds, s.valTiles, {
        batchSize: s.memory.plan.microBatch,
        norm: s.norm,
        threshold: config.threshold,
        lossFn: s.lossFn,
      });
    val = s.ema ? await s.ema.withAveraged(s.model, run) : await run();
    s.lastVal = val;
    s.lastValEpoch = epoch;
  }
  const improved = val === null ? false : trackBest(s, val, epoch);
  const epochS = +((performance.now() - epochStart) / 1000).toFixed(3);
  progress.done(
    `loss ${meanLoss.toFixed(4)}` +
      (val ? ` val DSC ${fmt(val.micro.dsc)} (per-image ${fmt(val.perImage.dsc)})` : ""),
  );
  const lr = s.optimizer.lr;
  if (config.schedule.name === "plateau" && val?.loss !== undefined) {
    const next = plateauStep(plateauOf(s), val.loss, config.schedule);
    s.state.plateau = { ...next, best: Number.isFinite(next.best) ? next.best : null };
  }
  await s.record({ type: "epoch", epoch, loss: meanLoss, tiles, epochS, val, best: improved, lr });
  const best = s.state.best;
  const early = config.patience > 0 && best !== undefined && best.since >= config.patience &&
    epoch < config.epochs;
  const keep = config.checkpointEpochs.includes(epoch) || epoch === config.epochs || early;
  if (keep) await saveAs(s, epochCheckpointName(epoch));
  if (improved) await saveAs(s, "best");
  if (early) {
    const msg = `early stop after epoch ${epoch}: no better validation ${config.select} for ` +
      `${best!.since} validations (best ${fmt(best!.value)} at epoch ${best!.epoch}, ` +
      `checkpoints/best)`;
    s.say(`train: ${msg}`);
    return await stopWith(s, "done", msg);
  }
  if (s.interrupted && epoch < config.epochs) {
    // Ctrl-C during validation or checkpointing: stop at this epoch boundary.
    if (!keep) await saveAs(s, "interrupted");
    const msg = `interrupted after epoch ${epoch}; checkpoint ${s.checkpoint}; ` +
      `continue with --resume ${config.out}`;
    s.say(msg);
    return await stopWith(s, "interrupted", msg);
  }
  return undefined;
}

/** The plateau schedule's state from the checkpointed form (JSON has no Infinity). */
function plateauOf(s: Session): PlateauState {
  const p = s.state.plateau;
  if (p === undefined) return initialPlateau(s.config.optim.lr);
  return { ...p, best: p.best ?? Infinity };
}

/**
 * Updates the best validation score (`--select`: micro DSC or IoU, higher is better; the
 * validation loss, lower is better); returns true when this epoch is the new best.
 */
function trackBest(s: Session, val: Validation, epoch: number): boolean {
  const select = s.config.select;
  const value = select === "loss" ? (val.loss ?? NaN) : val.micro[select];
  const prev = s.state.best;
  const better = Number.isFinite(value) &&
    (prev === undefined || (select === "loss" ? value < prev.value : value > prev.value));
  if (better) s.state.best = { value, epoch, since: 0 };
  else if (prev !== undefined) s.state.best = { ...prev, since: prev.since + 1 };
  return better;
}

/** Ctrl-C sets `s.interrupted` (a second one exits); returns the function that stops listening. */
function listenForInterrupt(s: Session): () => void {
  const onSigint = () => {
    if (s.interrupted) Deno.exit(130);
    s.say(
      `interrupt: finishing the batch in progress (${s.state.batchInEpoch} done in this epoch), ` +
        "then writing a checkpoint (Ctrl-C again to abort)",
    );
    s.interrupted = true;
  };
  try {
    Deno.addSignalListener("SIGINT", onSigint);
    return () => Deno.removeSignalListener("SIGINT", onSigint);
  } catch {
    return () => {}; // no signal support on this platform: Ctrl-C kills without a checkpoint
  }
}

async function runLoop(
  config: TrainConfig,
  from: FromCheckpoint | undefined,
  opts: RunOptions,
): Promise<RunResult> {
  const s = await openSession(config, from, opts);
  // Written once the run could start: a resume that fails to open leaves config.json as it was.
  await writeJsonAtomic(join(config.out, "config.json"), config).catch((e) => {
    s.close();
    throw e;
  });
  const unlisten = listenForInterrupt(s);
  try {
    await announce(s, from);
    for (let epoch = s.state.epoch + 1; epoch <= config.epochs; epoch++) {
      s.optimizer.setLearningRate(
        scheduledLr(config.optim.lr, epoch, config.epochs, config.schedule, plateauOf(s)),
      );
      const rng = Rng.fromState(s.state.rngState);
      const order = epochOrder(s.trainTiles, rng);
      const epochStart = performance.now();
      const progress = new Progress(`epoch ${epoch}/${config.epochs}`, order.length, {
        unit: "tiles",
        quiet: opts.quiet,
      });
      let stopped: RunResult | undefined;
      try {
        stopped = await trainEpoch(s, epoch, order, progress) ??
          await endEpoch(s, epoch, order.length, rng.state(), epochStart, progress);
      } catch (e) {
        if (!(e instanceof BrokenWeights)) throw e;
        const where = s.checkpoint === undefined
          ? "no checkpoint was written"
          : `last good checkpoint: ${s.checkpoint}`;
        const msg = `${e.message} after epoch ${epoch} (step ${s.state.step}); no checkpoint ` +
          `written from them; ${where}`;
        progress.done();
        s.say(`error: ${msg}`);
        return await stopWith(s, "nan", msg);
      }
      if (stopped !== undefined) return stopped;
    }
    const v = s.lastVal;
    const b = s.state.best;
    const msg = `done: ${s.state.epoch} epochs, ${s.state.step} steps` +
      (v ? `; val DSC ${fmt(v.micro.dsc)} micro, ${fmt(v.perImage.dsc)} per-image` : "") +
      (s.checkpoint ? `; checkpoint ${s.checkpoint}` : "") +
      (b ? `; best ${config.select} ${fmt(b.value)} at epoch ${b.epoch} (checkpoints/best)` : "");
    s.say(`train: ${msg}`);
    return await stopWith(s, "done", msg);
  } finally {
    unlisten();
    s.close();
  }
}
