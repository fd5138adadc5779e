import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runMain } from "../src/cli.ts";
import { decodeImage } from "../src/data/image.ts";
import type { Manifest } from "../src/data/prepared.ts";
import { exists } from "../src/io.ts";
import { initBackend } from "../src/runtime/backends.ts";
import { loadCheckpointModel } from "../src/model/artifact.ts";
import { writeTinyPrepared } from "../src/data/testing.ts";
import { main as trainMain } from "./train.ts";
import { main } from "./evaluate.ts";

/** A depth-2, base-4 U-Net of the tiny preset: the smallest model the tests train. */
const TINY_ARGS = ["--preset", "tiny", "--depth", "2", "--base-filters", "4"];

tf.enableProdMode();
await initBackend("wasm");

/** The run validates at 0.7, not the default 0.5: evaluate must use the run's threshold. */
const SAVED_THRESHOLD = 0.7;
const root = await Deno.makeTempDir({ prefix: "vessel-seg-evaluate-" });
const prepared = join(root, "prepared");
const run = join(root, "run");
await writeTinyPrepared(prepared, { train: 6, val: 3, sizePx: 32, seed: 5 });
const silent = { quiet: true, log: () => {}, print: () => {}, keepBackend: true };
assert.equal(
  await trainMain([
    "--prepared",
    prepared,
    "--out",
    run,
    ...TINY_ARGS,
    "--batch-size",
    "2",
    "--epochs",
    "2",
    "--checkpoint-epochs",
    "1",
    "--backend",
    "wasm",
    "--threshold",
    String(SAVED_THRESHOLD),
  ], silent),
  0,
);

interface Row {
  mode: string;
  model: string;
  epoch: number | null;
  scores: Record<string, number | null>;
}

const quiet = { keepBackend: true, log: () => {}, print: () => {} };

Deno.test("evaluate: table3 rows are the log's epochs with the log's validation scores", async () => {
  const out = join(root, "eval-log");
  const before = tf.memory().numTensors;
  assert.equal(
    await main(["--run", run, "--prepared", prepared, "--out", out, "--quiet"], quiet),
    0,
  );
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  const table = JSON.parse(await Deno.readTextFile(join(out, "table3.json")));
  const rows: Row[] = table.rows;
  const log = (await Deno.readTextFile(join(run, "log.jsonl"))).trim().split("\n")
    .map((l) => JSON.parse(l)).filter((r) => r.type === "epoch");
  const unetMicro = rows.filter((r) => r.mode === "micro" && r.model === "U-Net");
  assert.deepEqual(unetMicro.map((r) => r.epoch), [1, 2]);
  assert.deepEqual(log.map((r) => r.epoch), [1, 2]);
  for (const rec of log) {
    for (const [mode, key] of [["micro", "micro"], ["per-image", "perImage"]]) {
      const r = rows.find((x) => x.mode === mode && x.epoch === rec.epoch)!;
      for (const m of ["dsc", "iou", "sensitivity", "specificity", "precision"]) {
        const want = rec.val[key][m];
        const got = r.scores[m];
        assert.ok(
          got !== null && Math.abs(got - want) < 1e-9,
          `epoch ${rec.epoch} ${mode} ${m}: table3 ${got}, log ${want}`,
        );
      }
    }
  }
  assert.deepEqual(rows.filter((r) => r.model === "Otsu").map((r) => r.mode), [
    "micro",
    "per-image",
    "seed",
  ]);
});

