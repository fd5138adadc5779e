import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runMain } from "../src/cli.ts";
import { decodeImage, readImage } from "../src/data/image.ts";
import { InputError, UsageError } from "../src/errors.ts";
import { exists } from "../src/io.ts";
import { buildUNet } from "../src/model/unet.ts";
import { labelComponents } from "../src/data/components.ts";
import { loadArtifact } from "../src/model/artifact.ts";
import { predictProbabilities } from "../src/predict/predict.ts";
import { decodeMask } from "../src/predict/rle.ts";
import type { PredictFilesResult } from "../src/predict/run.ts";
import { readSubmission } from "../src/predict/submission.ts";
import { convModel, writeRunAround } from "../src/predict/testing.ts";
import { main } from "./predict.ts";
import { main as scoreMain } from "./score.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

const MINI = "fixtures/kaggle-mini";
const REAL = "fixtures/real/0006ff2aa7cd.png";
const silent = { keepBackend: true, log: () => {}, print: () => {} };

// A pointwise "pink vs white" model: logit = 12·(x_B·0 + x_G·(−1) + x_R·0.4) + 2 on v/255 inputs,
// trained on nothing but with an output that follows the stain, at the demo's scale 0.25.
const root = await Deno.makeTempDir({ prefix: "vessel-seg-predict-" });
const pointwise = convModel([[[4.8, -12, 0]]], 2);
const { run } = await writeRunAround(join(root, "pointwise"), pointwise, {
  scale: 0.25,
  tileSizePx: 32,
  normalize: "none",
});
pointwise.dispose();

function grey(bytes: Uint8Array, name: string): { width: number; height: number; v: Uint8Array } {
  const img = decodeImage(bytes, name);
  const v = new Uint8Array(img.width * img.height);
  for (let i = 0; i < v.length; i++) v[i] = img.rgb[i * 3];
  return { width: img.width, height: img.height, v };
}

Deno.test("predict: masks, probabilities and a submission for a folder of TIFF tiles", async () => {
  const out = join(root, "out-mini");
  const submission = join(out, "submission.csv");
  let result: PredictFilesResult | undefined;
  const code = await main(
    [
      "--model",
      run,
      "--input",
      `${MINI}/train`,
      "--out",
      out,
      "--submission",
      submission,
      "--quiet",
    ],
    { ...silent, onResult: (r) => (result = r) },
  );
  assert.equal(code, 0);
  assert.equal(result?.tiles, 8);
  const rows = await readSubmission(submission);
  assert.equal(rows.length, 8);
  const loaded = await loadArtifact(run);
  try {
    for (const row of rows) {
      const mask = grey(await Deno.readFile(join(out, "masks", `${row.id}.png`)), row.id);
      const prob = grey(await Deno.readFile(join(out, "prob", `${row.id}.png`)), row.id);
      assert.equal(mask.width, 512);
      assert.equal(mask.height, 512);
      assert.equal(prob.width, 512);
      // the files hold what predictProbabilities gives
      const p = predictProbabilities(
        loaded.model,
        await readImage(`${MINI}/train/${row.id}.tif`),
        loaded.inference,
      );
      for (let i = 0; i < p.length; i++) {
        assert.equal(mask.v[i], p[i] > 0.5 ? 255 : 0);
        assert.equal(prob.v[i], Math.round(p[i] * 255));
      }
      // the submission's instances are the 8-connected components of the mask, disjoint, and
      // together exactly the mask
      const { count } = labelComponents(mask.v, 512, 512);
      assert.equal(row.instances.length, count);
      const union = new Uint8Array(512 * 512);
      for (const inst of row.instances) {
        const m = decodeMask(inst.encoded, 512, 512);
        let n = 0, sum = 0;
        for (let i = 0; i < m.length; i++) {
          if (!m[i]) continue;
          assert.equal(union[i], 0);
          union[i] = 255;
          n++;
          sum += p[i];
        }
        assert.ok(Math.abs(inst.confidence - sum / n) < 1e-5, "confidence = mean probability");
      }
      assert.deepEqual(union, mask.v);
    }
  } finally {
    loaded.model.dispose();
  }
  // and the local metric runs on it (kaggle-mini annotates these tiles)
  const lines: string[] = [];
  assert.equal(
    await scoreMain(["--submission", submission, "--data", MINI], { print: (t) => lines.push(t) }),
    0,
  );
  assert.match(lines[0], /^AP@0\.6 = (0|1)\.\d{4}$/);
});

