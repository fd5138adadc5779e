import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { openPrepared } from "../data/prepared_io.ts";
import { makeLoss } from "../model/losses.ts";
import { buildUNet } from "../model/unet.ts";
import { main } from "../../tasks/train.ts";
import { runMain } from "../cli.ts";
import { InputError } from "../errors.ts";
import { initBackend } from "../runtime/backends.ts";
import { latestCheckpoint, loadCheckpointModel } from "../model/artifact.ts";
import { validate } from "../model/score.ts";
import { type ConfigOverrides, makeConfig, type TrainConfig } from "../model/run_config.ts";
import { normalizationFor } from "../data/input.ts";
import { batches } from "./data.ts";
import { isEncoderWeight, nonFiniteWeights, resume, train, trainStep } from "./loop.ts";
import { Optimizer } from "./optim.ts";
import { writeTinyPrepared } from "../data/testing.ts";

/** A depth-2, base-4 U-Net of the tiny preset: the smallest model the tests train. */
const TINY_ARGS = ["--preset", "tiny", "--depth", "2", "--base-filters", "4"];

// The fastest CPU backend with this project's kernels (wasm), like a CI run of `--backend auto`.
const BACKEND = "wasm";
tf.enableProdMode();
await initBackend(BACKEND);

const root = await Deno.makeTempDir({ prefix: "vessel-seg-train-" });
const prepared = join(root, "prepared");
await writeTinyPrepared(prepared, { train: 4, val: 2, sizePx: 32, seed: 3 });
const silent = { quiet: true, log: () => {}, print: () => {} };

function config(out: string, o: ConfigOverrides = {}): TrainConfig {
  return makeConfig("tiny", {
    prepared,
    out,
    batchSize: 2,
    backend: BACKEND,
    ...o,
    model: { depth: 2, baseFilters: 4, ...o.model },
  });
}

async function readLog(run: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(join(run, "log.jsonl"));
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("loop: training steps and validation leave tf.memory().numTensors unchanged", async () => {
  const ds = await openPrepared(prepared);
  const model = buildUNet({ depth: 2, baseFilters: 4, batchNorm: true, seed: 0 });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = new Optimizer({
    name: "rmsprop",
    lr: 1e-3,
    momentum: 0.9,
    weightDecay: 1e-8,
    clipNorm: 1,
  }, vars);
  const lossFn = makeLoss(config(join(root, "unused")).loss);
  const norm = normalizationFor("dataset", ds.manifest.stats);
  const tiles = ds.tiles("train");
  const all = [];
  for await (const b of batches(ds, tiles, { batchSize: 2, norm, augment: "all", seed: 1 })) {
    all.push(b);
  }
  await trainStep(model, vars, lossFn, opt, all[0]); // creates the optimizer's slots
  const before = tf.memory().numTensors;
  for (const b of [...all, ...all]) await trainStep(model, vars, lossFn, opt, b);
  await validate(model, ds, ds.tiles("val"), { batchSize: 2, norm, threshold: 0.5 });
  const after = tf.memory().numTensors;
  console.log(`  numTensors before ${before}, after 4 steps + validation ${after}`);
  assert.equal(after, before);
  opt.dispose();
  model.dispose();
  ds.close();
});

Deno.test("loop: a 2-tile overfit reaches DSC > 0.9; the checkpoint loads with tf.loadLayersModel", async () => {
  const out = join(root, "overfit");
  const cfg = config(out, {
    maxTiles: 2,
    model: { baseFilters: 8 },
    optim: { lr: 1e-2 },
    epochs: 30,
    checkpointEpochs: [],
  });
  const res = await train(cfg, silent);
  assert.equal(res.status, "done");
  const model = await loadCheckpointModel(res.checkpoint!);
  const ds = await openPrepared(prepared);
  const val = await validate(model, ds, ds.tiles("train").slice(0, 2), {
    batchSize: 2,
    norm: normalizationFor("dataset", ds.manifest.stats),
    threshold: 0.5,
  });
  ds.close();
  model.dispose();
  console.log(`  DSC on the 2 training tiles after 30 epochs: ${val.micro.dsc.toFixed(4)}`);
  assert.ok(val.micro.dsc > 0.9, `DSC ${val.micro.dsc}`);
  const log = await readLog(out);
  assert.equal(log[0].type, "start");
  assert.equal(log.filter((r) => r.type === "batch").length, 30);
  const epochs = log.filter((r) => r.type === "epoch");
  assert.equal(epochs.length, 30);
  const last = epochs[29] as { val: { micro: { dsc: number }; perImage: { dsc: number } } };
  assert.ok(typeof last.val.micro.dsc === "number" && typeof last.val.perImage.dsc === "number");
  const times = log.map((r) => r.timeS as number);
  assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]), "timeS must not decrease");
  assert.equal(log.at(-1)!.type, "stop");
});

