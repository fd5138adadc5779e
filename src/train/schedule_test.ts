import assert from "node:assert/strict";
import { CONSTANT_LR } from "../model/run_config.ts";
import { initialPlateau, plateauStep, scheduledLr } from "./schedule.ts";

// the settings each case does not name (they do not enter its formula)
const BASE = CONSTANT_LR;
const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs ${b}`);

Deno.test("schedule: cosine as PyTorch's CosineAnnealingLR (by hand)", () => {
  const cfg = { ...BASE, name: "cosine" as const, lrMin: 0.001 };
  // η = 0.001 + 0.099·(1 + cos(π·t/10))/2, t = e − 1
  close(scheduledLr(0.1, 1, 10, cfg), 0.1, "epoch 1 (t 0)");
  close(scheduledLr(0.1, 6, 10, cfg), 0.0505, "epoch 6 (t 5: cos π/2 = 0)");
  close(scheduledLr(0.1, 10, 10, cfg), 0.001 + 0.099 * (1 - 0.9510565162951535) / 2, "epoch 10");
  // with 2 warm-up epochs: 0.05, 0.1, then the cosine over the 8 remaining epochs
  const w = { ...cfg, warmupEpochs: 2 };
  close(scheduledLr(0.1, 1, 10, w), 0.05, "warm-up 1");
  close(scheduledLr(0.1, 2, 10, w), 0.1, "warm-up 2");
  close(scheduledLr(0.1, 7, 10, w), 0.0505, "epoch 7 (t 4 of 8)");
});

Deno.test("schedule: step as PyTorch's MultiStepLR, constant, warm-up (by hand)", () => {
  const step = { ...BASE, name: "step" as const, stepEpochs: [3, 6], stepGamma: 0.1 };
  const lrs = [1, 2, 3, 4, 5, 6, 7].map((e) => scheduledLr(1, e, 7, step));
  [1, 1, 1, 0.1, 0.1, 0.1, 0.01].forEach((want, i) => close(lrs[i], want, `step epoch ${i + 1}`));
  const warm = { ...BASE, warmupEpochs: 4 };
  [0.25, 0.5, 0.75, 1, 1].forEach((want, i) =>
    close(scheduledLr(1, i + 1, 5, warm), want, `warm-up epoch ${i + 1}`)
  );
});

Deno.test("schedule: plateau as PyTorch's ReduceLROnPlateau (mode min, rel threshold 1e-4)", () => {
  const cfg = {
    ...BASE,
    name: "plateau" as const,
    plateauPatience: 2,
    plateauFactor: 0.5,
    lrMin: 0.2,
  };
  let s = initialPlateau(1);
  const lrs: number[] = [];
  // 1 (best), 0.9 (best), 0.95, 0.96 (2 bad), 0.97 (3 > 2: ×0.5, count reset), 0.89995 (not
  // below 0.9·(1 − 1e-4) = 0.89991: bad 1), 0.91 (bad 2), 0.92 (bad 3: ×0.5), 0.93 (bad 1)
  for (const loss of [1, 0.9, 0.95, 0.96, 0.97, 0.89995, 0.91, 0.92, 0.93]) {
    s = plateauStep(s, loss, cfg);
    lrs.push(s.lr);
  }
  assert.deepEqual(lrs, [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]);
  // never below lrMin
  for (let k = 0; k < 10; k++) s = plateauStep(s, 5, cfg);
  assert.equal(s.lr, 0.2);
  assert.equal(scheduledLr(1, 3, 5, cfg, s), 0.2);
});
