import assert from "node:assert/strict";
import { InputError } from "../errors.ts";
import { parseTrainingLog, trainingCurves } from "./curves.ts";

const val = (dsc: number) => ({
  micro: { dsc, iou: dsc / 2, sensitivity: 0.8, specificity: 0.9, precision: 0.7 },
  perImage: { dsc: dsc - 0.1, iou: 0.2, sensitivity: 0.7, specificity: 0.95, precision: 0.6 },
  tiles: 3,
});

// A run interrupted in epoch 2 and resumed from the epoch-1 checkpoint: steps 3–4 and epoch 2 are
// logged twice; the later records win.
const LOG = [
  { type: "start", backend: "wasm", params: 1234, timeS: 0 },
  { type: "batch", epoch: 1, batch: 1, step: 1, tiles: 2, loss: 0.9, gradNorm: 1, timeS: 1 },
  { type: "batch", epoch: 1, batch: 2, step: 2, tiles: 2, loss: 0.8, gradNorm: 1, timeS: 2 },
  { type: "epoch", epoch: 1, loss: 0.85, tiles: 4, epochS: 2, val: val(0.4), timeS: 2.5 },
  { type: "checkpoint", epoch: 1, batchInEpoch: 0, path: "x", timeS: 2.6 },
  { type: "batch", epoch: 2, batch: 1, step: 3, tiles: 2, loss: 0.99, gradNorm: 1, timeS: 3 },
  { type: "epoch", epoch: 2, loss: 0.99, tiles: 4, epochS: 2, val: null, timeS: 4 },
  { type: "start", backend: "cpu", params: 1234, timeS: 2.6 },
  { type: "batch", epoch: 2, batch: 1, step: 3, tiles: 2, loss: 0.7, gradNorm: 1, timeS: 3.5 },
  { type: "batch", epoch: 2, batch: 2, step: 4, tiles: 2, loss: 0.6, gradNorm: 1, timeS: 4.5 },
  { type: "epoch", epoch: 2, loss: 0.65, tiles: 4, epochS: 2, val: val(0.6), timeS: 120 },
  { type: "stop", reason: "done", message: "", epoch: 2, step: 4, timeS: 121 },
].map((r) => JSON.stringify(r)).join("\n") + "\n";

Deno.test("curves: parseTrainingLog keeps the last record per step and epoch", () => {
  const log = parseTrainingLog(LOG, "log.jsonl");
  assert.equal(log.backend, "wasm");
  assert.equal(log.params, 1234);
  assert.deepEqual(log.batches.map((b) => [b.step, b.loss]), [[1, 0.9], [2, 0.8], [3, 0.7], [
    4,
    0.6,
  ]]);
  assert.deepEqual(log.epochs.map((e) => [e.epoch, e.loss, e.timeS]), [[1, 0.85, 2.5], [
    2,
    0.65,
    120,
  ]]);
  assert.equal(log.epochs[1].val?.micro.dsc, 0.6);
});

Deno.test("curves: a malformed line is an InputError naming file and line", () => {
  const bad = LOG.split("\n");
  bad.splice(3, 0, "{not json");
  assert.throws(
    () => parseTrainingLog(bad.join("\n"), "run/log.jsonl"),
    (e: unknown) => e instanceof InputError && /^run\/log\.jsonl:4: bad JSON/.test(e.message),
  );
  assert.throws(
    () => parseTrainingLog('{"type":"epoch","epoch":1,"loss":"x","timeS":1,"val":null}', "l"),
    (e: unknown) => e instanceof InputError && /^l:1: .*field loss/.test(e.message),
  );
  assert.throws(
    () => parseTrainingLog("[1,2]\n", "l"),
    (e: unknown) => e instanceof InputError && /^l:1: record without a type/.test(e.message),
  );
});

Deno.test("curves: one SVG per figure, validation plotted against epoch and minutes", () => {
  const files = trainingCurves(parseTrainingLog(LOG, "log.jsonl"));
  assert.deepEqual(Object.keys(files).sort(), [
    "loss_batch.svg",
    "loss_epoch.svg",
    "loss_time.svg",
    "val_epoch.svg",
    "val_time.svg",
  ]);
  for (const svg of Object.values(files)) assert.ok(svg.startsWith("<svg"));
  for (const name of ["DSC micro", "DSC per-image", "Specificity micro", "Sensitivity per-image"]) {
    assert.ok(files["val_epoch.svg"].includes(`data-name="${name}"`), name);
  }
  assert.ok(files["val_time.svg"].includes("minutes since start"));
  // 8 legend entries would cover the curves near 1.0: the legend sits right of the plot area.
  const legend = files["val_epoch.svg"].split('<g class="legend">')[1];
  const xs = [...legend.matchAll(/<text x="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(xs.length, 8);
  const plotRight = 780 - 160;
  for (const x of xs) assert.ok(x > plotRight, `legend text at x ${x}`);
  // loss_batch: 4 points → 4 path commands in the one series
  const path = /<g class="series" data-name="batch loss">\n<path d="([^"]*)"/.exec(
    files["loss_batch.svg"],
  );
  assert.equal(path?.[1].match(/[ML]/g)?.length, 4);
  // no validated epoch: no validation charts
  const none = trainingCurves({
    epochs: [{ epoch: 1, loss: 1, timeS: 1, val: null }],
    batches: [],
  });
  assert.ok(!("val_epoch.svg" in none) && "loss_epoch.svg" in none);
});