async function finalFiles(
  run: string,
): Promise<{ weights: Uint8Array; optimizer: Uint8Array; raw?: Uint8Array }> {
  const dir = (await latestCheckpoint(run))!;
  const raw = await Deno.readFile(join(dir, "raw_weights.bin")).catch(() => undefined);
  return {
    weights: await Deno.readFile(join(dir, "weights.bin")),
    optimizer: await Deno.readFile(join(dir, "optimizer.bin")),
    ...(raw ? { raw } : {}),
  };
}

Deno.test("loop: resuming after an interruption gives the same final weights as an uninterrupted run", async () => {
  // every option that keeps state across epochs on: augmentation, the best checkpoint by
  // validation loss, and the plateau schedule (patience 0: the rate drops at every validation that
  // is no better) after a warm-up epoch, EMA, and micro-batches of 1 (gradients accumulated)
  const extra: ConfigOverrides = {
    epochs: 3,
    optim: { name: "rmsprop", lr: 1e-3 },
    augment: "all",
    checkpointEpochs: [1],
    select: "loss",
    schedule: { name: "plateau", warmupEpochs: 2, plateauPatience: 0, plateauFactor: 0.5 },
    ema: 0.9,
    microBatch: 1,
  };
  const straight = join(root, "straight");
  assert.equal((await train(config(straight, extra), silent)).status, "done");
  const start = (await readLog(straight))[0] as { memory: { microBatch: number; parts: number } };
  assert.deepEqual([start.memory.microBatch, start.memory.parts], [1, 2]);
  const expected = await finalFiles(straight);
  const lrsOf = async (run: string) =>
    (await readLog(run)).filter((r) => r.type === "epoch").map((r) => r.lr);
  const straightLrs = await lrsOf(straight);
  assert.equal(straightLrs[0], 5e-4, "warm-up epoch 1 of 2: half the rate");
  assert.equal(straightLrs.length, 3);
  // 4 tiles, batch 2: 2 batches an epoch. Stop mid-epoch (after 3 batches) and at an epoch's last
  // batch (after 2), then resume.
  for (const stopAfter of [3, 2]) {
    const run = join(root, `interrupted-${stopAfter}`);
    const first = await train(config(run, extra), { ...silent, stopAfterBatches: stopAfter });
    assert.equal(first.status, "interrupted");
    assert.equal(first.step, stopAfter);
    const second = await resume(run, {}, silent);
    assert.equal(second.status, "done");
    assert.equal(second.step, 6);
    const got = await finalFiles(run);
    assert.deepEqual(got.weights, expected.weights, `weights differ (stop after ${stopAfter})`);
    assert.ok(expected.raw !== undefined, "an --ema run keeps its raw weights");
    assert.deepEqual(got.raw, expected.raw, `raw weights differ (stop after ${stopAfter})`);
    assert.deepEqual(
      got.optimizer,
      expected.optimizer,
      `optimizer state differs (stop after ${stopAfter})`,
    );
    const log = await readLog(run);
    assert.deepEqual(await lrsOf(run), straightLrs, "the same rate every epoch after a resume");
    assert.equal(log.filter((r) => r.type === "start").length, 2);
    assert.deepEqual(log.filter((r) => r.type === "batch").map((r) => r.step), [1, 2, 3, 4, 5, 6]);
  }
});

