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
 * Checkpoints (see `checkpoint.ts`): `RUN/checkpoints/epoch-NNNN/` after each `--checkpoint-epochs`
 * epoch and the last one; `RUN/checkpoints/interrupted/` on Ctrl-C (mid-epoch; removed when a later
 * checkpoint is written); `RUN/checkpoints/latest.json` names the one `--resume` continues from.
 * A NaN/Inf loss writes nothing, so `latest.json` keeps pointing at the last good checkpoint.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { InputError, UsageError } from "../errors.ts";
import { openPrepared, type PreparedDataset } from "../data/prepared_io.ts";
import type { PreparedTile } from "../data/prepared.ts";
import { type Confusion, confusion } from "../metrics/confusion.ts";
import { reduce } from "../metrics/reduce.ts";
import { type LossFn, makeLoss } from "../model/losses.ts";
import { buildUNet, checkInputSize, countParams } from "../model/unet.ts";
import { exists, writeJsonAtomic } from "../io.ts";
import { Progress } from "../progress.ts";
import { Rng } from "../rng.ts";
import { initBackend } from "./backends.ts";
import {
  epochCheckpointName,
  latestCheckpoint,
  readCheckpoint,
  restoreWeights,
  saveCheckpoint,
  type TrainState,
} from "./checkpoint.ts";
import { formatConfig, type TrainConfig } from "./config.ts";
import { type Batch, batches, epochOrder, type Normalization, normalizationFor } from "./data.ts";
import { Optimizer } from "./optim.ts";

/** Validation scores of one reduction. */
export interface ValScores {
  dsc: number;
  iou: number;
  sensitivity: number;
  specificity: number;
  precision: number;
}

/** Validation result of one epoch. */
export interface Validation {
  micro: ValScores;
  perImage: ValScores;
  tiles: number;
}

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
  if (await exists(join(config.out, "log.jsonl"))) {
    throw new UsageError(
      `${config.out} already holds a run (log.jsonl); continue it with --resume ${config.out} or choose another --out`,
    );
  }
  const created = !(await exists(config.out));
  await Deno.mkdir(config.out, { recursive: true });
  await writeJsonAtomic(join(config.out, "config.json"), config);
  try {
    return await runLoop(config, undefined, opts);
  } catch (e) {
    // A run that failed before its first checkpoint (bad data, a full wasm heap) leaves nothing
    // behind, so the same command can be rerun once the cause is fixed.
    if ((await latestCheckpoint(config.out)) === undefined) {
      await removeFailedRun(config.out, created);
    }
    throw e;
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
  overrides: { epochs?: number; backend?: TrainConfig["backend"]; prepared?: string } = {},
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
  const config: TrainConfig = { ...ckpt.file.config, out: run };
  if (overrides.epochs !== undefined) config.epochs = overrides.epochs;
  if (overrides.backend !== undefined) config.backend = overrides.backend;
  if (overrides.prepared !== undefined) config.prepared = overrides.prepared;
  await writeJsonAtomic(join(run, "config.json"), config);
  return await runLoop(config, { dir, ...ckpt }, opts);
}

function pick(scores: Record<string, number>): ValScores {
  return {
    dsc: scores.dsc,
    iou: scores.iou,
    sensitivity: scores.sensitivity,
    specificity: scores.specificity,
    precision: scores.precision,
  };
}

/** Scores `model` on `tiles` (no augmentation), thresholding probabilities at `threshold`. */
export async function validate(
  model: tf.LayersModel,
  ds: PreparedDataset,
  tiles: readonly PreparedTile[],
  opts: { batchSize: number; norm: Normalization; threshold: number },
): Promise<Validation> {
  const confusions: Confusion[] = [];
  const px = ds.manifest.tileSizePx ** 2;
  for await (const b of batches(ds, tiles, { batchSize: opts.batchSize, norm: opts.norm })) {
    const n = b.tiles.length, s = b.sizePx;
    const pred = tf.tidy(() => {
      const x = tf.tensor4d(b.x, [n, s, s, 3]);
      const logits = model.predict(x) as tf.Tensor;
      return tf.cast(tf.greater(tf.sigmoid(logits), opts.threshold), "int32");
    });
    const p = (await pred.data()) as Int32Array;
    pred.dispose();
    const predU8 = Uint8Array.from(p);
    for (let k = 0; k < n; k++) {
      confusions.push(
        confusion(predU8.subarray(k * px, (k + 1) * px), b.maskU8.subarray(k * px, (k + 1) * px)),
      );
    }
  }
  return {
    micro: pick(reduce(confusions, "micro").scores),
    perImage: pick(reduce(confusions, "per-image").scores),
    tiles: confusions.length,
  };
}

/**
 * One optimisation step on a batch: forward in training mode (batch-norm statistics update),
 * loss, gradients, and — only when the loss is finite — the optimizer update. Leaves no tensor
 * behind. Returns the loss and the global gradient norm before clipping (NaN when skipped).
 */