Deno.test("evaluate: scores equal a recount from the checkpoints' own predictions", async () => {
  const out = join(root, "eval-recount");
  assert.equal(
    await main(
      ["--run", run, "--prepared", prepared, "--out", out, "--batch-size", "3", "--quiet"],
      quiet,
    ),
    0,
  );
  const rows: Row[] = JSON.parse(await Deno.readTextFile(join(out, "table3.json"))).rows;
  // Independent path: raw shard bytes, normalisation by hand, one forward pass per tile, counts
  // in plain loops.
  const manifest: Manifest = JSON.parse(await Deno.readTextFile(join(prepared, "manifest.json")));
  const images = await Deno.readFile(join(prepared, "images.u8"));
  const masks = await Deno.readFile(join(prepared, "masks.u8"));
  const s = manifest.tileSizePx, px = s * s;
  const { mean, std } = manifest.stats;
  const val = manifest.tiles.filter((t) => t.split === "val");
  for (const epoch of [1, 2]) {
    const model = await loadCheckpointModel(
      join(run, "checkpoints", `epoch-${String(epoch).padStart(4, "0")}`),
    );
    let TP = 0, FP = 0, FN = 0, TN = 0, dscSum = 0, seedSum = 0;
    for (const t of val) {
      const x = new Float32Array(px * 3);
      for (let i = 0; i < px * 3; i++) {
        const c = i % 3;
        x[i] = (images[t.index * px * 3 + i] / 255 - mean[c]) / std[c];
      }
      const logits = model.predict(tf.tensor4d(x, [1, s, s, 3])) as tf.Tensor;
      const z = await logits.data();
      tf.dispose(logits);
      let tp = 0, fp = 0, fn = 0, tn = 0;
      for (let i = 0; i < px; i++) {
        const p = 1 / (1 + Math.exp(-z[i])) > SAVED_THRESHOLD;
        const g = masks[t.index * px + i] === 1;
        if (p && g) tp++;
        else if (p) fp++;
        else if (g) fn++;
        else tn++;
      }
      TP += tp, FP += fp, FN += fn, TN += tn;
      dscSum += 2 * tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn);
      seedSum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    }
    model.dispose();
    const get = (mode: string) => rows.find((r) => r.mode === mode && r.epoch === epoch)!.scores;
    const close = (a: number | null, b: number, what: string) =>
      assert.ok(a !== null && Math.abs(a - b) < 1e-9, `epoch ${epoch} ${what}: ${a} vs ${b}`);
    close(get("micro").dsc, (2 * TP) / (2 * TP + FP + FN), "micro DSC");
    close(get("micro").iou, TP / (TP + FP + FN), "micro IoU");
    close(get("micro").sensitivity, TP / (TP + FN), "micro sensitivity");
    close(get("micro").specificity, TN / (TN + FP), "micro specificity");
    close(get("micro").precision, TP / (TP + FP), "micro precision");
    close(get("per-image").dsc, dscSum / val.length, "per-image DSC");
    close(get("seed").dsc, seedSum / val.length, "seed DSC");
    console.log(`  epoch ${epoch}: TP ${TP} FP ${FP} FN ${FN} TN ${TN}`);
  }
});

Deno.test("evaluate: writes every file report.md links, overlays as PNG", async () => {
  const out = join(root, "eval-files");
  assert.equal(
    await main(["--run", run, "--prepared", prepared, "--out", out, "--quiet"], quiet),
    0,
  );
  const report = await Deno.readTextFile(join(out, "report.md"));
  const links = [...report.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]);
  for (
    const f of [
      "table3.csv",
      "curves/loss_epoch.svg",
      "curves/loss_batch.svg",
      "curves/val_epoch.svg",
      "curves/val_time.svg",
      "dsc_per_tile.svg",
      "overlays/contact_sheet.png",
    ]
  ) assert.ok(links.includes(f), `report.md links ${f}`);
  for (const l of links) assert.ok(await exists(join(out, l)), `${l} exists`);
  const overlays = links.filter((l) => /^overlays\/(best|median|worst)_/.test(l));
  assert.ok(overlays.length >= 1 && overlays.length <= 3);
  for (const o of overlays) {
    const img = decodeImage(await Deno.readFile(join(out, o)), o);
    assert.equal(img.height, 32 + 4); // one strip: tile | prediction | TP/FP/FN, 2 px gaps
    assert.equal(img.width, 3 * 32 + 4 * 2);
  }
  const perTile = (await Deno.readTextFile(join(out, "per_tile.csv"))).trim().split("\r\n");
  assert.equal(perTile[0], "id,vessel_px,otsu_dsc,epoch_1_dsc,epoch_2_dsc");
  assert.equal(perTile.length, 1 + 3);
  // Default output folder is RUN/eval.
  assert.equal(await main(["--run", run, "--prepared", prepared, "--quiet"], quiet), 0);
  assert.ok(await exists(join(run, "eval", "report.md")));
});

Deno.test("evaluate: bad flags and inputs give one line and a non-zero exit", async () => {
  const errors: string[] = [];
  const saved = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    const code = (args: string[]) => runMain((a) => main(a, quiet), args);
    assert.equal(await code([]), 2);
    assert.equal(await code(["--run", run]), 2);
    assert.equal(await code(["--run", run, "--prepared", prepared, "--split", "test"]), 2);
    assert.equal(await code(["--run", run, "--prepared", prepared, "--threshold", "1.5"]), 2);
    assert.equal(await code(["--run", run, "--prepared", prepared, "--batch-size", "0"]), 2);
    assert.equal(await code(["--run", run, "--prepared", prepared, "--bogus"]), 2);
    const out = join(root, "never");
    assert.equal(
      await code(["--run", join(root, "nope"), "--prepared", prepared, "--out", out]),
      1,
    );
    assert.equal(await code(["--run", run, "--prepared", join(root, "nope"), "--out", out]), 1);
    assert.equal(
      await code(["--run", run, "--prepared", prepared, "--out", out, "--baseline", root]),
      1,
    );
    assert.ok(!(await exists(out)), "no output after an error");
  } finally {
    console.error = saved;
  }
  assert.equal(errors.length, 9);
  for (const e of errors) assert.match(e, /^error: /);
  assert.match(errors[6], /checkpoints: no such folder/);
  assert.match(errors[7], /manifest\.json: no such file/);
  assert.match(errors[8], /table1\.md: no such file/);
});
