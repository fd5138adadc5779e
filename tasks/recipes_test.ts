/**
 * The README's recipes on the demo's synthetic data, end to end through the tasks' `main`s:
 * folds by slide and an ensemble of the fold models, dataset 2 then dataset 1 with `--init-from`,
 * ignore regions, an all-train set and an evaluation-only set.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { initBackend } from "../src/runtime/backends.ts";
import type { Manifest } from "../src/data/prepared.ts";
import { main as synthMain } from "./synth.ts";
import { main as prepareMain } from "./prepare.ts";
import { main as baselineMain } from "./baseline.ts";
import { main as trainMain } from "./train.ts";
import { main as evaluateMain } from "./evaluate.ts";
import { main as predictMain } from "./predict.ts";

await initBackend("wasm");
const root = await Deno.makeTempDir({ prefix: "vessel-seg-recipes-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const quiet = { keepBackend: true, log: () => {}, print: () => {} };
const data = join(root, "data");
const ok = async (name: string, p: Promise<number>) => assert.equal(await p, 0, name);
await ok("synth", synthMain(["--out", data, "--tiles", "40", "--seed", "3", "--quiet"]));
const manifestOf = async (dir: string): Promise<Manifest> =>
  JSON.parse(await Deno.readTextFile(join(dir, "manifest.json")));
const TINY = ["--preset", "tiny", "--depth", "2", "--base-filters", "4", "--epochs", "1"];
const train = (prepared: string, out: string, extra: string[] = []) =>
  trainMain(["--prepared", prepared, "--out", out, ...TINY, "--quiet", ...extra], quiet);

Deno.test("recipes: folds by slide with ignore regions, one model a fold, their ensemble", async () => {
  const runs: string[] = [];
  for (const fold of [0, 1]) {
    const prepared = join(root, `fold${fold}`);
    await ok(
      "prepare",
      prepareMain([
        ...["--data", data, "--out", prepared, "--scale", "0.25", "--quiet"],
        ...[
          "--split",
          "fold",
          "--folds",
          "2",
          "--fold",
          String(fold),
          "--ignore",
          "unsure,glomerulus",
        ],
      ]),
    );
    const m = await manifestOf(prepared);
    const valSlides = new Set(m.tiles.filter((t) => t.split === "val").map((t) => t.sourceWsi));
    const trainSlides = new Set(m.tiles.filter((t) => t.split === "train").map((t) => t.sourceWsi));
    assert.ok(valSlides.size > 0 && [...valSlides].every((s) => !trainSlides.has(s)));
    assert.deepEqual([...valSlides].sort(), m.split.plan![fold].slides);
    const masks = await Deno.readFile(join(prepared, "masks.u8"));
    assert.ok(masks.includes(2), "the demo data has unsure/glomerulus regions to ignore");
    const run = join(root, `run-fold${fold}`);
    await ok("train", train(prepared, run));
    runs.push(run);
  }
  const out = join(root, "ensemble");
  await ok(
    "predict",
    predictMain(
      ["--model", runs.join(","), "--input", join(data, "test"), "--out", out, "--quiet"],
      quiet,
    ),
  );
  assert.ok((await Array.fromAsync(Deno.readDir(join(out, "prob")))).length > 0);
});

Deno.test("recipes: dataset 2, then fine-tune on dataset 1; all-train and evaluation-only sets", async () => {
  const d2 = join(root, "d2"), d1 = join(root, "d1"), evalOnly = join(root, "eval");
  await ok(
    "prepare 2",
    prepareMain([
      "--data",
      data,
      "--out",
      d2,
      "--scale",
      "0.25",
      "--datasets",
      "2",
      "--val-fraction",
      "0",
      "--quiet",
    ]),
  );
  await ok(
    "prepare 1",
    prepareMain(["--data", data, "--out", d1, "--scale", "0.25", "--datasets", "1", "--quiet"]),
  );
  await ok(
    "prepare eval",
    prepareMain([
      "--data",
      data,
      "--out",
      evalOnly,
      "--scale",
      "0.25",
      "--val-fraction",
      "1",
      "--quiet",
    ]),
  );
  assert.ok((await manifestOf(d2)).tiles.every((t) => t.dataset === 2 && t.split === "train"));
  assert.ok((await manifestOf(d1)).tiles.every((t) => t.dataset === 1));
  const base = join(root, "run-d2"), tuned = join(root, "run-d1");
  await ok("train on dataset 2 (no validation)", train(d2, base));
  await ok("fine-tune on dataset 1", train(d1, tuned, ["--init-from", base, "--lr", "1e-4"]));
  await ok(
    "baseline on the all-train set",
    baselineMain(["--prepared", d2, "--out", join(root, "b2"), "--quiet"]),
  );
  await ok(
    "evaluate on the evaluation-only set",
    evaluateMain(
      ["--run", tuned, "--prepared", evalOnly, "--out", join(root, "e"), "--quiet"],
      quiet,
    ),
  );
  await assert.rejects(train(evalOnly, join(root, "run-eval")), /every tile is in val/);
});