Deno.test("predict: --min-area and --dilate shape the submission's instances", async () => {
  const out = join(root, "out-dilate");
  const tile = `${MINI}/train/1563c8dbe8b5.tif`;
  const plain = join(out, "plain.csv"),
    dilated = join(out, "dilated.csv"),
    big = join(out, "big.csv");
  for (
    const [file, extra] of [[plain, []], [dilated, ["--dilate", "2"]], [big, [
      "--min-area",
      "500",
    ]]] as const
  ) {
    assert.equal(
      await main([
        "--model",
        run,
        "--input",
        tile,
        "--out",
        out,
        "--submission",
        file,
        "--quiet",
        ...extra,
      ], silent),
      0,
    );
  }
  const [a] = await readSubmission(plain),
    [d] = await readSubmission(dilated),
    [b] = await readSubmission(big);
  assert.ok(a.instances.length > 1, "the tile should give several instances");
  assert.equal(d.instances.length, a.instances.length);
  const area = (enc: string) => decodeMask(enc, 512, 512).reduce((s, v) => s + v, 0);
  const areas = a.instances.map((i) => area(i.encoded));
  for (let k = 0; k < a.instances.length; k++) assert.ok(area(d.instances[k].encoded) > areas[k]);
  assert.equal(b.instances.length, areas.filter((n) => n >= 500).length);
});

Deno.test("predict: the real tile 0006ff2aa7cd through a small U-Net, with flips TTA", async () => {
  const unet = buildUNet({ depth: 2, baseFilters: 4, batchNorm: true, seed: 1 });
  const { run: unetRun } = await writeRunAround(join(root, "unet"), unet, {
    scale: 0.25,
    tileSizePx: 32,
  });
  unet.dispose();
  const out = join(root, "out-real");
  const before = tf.memory().numTensors;
  assert.equal(
    await main([
      "--model",
      join(unetRun, "checkpoints", "epoch-0001"),
      "--input",
      REAL,
      "--out",
      out,
      "--tta",
      "flips",
      "--submission",
      join(out, "s.csv"),
      "--quiet",
    ], silent),
    0,
  );
  assert.equal(tf.memory().numTensors, before, "predict disposes the model and every tensor");
  const mask = grey(await Deno.readFile(join(out, "masks", "0006ff2aa7cd.png")), "mask");
  assert.equal(mask.width, 512);
  assert.equal(mask.height, 512);
  const [row] = await readSubmission(join(out, "s.csv"));
  assert.equal(row.id, "0006ff2aa7cd");
});

Deno.test("predict: bad inputs give one line, exit 1 or 2, and no output", async () => {
  const out = join(root, "out-bad");
  await assert.rejects(main(["--input", REAL, "--out", out], silent), UsageError);
  await assert.rejects(main(["--model", run, "--out", out], silent), /--input is required/);
  await assert.rejects(
    main(["--model", run, "--input", REAL, "--out", out, "--tta", "rot"], silent),
    /--tta must be one of none, flips/,
  );
  await assert.rejects(
    main(["--model", run, "--input", "no/such.png", "--out", out], silent),
    (e: unknown) => e instanceof InputError && e.message === "no/such.png: no such file or folder",
  );
  await assert.rejects(
    main(["--model", run, "--input", "fixtures/otsu", "--out", out], silent),
    /fixtures\/otsu: no \.tif\/\.tiff\/\.png files in this folder/,
  );
  await assert.rejects(
    main(["--model", join(root, "nothing"), "--input", REAL, "--out", out], silent),
    /nothing: no such folder/,
  );
  assert.equal(await exists(out), false, "nothing written before the inputs are checked");
  // two inputs with the same id
  await assert.rejects(
    main([
      "--model",
      run,
      "--input",
      REAL,
      "--input",
      "fixtures/real/0006ff2aa7cd.png",
      "--out",
      out,
    ], silent),
    /tile id "0006ff2aa7cd" also comes from/,
  );
  // a corrupt image in the middle: an InputError naming it, and no submission
  const sub = join(out, "s.csv");
  await assert.rejects(
    main([
      "--model",
      run,
      "--input",
      REAL,
      "--input",
      "fixtures/bad/truncated.png",
      "--out",
      out,
      "--submission",
      sub,
      "--quiet",
    ], silent),
    (e: unknown) => e instanceof InputError && e.message.startsWith("fixtures/bad/truncated.png:"),
  );
  assert.equal(await exists(sub), false);
  // exit codes through runMain (its one-line message goes to stderr)
  const quietMain = (args: string[]) => main(args, silent);
  const error = console.error;
  const said: string[] = [];
  console.error = (...a: unknown[]) => said.push(a.join(" "));
  try {
    assert.equal(
      await runMain(quietMain, ["--model", run, "--input", "no/such.png", "--out", out]),
      1,
    );
    assert.equal(await runMain(quietMain, ["--model", run, "--out", out]), 2);
  } finally {
    console.error = error;
  }
  assert.deepEqual(said, [
    "error: no/such.png: no such file or folder",
    "error: --input is required",
  ]);
});

Deno.test({
  name: "predict: cleanup",
  fn: async () => {
    await Deno.remove(root, { recursive: true });
  },
});
