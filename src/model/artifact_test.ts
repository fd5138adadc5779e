import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { writeTinyPrepared } from "../data/testing.ts";
import { buildUNet } from "./unet.ts";
import {
  type InferenceMeta,
  latestCheckpoint,
  listEpochCheckpoints,
  loadArtifact,
  loadCheckpointModel,
  readCheckpoint,
  resolveCheckpoint,
  restoreWeights,
  saveCheckpoint,
  type TrainState,
} from "./artifact.ts";
import { makeConfig, type TrainConfig } from "./run_config.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

const INFERENCE: InferenceMeta = {
  tileSizePx: 16,
  scale: 0.25,
  normalize: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.1] },
  threshold: 0.35,
};

function stateAt(epoch: number): TrainState {
  return {
    epoch,
    batchInEpoch: 0,
    step: epoch * 3,
    rngState: [1, 2, 3, 4],
    elapsedS: epoch * 1.5,
    partialLoss: { sum: 0, tiles: 0 },
    backend: "cpu",
  };
}

/** A run with a depth-2 base-4 U-Net saved as each of `names` (epoch from the name, else 1). */
async function fakeRun(names: string[], inference: InferenceMeta | null = INFERENCE) {
  const run = await Deno.makeTempDir();
  const config = makeConfig("tiny", {
    prepared: join(run, "prepared"),
    out: run,
    model: { depth: 2, baseFilters: 4 },
  });
  const model = buildUNet(config.model);
  for (const name of names) {
    const epoch = Number(/\d+/.exec(name)?.[0] ?? 1);
    await saveCheckpoint(run, name, {
      model,
      optimizer: { name: "adam", step: 0, slots: {} },
      state: stateAt(epoch),
      config,
      inference: inference ?? INFERENCE,
    });
  }
  model.dispose();
  return { run, config };
}

async function editJson(path: string, edit: (v: Record<string, unknown>) => void) {
  const v = JSON.parse(await Deno.readTextFile(path));
  edit(v);
  await Deno.writeTextFile(path, JSON.stringify(v));
}