Deno.test("loop: a run that fails before its first checkpoint leaves nothing, so it can be rerun", async () => {
  // A prepared copy whose image shard is cut short: reading the first batch fails.
  const broken = join(root, "broken-prepared");
  await Deno.mkdir(broken, { recursive: true });
  for (const f of ["manifest.json", "masks.u8"]) {
    await Deno.copyFile(join(prepared, f), join(broken, f));
  }
  const images = await Deno.readFile(join(prepared, "images.u8"));
  await Deno.writeFile(join(broken, "images.u8"), images.subarray(0, 100));
  const out = join(root, "fails-early");
  const cfg = { ...config(out, { epochs: 1 }), prepared: broken };
  await assert.rejects(() => train(cfg, silent));
  assert.equal(await Deno.stat(out).then(() => true, () => false), false, "run folder removed");
  // the same --out now trains
  assert.equal((await train(config(out, { epochs: 1 }), silent)).status, "done");
  assert.ok((await latestCheckpoint(out)) !== undefined);
});

Deno.test("loop: a NaN loss stops the run and keeps the last good checkpoint", async () => {
  const out = join(root, "nan");
  const cfg = config(out, { optim: { name: "sgd", lr: 0.01, clipNorm: 0 }, epochs: 1 });
  assert.equal((await train(cfg, silent)).status, "done");
  const good = (await latestCheckpoint(out))!;
  const goodWeights = await Deno.readFile(join(good, "weights.bin"));
  // Continue with a learning rate of 1e30 (edited into the checkpoint's config): the weights
  // overflow float32 within a step or two and the loss becomes NaN.
  const statePath = join(good, "state.json");
  const state = JSON.parse(await Deno.readTextFile(statePath));
  state.config.optim.lr = 1e30;
  await Deno.writeTextFile(statePath, JSON.stringify(state));
  const lines: string[] = [];
  const res = await resume(out, { epochs: 20 }, { ...silent, log: (l) => lines.push(l) });
  assert.equal(res.status, "nan");
  const msg = lines.find((l) => l.startsWith("error: loss is"));
  assert.ok(msg !== undefined, lines.join("\n"));
  assert.match(
    msg,
    /^error: loss is (NaN|Infinity) at epoch \d+, batch \d+ \(step \d+\); stopped without applying that step; last good checkpoint: /,
  );
  console.log(`  ${msg}`);
  const log = await readLog(out);
  assert.equal(log.at(-1)!.reason, "nan");
  assert.equal(await latestCheckpoint(out), good);
  assert.deepEqual(await Deno.readFile(join(good, "weights.bin")), goodWeights);
  // the train task reports it with exit code 1
  const res2 = await runMain((a) => main(a, silent), [
    "--resume",
    out,
    "--epochs",
    "20",
    "--quiet",
  ]);
  assert.equal(res2, 1);
});

Deno.test("train task: exit codes for bad flags, a tile size the depth cannot take, and --help", async () => {
  const tinyArgs = [
    "--prepared",
    prepared,
    ...TINY_ARGS,
    "--epochs",
    "1",
    "--backend",
    BACKEND,
  ];
  const quiet = async (args: string[]) => {
    const err = console.error, log = console.log;
    console.error = () => {};
    console.log = () => {};
    try {
      return await runMain((a) => main(a, silent), args);
    } finally {
      console.error = err;
      console.log = log;
    }
  };
  assert.equal(await quiet(["--prepared", prepared, "--out", join(root, "x"), "--bogus"]), 2);
  assert.equal(
    await quiet(["--prepared", prepared, "--out", join(root, "x"), "--augment", "warp"]),
    2,
  );
  assert.equal(await quiet(["--resume", join(root, "x"), "--out", join(root, "y")]), 2);
  // 32 px tiles cannot go down 6 times: a one-line input error naming the manifest
  assert.equal(
    await quiet([
      ...tinyArgs.filter((a) => a !== "--depth" && a !== "2"),
      "--out",
      join(root, "deep"),
      "--depth",
      "6",
    ]),
    1,
  );
  assert.equal(await quiet(["--resume", join(root, "no-such-run")]), 1);
  assert.equal(await quiet(["--help"]), 0);
  // a fresh run into a folder that already holds one (with a checkpoint): refused
  await Deno.mkdir(join(root, "taken", "checkpoints"), { recursive: true });
  await Deno.writeTextFile(join(root, "taken", "log.jsonl"), "");
  await Deno.writeTextFile(
    join(root, "taken", "checkpoints", "latest.json"),
    '{"name": "epoch-0001", "epoch": 1, "batchInEpoch": 0}',
  );
  assert.equal(await quiet([...tinyArgs, "--out", join(root, "taken")]), 2);
  // a run killed before its first checkpoint (log.jsonl only): the same command starts afresh
  await Deno.mkdir(join(root, "killed"), { recursive: true });
  await Deno.writeTextFile(join(root, "killed", "log.jsonl"), '{"type":"start"}\n');
  await Deno.writeTextFile(join(root, "killed", "config.json"), "{}");
  assert.equal(await quiet([...tinyArgs, "--out", join(root, "killed")]), 0);
  const log = await readLog(join(root, "killed"));
  assert.equal(log.filter((r) => r.type === "start").length, 1, "the old log was replaced");
  // --out naming a file: one line, exit 1, the file untouched
  await Deno.writeTextFile(join(root, "a-file"), "x");
  assert.equal(await quiet([...tinyArgs, "--out", join(root, "a-file")]), 1);
  assert.equal(await Deno.readTextFile(join(root, "a-file")), "x");
});

