import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildUNet } from "../model/unet.ts";
import {
  latestCheckpoint,
  loadCheckpointModel,
  readCheckpoint,
  restoreWeights,
  saveCheckpoint,
} from "./checkpoint.ts";
import { parseTrainArgs, type TrainConfig } from "./config.ts";
import { Optimizer } from "./optim.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

Deno.test("checkpoint: LayersModel files load with tf.loadLayersModel and predict the same", async () => {
  const run = await Deno.makeTempDir();
  try {
    const r = parseTrainArgs([
      "--prepared",
      "p",
      "--out",
      run,
      "--depth",
      "2",
      "--base-filters",
      "4",
    ]);
    const config = (r as { config: TrainConfig }).config;
    const model = buildUNet(config.model);
    // one training-mode forward so batch-norm running statistics differ from their init
    tf.tidy(() => {
      model.apply(tf.randomNormal([2, 16, 16, 3], 0, 1, "float32", 1), { training: true });
    });
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const opt = new Optimizer(config.optim, vars);
    tf.tidy(() => opt.apply(vars.map((v) => tf.onesLike(v))));
    const state = {
      epoch: 1,
      batchInEpoch: 0,
      step: 1,
      rngState: [1, 2, 3, 4],
      elapsedS: 1.5,
      partialLoss: { sum: 0, tiles: 0 },
      backend: "cpu",
    };
    const dir = await saveCheckpoint(run, "epoch-0001", {
      model,
      optimizer: await opt.getState(),
      state,
      config,
    });
    assert.equal(await latestCheckpoint(run), dir);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(join(run, "checkpoints")))).map((e) => e.name).sort(),
      [
        "epoch-0001",
        "latest.json",
      ],
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
    assert.deepEqual(back.optimizer, await opt.getState());
    tf.dispose([x, a, b, c]);
    for (const m of [model, loaded, other]) m.dispose();
    opt.dispose();
  } finally {
    await Deno.remove(run, { recursive: true });
  }
});
