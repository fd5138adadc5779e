import assert from "node:assert/strict";
import { parseTrainingLog, type TrainingLog } from "../report/curves.ts";
import { ARMS } from "./plan.ts";
import {
  type ArmResult,
  armStats,
  dscAtEpoch,
  dscAtTime,
  epochToLoss,
  meanLossOver,
  summarizeQuestion,
} from "./summary.ts";

const scores = (dsc: number) => ({ dsc, iou: 0, sensitivity: 0, specificity: 0, precision: 0 });

/**
 * A fabricated `log.jsonl` in the format of `src/train/loop.ts`: one epoch record per entry of
 * `epochs` ([loss, dsc, timeS]) and the batch losses given.
 */
function fakeLog(epochs: [number, number, number][], batchLosses: number[] = []): TrainingLog {
  const lines: string[] = [
    JSON.stringify({ type: "start", backend: "cpu", params: 10, timeS: 0 }),
  ];
  batchLosses.forEach((loss, i) =>
    lines.push(
      JSON.stringify({
        type: "batch",
        epoch: 1,
        batch: i + 1,
        step: i + 1,
        tiles: 1,
        loss,
        timeS: i,
      }),
    )
  );
  epochs.forEach(([loss, dsc, timeS], i) =>
    lines.push(JSON.stringify({
      type: "epoch",
      epoch: i + 1,
      loss,
      tiles: 8,
      epochS: 1,
      timeS,
      val: { micro: scores(dsc), perImage: scores(dsc), tiles: 4 },
    }))
  );
  return parseTrainingLog(lines.join("\n") + "\n", "fake/log.jsonl");
}

Deno.test("armStats: best/final DSC, times and batch-loss noise by hand", () => {
  const log = fakeLog([[0.9, 0.2, 10], [0.6, 0.5, 20], [0.5, 0.4, 30]], [1, 0.8, 0.9, 0.5]);
  const s = armStats(log);
  assert.equal(s.epochs, 3);
  assert.equal(s.timeS, 30);
  assert.equal(s.sPerEpoch, 10);
  assert.equal(s.finalDsc, 0.4);
  assert.equal(s.bestDsc, 0.5);
  assert.equal(s.bestEpoch, 2);
  // |changes| 0.2, 0.1, 0.4 → median 0.2
  assert.ok(Math.abs(s.batchNoise - 0.2) < 1e-12, String(s.batchNoise));
  assert.ok(Math.abs(meanLossOver(log, 2) - 0.75) < 1e-12);
  assert.ok(Number.isNaN(meanLossOver(log, 4)));
  assert.equal(epochToLoss(log, 0.6), 2);
  assert.ok(Number.isNaN(epochToLoss(log, 0.1)));
  assert.equal(dscAtEpoch(log, 3), 0.4);
  assert.ok(Number.isNaN(dscAtEpoch(log, 4)));
  assert.equal(dscAtTime(log, 25), 0.5);
  assert.ok(Number.isNaN(dscAtTime(log, 5)));
});

const results = (
  q: keyof typeof ARMS,
  logs: Record<string, TrainingLog>,
): ArmResult[] => ARMS[q].map((arm) => ({ arm, log: logs[arm.name], reason: "budget" }));

Deno.test("summary, loss: combo ahead of BCE and focal agrees with the study", () => {
  const s = summarizeQuestion(
    "loss",
    results("loss", {
      bce: fakeLog([[0.5, 0.60, 10], [0.4, 0.70, 20]]),
      focal: fakeLog([[0.1, 0.50, 10], [0.05, 0.65, 20]]),
      combo: fakeLog([[0.7, 0.72, 10], [0.6, 0.80, 20]]),
    }),
  );
  const text = s.sentences.join("\n");
  assert.ok(text.includes("Highest best validation DSC: combo, 0.800 at epoch 2"), text);
  assert.ok(text.includes("then BCE 0.700 (epoch 2), focal 0.650 (epoch 2)"), text);
  assert.ok(text.includes("losses are on different scales"), text);
  assert.deepEqual(s.verdicts.map((v) => v.agrees), [true]);
  assert.match(text, /combo beat BCE and focal — this run agrees/);
});

Deno.test("summary: final DSCs are the last epoch's, not the best (by hand)", () => {
  const s = summarizeQuestion(
    "loss",
    results("loss", {
      bce: fakeLog([[0.5, 0.70, 10], [0.4, 0.55, 20]]), // best 0.70 at epoch 1, final 0.55
      focal: fakeLog([[0.1, 0.50, 10], [0.05, 0.65, 20]]),
      combo: fakeLog([[0.7, 0.80, 10], [0.6, 0.75, 20]]), // best 0.80, final 0.75
    }),
  );
  const text = s.sentences.join("\n");
  assert.ok(text.includes("Final DSCs: BCE 0.550, focal 0.650, combo 0.750."), text);
  assert.ok(text.includes("Highest best validation DSC: combo, 0.800 at epoch 1"), text);
});