const rejectsWith = (p: Promise<unknown>, re: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof InputError, `not an InputError: ${e}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  });

Deno.test("artifact: LayersModel files load with tf.loadLayersModel and predict the same", async () => {
  const run = await Deno.makeTempDir();
  try {
    const config: TrainConfig = makeConfig("study", {
      prepared: "p",
      out: run,
      model: { depth: 2, baseFilters: 4 },
    });
    const model = buildUNet(config.model);
    // one training-mode forward so batch-norm running statistics differ from their init
    tf.tidy(() => {
      model.apply(tf.randomNormal([2, 16, 16, 3], 0, 1, "float32", 1), { training: true });
    });
    // optimizer slots of two shapes, values that survive the float32 round trip exactly
    const optimizer = {
      name: "rmsprop",
      step: 7,
      slots: {
        square: [{ shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
        momentum: [
          { shape: [1], values: Float32Array.of(-0.5) },
          { shape: [2], values: Float32Array.of(0.25, 8) },
        ],
      },
    };
    const state = stateAt(1);
    const dir = await saveCheckpoint(run, "epoch-0001", {
      model,
      optimizer,
      state,
      config,
      inference: INFERENCE,
    });
    assert.equal(await latestCheckpoint(run), dir);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(join(run, "checkpoints")))).map((e) => e.name).sort(),
      ["epoch-0001", "latest.json"],
    );
    const json = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
    assert.equal(json.format, "layers-model");
    assert.deepEqual(json.weightsManifest[0].paths, ["weights.bin"]);
    const x = tf.randomNormal([1, 16, 16, 3], 0, 1, "float32", 2);
    const loaded = await loadCheckpointModel(dir);
    const a = model.predict(x) as tf.Tensor, b = loaded.predict(x) as tf.Tensor;
    assert.deepEqual(a.dataSync(), b.dataSync());
    // restoreWeights into a freshly built model (another seed) gives the same predictions too
    const other = buildUNet({ ...config.model, seed: 99 });
    await restoreWeights(other, dir);
    const c = other.predict(x) as tf.Tensor;
    assert.deepEqual(c.dataSync(), a.dataSync());
    const back = await readCheckpoint(dir);
    assert.deepEqual(back.file.state, state);
    assert.deepEqual(back.file.config, config);
    assert.deepEqual(back.file.inference, INFERENCE);
    assert.deepEqual(back.optimizer, optimizer);
    tf.dispose([x, a, b, c]);
    for (const m of [model, loaded, other]) m.dispose();
  } finally {
    await Deno.remove(run, { recursive: true });
  }
});

Deno.test("artifact: epoch checkpoints sorted by epoch; interrupted and other entries ignored", async () => {
  const { run } = await fakeRun(["epoch-0010", "epoch-0002", "interrupted"]);
  try {
    const list = await listEpochCheckpoints(run);
    assert.deepEqual(list.map((c) => [c.name, c.epoch, c.step, c.elapsedS]), [
      ["epoch-0002", 2, 6, 3],
      ["epoch-0010", 10, 30, 15],
    ]);
    assert.equal(list[0].dir, join(run, "checkpoints", "epoch-0002"));
    assert.equal(list[0].config.batchSize, 8);
  } finally {
    await Deno.remove(run, { recursive: true });
  }
});

Deno.test("artifact: a run resolves to best/, else latest.json's, else the highest epoch", async () => {
  const { run } = await fakeRun(["epoch-0003", "epoch-0001"]);
  const ck = (name: string) => join(run, "checkpoints", name);
  try {
    assert.equal(await resolveCheckpoint(run), ck("epoch-0001")); // latest.json: the last saved
    await Deno.remove(join(run, "checkpoints", "latest.json"));
    assert.equal(await resolveCheckpoint(run), ck("epoch-0003"));
    await Deno.mkdir(ck("best"));
    for (const f of ["model.json", "weights.bin", "state.json"]) {
      await Deno.copyFile(join(ck("epoch-0001"), f), join(ck("best"), f));
    }
    assert.equal(await resolveCheckpoint(run), ck("best"));
    assert.equal(await resolveCheckpoint(ck("epoch-0003")), ck("epoch-0003"));
    const a = await loadArtifact(run);
    assert.equal(a.name, "best");
    assert.equal(a.epoch, 1);
    assert.deepEqual(a.inference, INFERENCE);
    assert.deepEqual(a.weightFiles, ["weights.bin"]);
    a.model.dispose();
  } finally {
    await Deno.remove(run, { recursive: true });
  }
});

Deno.test("artifact: without inference metadata, the prepared manifest gives it", async () => {
  const { run, config } = await fakeRun(["epoch-0001"]);
  const state = join(run, "checkpoints", "epoch-0001", "state.json");
  try {
    await editJson(state, (v) => delete v.inference);
    await rejectsWith(
      loadArtifact(run),
      /prepared\/manifest\.json: no such file: .*pass --prepared/,
    );
    const manifest = await writeTinyPrepared(config.prepared, { train: 2, val: 1, sizePx: 16 });
    const a = await loadArtifact(run);
    assert.deepEqual(a.inference, {
      tileSizePx: 16,
      scale: 1,
      normalize: { mean: manifest.stats.mean, std: manifest.stats.std },
      threshold: 0.5,
    });
    a.model.dispose();
  } finally {
    await Deno.remove(run, { recursive: true });
  }
});

Deno.test("artifact: missing, tampered and inconsistent files are one-line InputErrors naming the file", async () => {
  const { run } = await fakeRun(["epoch-0004"]);
  const dir = join(run, "checkpoints", "epoch-0004");
  const list = () => listEpochCheckpoints(run);
  try {
    await rejectsWith(resolveCheckpoint(join(run, "nope")), /nope: no such folder/);
    await rejectsWith(resolveCheckpoint(join(dir, "weights.bin")), /weights\.bin: is a file/);
    const empty = await Deno.makeTempDir();
    await rejectsWith(listEpochCheckpoints(empty), /checkpoints: no such folder/);
    await Deno.mkdir(join(empty, "checkpoints"));
    await rejectsWith(listEpochCheckpoints(empty), /checkpoints: no epoch-NNNN checkpoint in it/);
    await rejectsWith(resolveCheckpoint(empty), /no epoch-NNNN checkpoint/);
    await Deno.remove(empty, { recursive: true });

    const original = await Deno.readTextFile(join(dir, "state.json"));
    const tamper = async (edit: (v: Record<string, unknown>) => void, re: RegExp) => {
      await Deno.writeTextFile(join(dir, "state.json"), original);
      await editJson(join(dir, "state.json"), edit);
      await rejectsWith(list(), re);
    };
    await tamper(
      (v) => ((v.state as TrainState).epoch = 5),
      /state\.json: state\.epoch is 5, folder says 4/,
    );
    await tamper(
      (v) => delete v.config,
      /state\.json: config: expected an object, found undefined/,
    );
    await tamper(
      (v) => ((v.config as TrainConfig).model.depth = 0),
      /state\.json: config: field model\.depth: expected an integer from 1 to 8, found 0/,
    );
    await tamper((v) => (v.format = "x"), /state\.json: not a vessel-seg checkpoint/);
    await tamper(
      (v) => ((v.inference as InferenceMeta).normalize!.std = [0, 1, 1]),
      /state\.json: field inference\.normalize: stats\.std\[0\] is 0/,
    );
    await tamper(
      (v) => ((v.inference as InferenceMeta).scale = 0.3),
      /field inference\.scale: expected 1, 0\.5 or 0\.25/,
    );
    await Deno.writeTextFile(join(dir, "state.json"), "{\n");
    await rejectsWith(list(), /state\.json: bad JSON/);
    await Deno.writeTextFile(join(dir, "state.json"), original);

    const weights = await Deno.readFile(join(dir, "weights.bin"));
    await Deno.writeFile(join(dir, "weights.bin"), weights.subarray(0, weights.length - 4));
    await rejectsWith(
      loadArtifact(run),
      new RegExp(
        `weights\\.bin: ${
          weights.length - 4
        } bytes of weights, model\\.json lists ${weights.length}`,
      ),
    );
    await Deno.writeFile(join(dir, "weights.bin"), weights);
    const modelJson = await Deno.readTextFile(join(dir, "model.json"));
    await Deno.writeTextFile(join(dir, "model.json"), "garbage");
    await rejectsWith(loadArtifact(run), /model\.json: bad JSON/);
    await Deno.writeTextFile(
      join(dir, "model.json"),
      '{"modelTopology": {}, "weightsManifest": []}',
    );
    await rejectsWith(loadArtifact(run), /model\.json: /);
    await editJson(join(dir, "model.json"), (v) => {
      Object.assign(v, JSON.parse(modelJson));
      (v.weightsManifest as { paths: string[] }[])[0].paths = ["../../escape.bin"];
    });
    await rejectsWith(loadArtifact(run), /model\.json: unsafe weight file name/);
    await Deno.writeTextFile(join(dir, "model.json"), modelJson);
    await Deno.remove(join(dir, "model.json"));
    await rejectsWith(list(), /epoch-0004\/model\.json: no such file/);
  } finally {
    await Deno.remove(run, { recursive: true });
  }
});