Deno.test("train task: Ctrl-C writes a checkpoint and exits 130", async () => {
  const out = join(root, "sigint");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../tasks/train.ts", import.meta.url).pathname,
      "--prepared",
      prepared,
      "--out",
      out,
      ...TINY_ARGS,
      "--batch-size",
      "1",
      "--epochs",
      "500",
      "--backend",
      BACKEND,
      "--quiet",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // wait for the first batch record, then interrupt
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = await Deno.readTextFile(join(out, "log.jsonl")).catch(() => "");
    if (text.includes(`"type":"batch"`)) break;
    if (Date.now() > deadline) throw new Error("no batch logged within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGINT");
  const { code, stderr } = await child.output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 130, err);
  // mid-epoch, or at an epoch boundary when the signal lands during validation
  assert.match(err, /interrupted (at epoch \d+, batch \d+|after epoch \d+); checkpoint /);
  const latest = await latestCheckpoint(out);
  assert.match(latest!, /(interrupted|epoch-\d{4})$/);
  const log = await readLog(out);
  assert.equal(log.at(-1)!.reason, "interrupted");
});

globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

Deno.test("loop: nonFiniteWeights counts NaN/Inf among all weights, leak-free", async () => {
  const model = buildUNet({ depth: 2, baseFilters: 4, batchNorm: true, seed: 1 });
  const before = tf.memory().numTensors;
  assert.equal(await nonFiniteWeights(model), 0);
  const [w0, ...rest] = model.getWeights();
  const broken = w0.dataSync().slice();
  broken[0] = NaN;
  broken[1] = Infinity;
  const replaced = tf.tensor(broken, w0.shape);
  model.setWeights([replaced, ...rest]);
  replaced.dispose();
  assert.equal(await nonFiniteWeights(model), 2);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

Deno.test("loop: checkpoints/best is the epoch with the best validation DSC in the log", async () => {
  const out = join(root, "best-dsc");
  const res = await train(
    config(out, { epochs: 4, optim: { lr: 1e-2 }, checkpointEpochs: [] }),
    silent,
  );
  assert.equal(res.status, "done");
  const epochs = (await readLog(out)).filter((r) => r.type === "epoch") as {
    epoch: number;
    val: { micro: { dsc: number } };
  }[];
  // the first epoch with the highest micro DSC, read from the log
  let want = epochs[0];
  for (const e of epochs) if (e.val.micro.dsc > want.val.micro.dsc) want = e;
  const best = JSON.parse(await Deno.readTextFile(join(out, "checkpoints", "best", "state.json")));
  assert.equal(best.state.epoch, want.epoch);
  assert.equal(best.state.best.value, want.val.micro.dsc);
  // latest.json still names the last epoch: a resume continues from there, not from best
  assert.equal((await latestCheckpoint(out))!, join(out, "checkpoints", "epoch-0004"));
});

Deno.test("loop: --patience stops after N validations without a better score (frozen: none is)", async () => {
  for (const select of ["dsc", "loss"] as const) {
    const out = join(root, `patience-${select}`);
    // lr 0 and no batch norm (whose running statistics would still move): every validation
    // gives exactly the same scores
    const cfg = config(out, {
      epochs: 6,
      optim: { lr: 0 },
      model: { batchNorm: false },
      select,
      patience: 2,
    });
    const res = await train(cfg, silent);
    assert.equal(res.status, "done");
    assert.match(
      res.message,
      new RegExp(`early stop after epoch 3: no better validation ${select}`),
    );
    const epochs = (await readLog(out)).filter((r) => r.type === "epoch");
    // epoch 1 sets the best; epochs 2 and 3 are no better (the weights never change): stop
    assert.deepEqual(epochs.map((e) => e.epoch), [1, 2, 3]);
    assert.deepEqual(epochs.map((e) => e.best), [true, false, false]);
    const best = JSON.parse(
      await Deno.readTextFile(join(out, "checkpoints", "best", "state.json")),
    );
    assert.equal(best.state.epoch, 1);
    assert.equal(await latestCheckpoint(out), join(out, "checkpoints", "epoch-0003"));
  }
});

Deno.test("train task: --resume added to the original command line continues; a changed flag is one line", async () => {
  const out = join(root, "resume-same");
  const args = [
    ...["--prepared", prepared, "--out", out, ...TINY_ARGS, "--batch-size", "2"],
    ...["--lr", "0.002", "--backend", BACKEND, "--quiet"],
  ];
  const lines: string[] = [];
  const err = console.error, log = console.log;
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  console.log = () => {};
  try {
    const run = (a: string[]) => runMain((x) => main(x, silent), a);
    assert.equal(await run([...args, "--epochs", "1"]), 0);
    assert.equal(await run([...args, "--epochs", "2", "--resume", out]), 0);
    const log2 = await readLog(out);
    assert.deepEqual(log2.filter((r) => r.type === "epoch").map((r) => r.epoch), [1, 2]);
    lines.length = 0;
    const changed = args.map((a) => (a === "0.002" ? "0.5" : a));
    assert.equal(await run([...changed, "--epochs", "3", "--resume", out]), 2);
    assert.deepEqual(lines, [
      "error: --resume continues the saved config, which differs: --lr: saved 0.002, given 0.5 " +
      "(only --epochs, --backend, --prepared, --micro-batch and --memory-budget may change)",
    ]);
    assert.equal((await readLog(out)).filter((r) => r.type === "epoch").length, 2, "nothing ran");
  } finally {
    console.error = err;
    console.log = log;
  }
});

Deno.test("loop: the plateau schedule halves the rate after each flat validation, across a resume", async () => {
  // SGD at 1e-9 without batch norm: the validation loss stays flat (no relative gain of 1e-4), so
  // with patience 0 every validation after the first halves the rate.
  const cfg = (out: string) =>
    config(out, {
      epochs: 4,
      optim: { name: "sgd", lr: 1e-9 },
      model: { batchNorm: false },
      schedule: { name: "plateau", plateauPatience: 0, plateauFactor: 0.5 },
      checkpointEpochs: [1, 2, 3],
    });
  const lrsOf = async (run: string) =>
    (await readLog(run)).filter((r) => r.type === "epoch").map((r) => r.lr);
  const straight = join(root, "plateau-straight");
  assert.equal((await train(cfg(straight), silent)).status, "done");
  assert.deepEqual(await lrsOf(straight), [1e-9, 1e-9, 5e-10, 2.5e-10]);
  const stopped = join(root, "plateau-stopped");
  const first = await train(cfg(stopped), { ...silent, stopAfterBatches: 5 }); // mid epoch 3
  assert.equal(first.status, "interrupted");
  assert.equal((await resume(stopped, {}, silent)).status, "done");
  assert.deepEqual(await lrsOf(stopped), [1e-9, 1e-9, 5e-10, 2.5e-10]);
});

Deno.test("loop: --ema validates and checkpoints the average; the raw weights are kept beside it", async () => {
  const out = join(root, "ema");
  const res = await train(config(out, { epochs: 2, ema: 0.5, checkpointEpochs: [] }), silent);
  assert.equal(res.status, "done");
  const dir = (await latestCheckpoint(out))!;
  const averaged = await Deno.readFile(join(dir, "weights.bin"));
  const raw = await Deno.readFile(join(dir, "raw_weights.bin"));
  assert.notDeepEqual(averaged.subarray(0, 64), raw.subarray(0, 64), "the average is not the raw");
  // the logged validation of the last epoch is the checkpoint's (averaged) model's
  const model = await loadCheckpointModel(dir);
  const ds = await openPrepared(prepared);
  const norm = normalizationFor("dataset", ds.manifest.stats);
  const val = await validate(model, ds, ds.tiles("val"), { batchSize: 2, norm, threshold: 0.5 });
  const last = (await readLog(out)).filter((r) => r.type === "epoch").at(-1)! as {
    val: { micro: { dsc: number } };
  };
  assert.equal(val.micro.dsc, last.val.micro.dsc);
  model.dispose();
  ds.close();
  // a truncated raw_weights.bin is one line naming it, and the run is left as it was
  await Deno.writeFile(join(dir, "raw_weights.bin"), raw.subarray(0, raw.length - 8));
  const logBefore = await Deno.readTextFile(join(out, "log.jsonl"));
  await assert.rejects(
    () => resume(out, { epochs: 3 }, silent),
    (e: unknown) =>
      e instanceof InputError &&
      new RegExp(
        `raw_weights\\.bin: ${raw.length - 8} bytes, the model has ${raw.length / 4} weights`,
      )
        .test(e.message),
  );
  assert.equal(await Deno.readTextFile(join(out, "log.jsonl")), logBefore);
});

/** A checkpoint's weights by name (model.json order), read from its files. */
async function weightsByName(dir: string): Promise<Map<string, Float32Array>> {
  const json = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
  const bytes = await Deno.readFile(join(dir, "weights.bin"));
  const all = new Float32Array(bytes.slice().buffer);
  const out = new Map<string, Float32Array>();
  let off = 0;
  for (const w of json.weightsManifest[0].weights) {
    const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
    out.set(w.name, all.slice(off, off + n));
    off += n;
  }
  return out;
}

Deno.test("loop: --init-from starts from a run's weights; --freeze-encoder trains only the decoder", async () => {
  // no batch norm: with lr 0 nothing may change, not even running statistics
  const plain = { model: { batchNorm: false }, epochs: 1 } as const;
  const source = join(root, "init-source");
  assert.equal(
    (await train(config(source, { ...plain, optim: { lr: 1e-2 } }), silent)).status,
    "done",
  );
  const src = await weightsByName((await latestCheckpoint(source))!);
  // lr 0 from the source's weights: the checkpoint holds exactly them
  const copy = join(root, "init-copy");
  const c = config(copy, { ...plain, optim: { lr: 0 }, initFrom: source });
  assert.equal((await train(c, silent)).status, "done");
  assert.deepEqual(await weightsByName((await latestCheckpoint(copy))!), src);
  // frozen encoder, lr > 0: every encoder weight as in the source, every decoder kernel moved
  const tuned = join(root, "init-frozen");
  const f = config(tuned, { ...plain, optim: { lr: 1e-2 }, initFrom: source, freezeEncoder: true });
  assert.equal((await train(f, silent)).status, "done");
  const got = await weightsByName((await latestCheckpoint(tuned))!);
  for (const [name, values] of got) {
    if (isEncoderWeight(name)) assert.deepEqual(values, src.get(name), `${name} moved`);
    else if (name.endsWith("/kernel")) assert.notDeepEqual(values, src.get(name), `${name} frozen`);
  }
  assert.ok(
    [...got.keys()].some(isEncoderWeight) && [...got.keys()].some((n) => !isEncoderWeight(n)),
  );
  // another architecture: one line naming the first weight that differs
  const wider = config(join(root, "init-wider"), {
    ...plain,
    model: { baseFilters: 6 },
    initFrom: source,
  });
  await assert.rejects(
    () => train(wider, silent),
    (e: unknown) =>
      e instanceof InputError &&
      /model\.json: --init-from: weight enc0_conv1\/kernel is \[3,3,3,4\] there, \[3,3,3,6\] in this config/
        .test(e.message),
  );
});

Deno.test("loop: after two timed steps the run prints its time estimate", async () => {
  const out = join(root, "eta");
  const lines: string[] = [];
  const res = await train(config(out, { epochs: 2 }), { ...silent, log: (l) => lines.push(l) });
  assert.equal(res.status, "done");
  const est = lines.filter((l) => / s a step → about /.test(l));
  assert.equal(est.length, 1, lines.join("\n"));
  // 4 tiles, batch 2: 2 steps an epoch, 4 in the run; the estimate comes after step 3, 1 left
  assert.match(
    est[0],
    /^train: \d+\.\d{3} s a step → about \d+:\d{2} an epoch and \d+:\d{2} for the 1 step left/,
  );
});