export async function trainStep(
  model: tf.LayersModel,
  vars: tf.Variable[],
  lossFn: LossFn,
  optimizer: Optimizer,
  batch: Pick<Batch, "x" | "y" | "sizePx" | "tiles">,
): Promise<{ loss: number; gradNorm: number }> {
  const n = batch.tiles.length, s = batch.sizePx;
  // x: [n, s, s, 3] float32 (normalised); y: [n, s, s, 1] float32 0/1
  const x = tf.tensor4d(batch.x, [n, s, s, 3]);
  const y = tf.tensor4d(batch.y, [n, s, s, 1]);
  const { value, grads } = tf.variableGrads(
    () => lossFn(model.apply(x, { training: true }) as tf.Tensor, y),
    vars,
  );
  const loss = (await value.data())[0];
  let gradNorm = NaN;
  if (Number.isFinite(loss)) {
    const norm = tf.tidy(() => optimizer.apply(vars.map((v) => grads[v.name])));
    gradNorm = (await norm.data())[0];
    norm.dispose();
  }
  tf.dispose([x, y, value, grads]);
  return { loss, gradNorm };
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));

async function runLoop(
  config: TrainConfig,
  from: Awaited<ReturnType<typeof readCheckpoint>> & { dir: string } | undefined,
  opts: RunOptions,
): Promise<RunResult> {
  const say = opts.log ?? ((line: string) => console.error(line));
  tf.enableProdMode(); // silences tfjs's "install tfjs-node" banner; no effect on results
  let backendName: string = tf.getBackend();
  if (!opts.keepBackend) {
    backendName = (await initBackend(config.backend, { log: say })).name;
  }
  const ds = await openPrepared(config.prepared);
  const sizePx = ds.manifest.tileSizePx;
  try {
    checkInputSize(sizePx, sizePx, config.model.depth);
  } catch (e) {
    ds.close();
    throw new InputError(
      join(config.prepared, "manifest.json"),
      undefined,
      `tileSizePx ${sizePx}: ${(e as Error).message}; use a smaller --depth or another --scale`,
    );
  }
  const logFile = await Deno.open(join(config.out, "log.jsonl"), { create: true, append: true });
  const model = buildUNet(config.model);
  let optimizer: Optimizer | undefined;
  let interrupted = false;
  const onSigint = () => {
    if (!interrupted) {
      say("interrupt: finishing this batch, then writing a checkpoint (Ctrl-C again to abort)");
    } else Deno.exit(130);
    interrupted = true;
  };
  let listening = false;
  try {
    Deno.addSignalListener("SIGINT", onSigint);
    listening = true;
  } catch {
    // no signal support on this platform: Ctrl-C kills without a checkpoint
  }
  try {
    let trainTiles = ds.tiles("train");
    if (config.maxTiles > 0) trainTiles = trainTiles.slice(0, config.maxTiles);
    const valTiles = ds.tiles("val");
    if (trainTiles.length === 0) {
      throw new InputError(
        join(config.prepared, "manifest.json"),
        undefined,
        "no tiles in the train split",
      );
    }
    const norm = normalizationFor(config.normalize, ds.manifest.stats);
    const lossFn = makeLoss(config.loss);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    optimizer = new Optimizer(config.optim, vars);

    let state: TrainState = {
      epoch: 0,
      batchInEpoch: 0,
      step: 0,
      rngState: new Rng(config.seed).state(),
      elapsedS: 0,
      partialLoss: { sum: 0, tiles: 0 },
      backend: backendName,
    };
    if (from !== undefined) {
      await restoreWeights(model, from.dir);
      optimizer.setState(from.optimizer);
      state = { ...from.file.state, backend: backendName };
      if (from.file.state.backend !== backendName) {
        say(
          `note: checkpoint was written on ${from.file.state.backend}, resuming on ${backendName}`,
        );
      }
    }
    const t0 = performance.now();
    const startElapsed = state.elapsedS;
    const timeS = () => +(startElapsed + (performance.now() - t0) / 1000).toFixed(3);
    const record = async (rec: Record<string, unknown>) => {
      await logFile.write(encoder.encode(JSON.stringify({ ...rec, timeS: timeS() }) + "\n"));
    };
    const params = countParams(model);
    if (from === undefined) {
      (opts.print ?? console.log)(`train: config\n${formatConfig(config)}`);
      say(
        `train: U-Net depth ${config.model.depth} base ${config.model.baseFilters}: ${params} parameters; ` +
          `${trainTiles.length} train / ${valTiles.length} val tiles of ${sizePx}² on ${backendName}`,
      );
    } else {
      say(
        `train: resuming ${from.dir} at epoch ${state.epoch + 1}, batch ${state.batchInEpoch + 1}`,
      );
    }
    await record({
      type: "start",
      config,
      backend: backendName,
      params,
      trainTiles: trainTiles.length,
      valTiles: valTiles.length,
      tileSizePx: sizePx,
      resumedFrom: from?.dir ?? null,
    });

    let checkpoint = from?.dir;
    let lastVal: Validation | undefined;
    let lastLoss: number | undefined;
    let sessionBatches = 0;
    const save = async (name: string) => {
      const path = await saveCheckpoint(config.out, name, {
        model,
        optimizer: await optimizer!.getState(),
        state: { ...state, elapsedS: timeS() },
        config,
      });
      await record({
        type: "checkpoint",
        epoch: state.epoch,
        batchInEpoch: state.batchInEpoch,
        path,
      });
      if (name !== "interrupted") {
        await Deno.remove(join(config.out, "checkpoints", "interrupted"), { recursive: true })
          .catch(() => {});
      }
      return path;
    };
    const stop = async (status: RunResult["status"], message: string): Promise<RunResult> => {
      await record({ type: "stop", reason: status, message, epoch: state.epoch, step: state.step });
      return {
        status,
        epoch: state.epoch,
        step: state.step,
        checkpoint,
        lastVal,
        lastLoss,
        message,
      };
    };

    for (let epoch = state.epoch + 1; epoch <= config.epochs; epoch++) {
      const rng = Rng.fromState(state.rngState);
      const order = epochOrder(trainTiles, rng);
      const nextRngState = rng.state();
      const epochStart = performance.now();
      const nBatches = Math.ceil(order.length / config.batchSize);
      const progress = new Progress(`epoch ${epoch}/${config.epochs}`, order.length, {
        unit: "tiles",
        quiet: opts.quiet,
      });
      if (state.batchInEpoch > 0) {
        progress.tick(Math.min(order.length, state.batchInEpoch * config.batchSize));
      }
      let batchNo = state.batchInEpoch;
      for await (
        const b of batches(ds, order, {
          batchSize: config.batchSize,
          norm,
          augment: config.augment,
          seed: config.seed,
          epoch,
          startBatch: state.batchInEpoch,
        })
      ) {
        batchNo++;
        const n = b.tiles.length;
        const { loss, gradNorm } = await trainStep(model, vars, lossFn, optimizer, b);
        if (!Number.isFinite(loss)) {
          const where = checkpoint === undefined
            ? "no checkpoint was written yet"
            : `last good checkpoint: ${checkpoint}`;
          const msg =
            `loss is ${loss} at epoch ${epoch}, batch ${batchNo} (step ${state.step + 1}); ` +
            `stopped without applying that step; ${where}`;
          progress.done();
          say(`error: ${msg}`);
          return await stop("nan", msg);
        }
        state.step++;
        state.batchInEpoch = batchNo;
        state.partialLoss.sum += loss * n;
        state.partialLoss.tiles += n;
        await record({
          type: "batch",
          epoch,
          batch: batchNo,
          step: state.step,
          tiles: n,
          loss,
          gradNorm,
        });
        progress.tick(n, `batch ${batchNo}/${nBatches} loss ${loss.toFixed(4)}`);
        sessionBatches++;
        if (opts.stopAfterBatches !== undefined && sessionBatches >= opts.stopAfterBatches) {
          interrupted = true;
        }
        if (interrupted) {
          progress.done();
          checkpoint = await save("interrupted");
          const msg =
            `interrupted at epoch ${epoch}, batch ${batchNo}; checkpoint ${checkpoint}; ` +
            `continue with --resume ${config.out}`;
          say(msg);
          return await stop("interrupted", msg);
        }
      }
      const meanLoss = state.partialLoss.sum / state.partialLoss.tiles;
      lastLoss = meanLoss;
      state = {
        ...state,
        epoch,
        batchInEpoch: 0,
        rngState: nextRngState,
        partialLoss: { sum: 0, tiles: 0 },
      };
      let val: Validation | null = null;
      if (valTiles.length > 0 && (epoch % config.valEvery === 0 || epoch === config.epochs)) {
        val = await validate(model, ds, valTiles, {
          batchSize: config.batchSize,
          norm,
          threshold: config.threshold,
        });
        lastVal = val;
      }
      const epochS = +((performance.now() - epochStart) / 1000).toFixed(3);
      progress.done(
        `loss ${meanLoss.toFixed(4)}` +
          (val ? ` val DSC ${fmt(val.micro.dsc)} (per-image ${fmt(val.perImage.dsc)})` : ""),
      );
      await record({ type: "epoch", epoch, loss: meanLoss, tiles: order.length, epochS, val });
      const keep = config.checkpointEpochs.includes(epoch) || epoch === config.epochs;
      if (keep) checkpoint = await save(epochCheckpointName(epoch));
      if (interrupted && epoch < config.epochs) {
        // Ctrl-C during validation or checkpointing: stop at this epoch boundary.
        if (!keep) checkpoint = await save("interrupted");
        const msg = `interrupted after epoch ${epoch}; checkpoint ${checkpoint}; ` +
          `continue with --resume ${config.out}`;
        say(msg);
        return await stop("interrupted", msg);
      }
    }
    const msg = `done: ${state.epoch} epochs, ${state.step} steps` +
      (lastVal
        ? `; val DSC ${fmt(lastVal.micro.dsc)} micro, ${fmt(lastVal.perImage.dsc)} per-image`
        : "") +
      (checkpoint ? `; checkpoint ${checkpoint}` : "");
    say(`train: ${msg}`);
    return await stop("done", msg);
  } finally {
    if (listening) Deno.removeSignalListener("SIGINT", onSigint);
    optimizer?.dispose();
    model.dispose();
    logFile.close();
    ds.close();
  }
}