Deno.test("summary, loss: BCE ahead disagrees; a gap under 0.01 is a tie", () => {
  const bceWins = summarizeQuestion(
    "loss",
    results("loss", {
      bce: fakeLog([[0.5, 0.80, 10]]),
      focal: fakeLog([[0.1, 0.50, 10]]),
      combo: fakeLog([[0.7, 0.70, 10]]),
    }),
  );
  assert.equal(bceWins.verdicts[0].agrees, false);
  assert.match(bceWins.sentences.join("\n"), /combo beat BCE and focal — this run disagrees/);
  const tie = summarizeQuestion(
    "loss",
    results("loss", {
      bce: fakeLog([[0.5, 0.705, 10]]),
      focal: fakeLog([[0.1, 0.50, 10]]),
      combo: fakeLog([[0.7, 0.70, 10]]),
    }),
  );
  assert.equal(tie.verdicts[0].agrees, undefined);
  assert.match(tie.sentences.join("\n"), /this run is inconclusive.*combo behind by 0\.005, a tie/);
});

Deno.test("summary, loss: arms with different epoch counts are compared at the common epoch", () => {
  const s = summarizeQuestion(
    "loss",
    results("loss", {
      bce: fakeLog([[0.5, 0.5, 10], [0.4, 0.7, 20], [0.3, 0.8, 30]]),
      focal: fakeLog([[0.1, 0.4, 15], [0.05, 0.5, 30]]),
      combo: fakeLog([[0.7, 0.6, 30]]),
    }),
  );
  const text = s.sentences.join("\n");
  // best DSC: BCE 0.8 (epoch 3); but after epoch 1, the only one combo reached, combo leads
  assert.ok(text.includes("Highest best validation DSC: BCE, 0.800 at epoch 3"), text);
  assert.ok(
    text.includes(
      "the arms finished 1–3 epochs; compared at epoch 1, the last one every arm reached. " +
        "Validation DSC at epoch 1: BCE 0.500, focal 0.400, combo 0.600.",
    ),
    text,
  );
  assert.equal(s.verdicts[0].agrees, true);
});

Deno.test("summary, normalisation: loss speed over the common epochs and transform effect", () => {
  const s = summarizeQuestion(
    "normalization",
    results("normalization", {
      // raw has 3 epochs, the others 2: the common range is epochs 1–2
      raw: fakeLog([[0.9, 0.3, 10], [0.7, 0.5, 20], [0.2, 0.6, 30]]),
      normalised: fakeLog([[0.8, 0.5, 10], [0.4, 0.7, 20]]),
      "normalised-all": fakeLog([[0.85, 0.5, 10], [0.5, 0.75, 20]]),
      "normalised-morph": fakeLog([[0.8, 0.4, 10], [0.6, 0.69, 20]]),
    }),
  );
  const text = s.sentences.join("\n");
  // means over epochs 1–2: raw 0.8, normalised 0.6, all 0.675, morph 0.7
  assert.ok(
    text.includes("mean training loss over epochs 1–2 raw 0.8000, normalised 0.6000"),
    text,
  );
  // highest final loss 0.6 (morph): reached at epoch 3 (raw), 2, 2, 2
  assert.ok(text.includes("first epoch with loss ≤ 0.6000: raw 3, normalised 2"), text);
  assert.deepEqual(s.verdicts.map((v) => v.agrees), [true, false]);
  assert.match(text, /normalisation sped up the loss decrease — this run agrees/);
  assert.match(
    text,
    /transforms did not help — this run disagrees.*normalised \+ colour\/morph beat/,
  );
  assert.equal(s.table.length, 5);
  assert.equal(s.table[1][0], "raw");
  assert.equal(s.table[1][1], "3");
});

Deno.test("summary, batch: steadier and slower with larger batches, from the logs", () => {
  const s = summarizeQuestion(
    "batch",
    results("batch", {
      // batch 1: noisy batch losses, fast progress per second
      "batch-1": fakeLog([[0.5, 0.7, 50], [0.4, 0.8, 100]], [1, 0.2, 0.9, 0.1]),
      "batch-4": fakeLog([[0.6, 0.6, 40], [0.5, 0.7, 80]], [1, 0.8, 0.7, 0.5]),
      "batch-16": fakeLog([[0.8, 0.3, 30], [0.7, 0.5, 60], [0.6, 0.6, 90]], [1, 0.95, 0.9, 0.85]),
    }),
  );
  const text = s.sentences.join("\n");
  // common time = the shortest run, 80 s: DSC batch 1 0.7, batch 4 0.7, batch 16 0.5
  assert.ok(text.includes("validation DSC at the common time 80.0 s: batch 1 0.700"), text);
  assert.ok(text.includes("batch 16 0.500"), text);
  assert.deepEqual(s.verdicts.map((v) => v.agrees), [true, true]);
  // |changes|: batch 1 0.8, 0.7, 0.8 → 0.8; batch 4 0.2, 0.1, 0.2 → 0.2; batch 16 0.05 each
  assert.match(text, /noise falls with the batch size \(0\.8000 → 0\.2000 → 0\.0500\)/);
  const noisy16 = summarizeQuestion(
    "batch",
    results("batch", {
      "batch-1": fakeLog([[0.5, 0.7, 50]], [1, 0.2, 0.9, 0.1]),
      "batch-4": fakeLog([[0.6, 0.6, 40]], [1, 0.8, 0.7, 0.5]),
      "batch-16": fakeLog([[0.8, 0.695, 30]], [1, 0.5, 0.9, 0.4]),
    }),
  );
  // not monotone (0.8 → 0.2 → 0.5); at 30 s only batch 16 has validated: the time claim is open
  assert.deepEqual(noisy16.verdicts.map((v) => v.agrees), [false, undefined]);
  assert.match(noisy16.sentences.join("\n"), /steadier — this run disagrees/);
});
