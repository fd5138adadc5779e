import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runMain } from "../src/cli.ts";
import { decodeImage, readImage } from "../src/data/image.ts";
import { InputError, UsageError } from "../src/errors.ts";
import { exists } from "../src/io.ts";
import { buildUNet } from "../src/model/unet.ts";
import { labelComponents } from "../src/data/components.ts";
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
const KERNEL = [4.8, -12, 0], BIAS = 2;
const root = await Deno.makeTempDir({ prefix: "vessel-seg-predict-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const pointwise = convModel([[KERNEL]], BIAS);
const { run } = await writeRunAround(join(root, "pointwise"), pointwise, {
  scale: 0.25,
  tileSizePx: 32,
  normalize: "none",
});
pointwise.dispose();

/**
 * The documented inference path written out by hand for the pointwise model at scale 0.25: 4×4
 * block means rounded to uint8 (INTER_AREA by 4), the logit per pixel, sigmoid, then bilinear upsampling on pixel
 * centres (source `(x + 0.5)/4 − 0.5`, clamped), independent of src/predict and src/data.
 */
const roundHalfEven = (v: number) => {
  const f = Math.floor(v), d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
};

function handProbabilities(rgb: Uint8Array, size: number): Float64Array {
  const s = size / 4;
  const small = new Float64Array(s * s);
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      let z = BIAS;
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = 0; dy < 4; dy++) {
          for (let dx = 0; dx < 4; dx++) sum += rgb[((y * 4 + dy) * size + x * 4 + dx) * 3 + c];
        }
        z += KERNEL[c] * (roundHalfEven(sum / 16) / 255); // uint8 result, as OpenCV rounds
      }
      small[y * s + x] = 1 / (1 + Math.exp(-z));
    }
  }
  const src = (v: number) => Math.min(s - 1, Math.max(0, (v + 0.5) / 4 - 0.5));
  const out = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    const fy = src(y), y0 = Math.floor(fy), y1 = Math.min(s - 1, y0 + 1), wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = src(x), x0 = Math.floor(fx), x1 = Math.min(s - 1, x0 + 1), wx = fx - x0;
      const top = small[y0 * s + x0] * (1 - wx) + small[y0 * s + x1] * wx;
      const bottom = small[y1 * s + x0] * (1 - wx) + small[y1 * s + x1] * wx;
      out[y * size + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

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
  let borderline = 0;
  for (const row of rows) {
    const mask = grey(await Deno.readFile(join(out, "masks", `${row.id}.png`)), row.id);
    const prob = grey(await Deno.readFile(join(out, "prob", `${row.id}.png`)), row.id);
    assert.equal(mask.width, 512);
    assert.equal(mask.height, 512);
    assert.equal(prob.width, 512);
    // the files hold the hand-computed probabilities (float32 inference vs float64 here: a
    // pixel within 1e-5 of the threshold or of a rounding step may land either side)
    const p = handProbabilities((await readImage(`${MINI}/train/${row.id}.tif`)).rgb, 512);
    for (let i = 0; i < p.length; i++) {
      if (Math.abs(p[i] - 0.5) < 1e-5) borderline++;
      else assert.equal(mask.v[i], p[i] > 0.5 ? 255 : 0, `${row.id} mask px ${i}`);
      assert.ok(Math.abs(prob.v[i] - p[i] * 255) <= 0.5 + 1e-3, `${row.id} prob px ${i}`);
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
  assert.ok(borderline < 200, `${borderline} of 8·512² pixels within 1e-5 of the threshold`);
  // and the local metric runs on it (kaggle-mini annotates these tiles)
  const lines: string[] = [];
  assert.equal(
    await scoreMain(["--submission", submission, "--data", MINI], { print: (t) => lines.push(t) }),
    0,
  );
  // the counts it reports are the submission's instances and the tiles' polygons, counted here
  // straight from the files
  // (tiles without a polygons.jsonl line are left out of the metric)
  const ids = new Set(rows.map((r) => r.id));
  const annotated = new Set<string>();
  let truth = 0;
  for (const line of (await Deno.readTextFile(`${MINI}/polygons.jsonl`)).split("\n")) {
    if (line.trim() === "") continue;
    const t = JSON.parse(line);
    if (!ids.has(t.id)) continue;
    annotated.add(t.id);
    truth += t.annotations.filter((a: { type: string }) => a.type === "blood_vessel").length;
  }
  const predicted = rows.filter((r) => annotated.has(r.id))
    .reduce((n, r) => n + r.instances.length, 0);
  const m =
    /^(\d+) tile\(s\) scored: (\d+) prediction\(s\) \((\d+) TP, (\d+) FP\), (\d+) ground-truth/
      .exec(lines[1]);
  assert.ok(m, lines[1]);
  const [tiles, preds, tp, fp, gt] = m.slice(1).map(Number);
  assert.deepEqual([tiles, preds, tp + fp, gt], [annotated.size, predicted, predicted, truth]);
  assert.match(lines.join("\n"), new RegExp(`left out: ${8 - annotated.size} submission tile`));
  const ap = Number(/^AP@0\.6 = ([\d.]+)$/.exec(lines[0])?.[1]);
  assert.ok(ap >= 0 && ap <= tp / Math.max(1, gt) + 1e-9, `AP ${ap} ≤ recall ${tp}/${gt}`);
});

Deno.test("predict: the run's saved threshold is the default, --threshold overrides it", async () => {
  const m = convModel([[KERNEL]], BIAS);
  const saved = await writeRunAround(join(root, "saved-0.8"), m, {
    scale: 0.25,
    tileSizePx: 32,
    normalize: "none",
    threshold: 0.8,
  });
  m.dispose();
  const tile = `${MINI}/train/1563c8dbe8b5.tif`;
  const p = handProbabilities((await readImage(tile)).rgb, 512);
  for (const [extra, t] of [[[], 0.8], [["--threshold", "0.3"], 0.3]] as const) {
    const out = join(root, `out-threshold-${t}`);
    let result: PredictFilesResult | undefined;
    const args = ["--model", saved.run, "--input", tile, "--out", out, "--quiet", ...extra];
    assert.equal(await main(args, { ...silent, onResult: (r) => (result = r) }), 0);
    assert.equal(result?.threshold, t);
    const mask = grey(await Deno.readFile(join(out, "masks", "1563c8dbe8b5.png")), "mask");
    let wrong = 0, set = 0;
    for (let i = 0; i < p.length; i++) {
      if (Math.abs(p[i] - t) < 1e-5) continue;
      if (mask.v[i] !== (p[i] > t ? 255 : 0)) wrong++;
      if (mask.v[i]) set++;
    }
    assert.equal(wrong, 0, `threshold ${t}`);
    assert.ok(set > 0 && set < p.length, `threshold ${t}: ${set} px set, a real split`);
  }
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

Deno.test("predict: --model A,B averages the probabilities (an ensemble); A,A is A byte for byte; mixed scales are one line", async () => {
  const other = convModel([[[-6, 9, 1]]], -1);
  const b = await writeRunAround(join(root, "ensemble-b"), other, {
    scale: 0.25,
    tileSizePx: 32,
    normalize: "none",
  });
  other.dispose();
  const tile = `${MINI}/train/1563c8dbe8b5.tif`;
  const probOf = async (model: string, name: string) => {
    const out = join(root, `out-ensemble-${name}`);
    const args = ["--model", model, "--input", tile, "--out", out, "--quiet"];
    assert.equal(await main(args, silent), 0);
    return await Deno.readFile(join(out, "prob", "1563c8dbe8b5.png"));
  };
  const a = await probOf(run, "a");
  assert.deepEqual(
    await probOf(`${run},${run}`, "aa"),
    a,
    "an ensemble of one model is that model",
  );
  const pa = grey(a, "a").v, pb = grey(await probOf(b.run, "b"), "b").v;
  const pab = grey(await probOf(`${run},${b.run}`, "ab"), "ab").v;
  // Each PNG rounds its probability to 1/255: the mean of two rounded maps is within 1 of the
  // rounded mean.
  let worst = 0, differs = 0;
  for (let i = 0; i < pab.length; i++) {
    worst = Math.max(worst, Math.abs(pab[i] - (pa[i] + pb[i]) / 2));
    if (pa[i] !== pb[i]) differs++;
  }
  assert.ok(worst <= 1, `largest difference from the mean: ${worst}/255`);
  assert.ok(differs > pab.length / 10, "the two models differ, so the mean is a real test");
  const half = convModel([[KERNEL]], BIAS);
  const c = await writeRunAround(join(root, "ensemble-c"), half, {
    scale: 0.5,
    tileSizePx: 32,
    normalize: "none",
  });
  half.dispose();
  await assert.rejects(
    main(["--model", `${run},${c.run}`, "--input", tile, "--out", join(root, "out-mixed")], silent),
    (e) => e instanceof UsageError && /an ensemble's models must share both/.test(e.message),
  );
  assert.equal(await exists(join(root, "out-mixed", "prob")), false);
});
