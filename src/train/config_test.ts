import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { parseTrainArgs, PRESET_VALUES, type TrainConfig } from "./config.ts";

const base = ["--prepared", "p", "--out", "r"];
function fresh(args: string[]): TrainConfig {
  const r = parseTrainArgs([...base, ...args]);
  assert.equal(r.kind, "fresh");
  return (r as { config: TrainConfig }).config;
}

Deno.test("config: defaults are the study's setup", () => {
  const c = fresh([]);
  assert.deepEqual(c.model, { depth: 4, baseFilters: 64, batchNorm: true, seed: 0 });
  assert.deepEqual(c.optim, {
    name: "rmsprop",
    lr: 1e-5,
    momentum: 0.999,
    weightDecay: 1e-8,
    clipNorm: 1,
  });
  assert.equal(c.loss.name, "combo");
  assert.equal(c.loss.comboAlpha, 0.5);
  assert.equal(c.loss.comboBeta, 0.5);
  assert.equal(c.loss.focalAlpha, 0.8);
  assert.equal(c.loss.focalGamma, 2);
  assert.deepEqual(c.checkpointEpochs, [40, 80, 160]);
  assert.equal(c.normalize, "dataset");
  assert.equal(c.augment, "none");
  assert.equal(c.backend, "auto");
});

Deno.test("config: presets and explicit flags override them", () => {
  const t = fresh(["--preset", "tiny", "--base-filters", "12", "--no-batch-norm", "--seed", "5"]);
  assert.equal(t.model.depth, PRESET_VALUES.tiny.model.depth);
  assert.equal(t.model.baseFilters, 12);
  assert.equal(t.model.batchNorm, false);
  assert.equal(t.model.seed, 5);
  assert.equal(t.optim.name, "adam");
  const s = fresh([
    "--optimizer",
    "sgd",
    "--checkpoint-epochs",
    "80,40,40",
    "--loss",
    "focal",
    "--focal-variant",
    "mean-bce",
  ]);
  assert.equal(s.optim.momentum, 0.9); // sgd's own default, not rmsprop's 0.999
  assert.deepEqual(s.checkpointEpochs, [40, 80]);
  assert.equal(s.loss.focalVariant, "mean-bce");
});

Deno.test("config: bad flags are usage errors naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [[...base, "--bogus", "1"], /bogus/],
    [[...base, "--loss", "mse"], /--loss must be one of/],
    [[...base, "--lr", "abc"], /--lr must be a number/],
    [[...base, "--batch-size", "0"], /--batch-size must be at least 1/],
    [[...base, "--depth", "2.5"], /--depth must be an integer/],
    [[...base, "--checkpoint-epochs", "10,x"], /checkpoint-epochs/],
    [[...base, "--batch-norm", "--no-batch-norm"], /contradict/],
    [["--out", "r"], /--prepared is required/],
    [["--prepared", "p"], /--out is required/],
    [["--resume", "r", "--out", "other"], /--out other differs from --resume r/],
  ];
  for (const [args, re] of cases) {
    assert.throws(
      () => parseTrainArgs(args),
      (e) => e instanceof UsageError && re.test(e.message),
      args.join(" "),
    );
  }
  const r = parseTrainArgs(["--resume", "r", "--epochs", "9"]);
  assert.deepEqual(r, { kind: "resume", run: "r", overrides: { epochs: 9 }, quiet: false });
  // the original command line with --resume added: its flags are checked against the saved config
  const again = parseTrainArgs([
    ...["--prepared", "p", "--out", "r", "--preset", "tiny", "--lr", "0.01", "--no-batch-norm"],
    ...["--checkpoint-epochs", "4,2", "--resume", "r"],
  ]);
  assert.deepEqual(again, {
    kind: "resume",
    run: "r",
    overrides: {
      prepared: "p",
      same: [
        { flag: "preset", path: "preset", value: "tiny" },
        { flag: "no-batch-norm", path: "model.batchNorm", value: false },
        { flag: "lr", path: "optim.lr", value: 0.01 },
        { flag: "checkpoint-epochs", path: "checkpointEpochs", value: [2, 4] },
      ],
    },
    quiet: false,
  });
});

Deno.test("config: --micro-batch auto|N and --memory-budget; both may accompany --resume", () => {
  const base = ["--prepared", "p", "--out", "r"];
  const fresh = (extra: string[]) => {
    const r = parseTrainArgs([...base, ...extra]);
    assert.equal(r.kind, "fresh");
    return (r as { config: TrainConfig }).config;
  };
  assert.equal(fresh([]).microBatch, "auto");
  assert.equal(fresh([]).memoryBudgetMiB, 0);
  assert.equal(fresh(["--micro-batch", "4"]).microBatch, 4);
  assert.equal(fresh(["--memory-budget", "512"]).memoryBudgetMiB, 512);
  for (const bad of ["0", "x", "2.5", "-1"]) {
    assert.throws(
      () => parseTrainArgs([...base, "--micro-batch", bad]),
      (e) => e instanceof UsageError && e.message.includes(`--micro-batch: "${bad}"`),
      bad,
    );
  }
  const r = parseTrainArgs(["--resume", "r", "--micro-batch", "2", "--memory-budget", "100"]);
  assert.equal(r.kind, "resume");
  assert.deepEqual((r as { overrides: unknown }).overrides, {
    microBatch: 2,
    memoryBudgetMiB: 100,
  });
});
