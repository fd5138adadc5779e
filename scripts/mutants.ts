/**
 * `deno task mutants` — re-checks the test suite's teeth: applies each listed mutant (a deliberate
 * bug) to a copy of the tree, runs the one test file that should catch it, and reports caught /
 * missed. Not part of CI (about two minutes); run it after refactors that touch the listed code.
 *
 * ```
 * deno task mutants [--only NAME[,NAME…]] [--keep]
 * ```
 *
 * A mutant whose `find` text is missing (the code moved) is reported as `stale`: update the list;
 * a copy whose test does not load is `broken`.
 * Exit 0 when every mutant is caught, 1 otherwise.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { defineTask, flag, runMain, taskMain } from "../src/cli.ts";

/** One deliberate bug and the test file that must fail with it. */
export interface Mutant {
  name: string;
  file: string;
  find: string;
  replace: string;
  test: string;
}

/** The mutants of issue "Tests that fail when the implementation is wrong", and a few more. */
export const MUTANTS: Mutant[] = [
  {
    name: "non-atomic write",
    file: "src/io.ts",
    find: "    await Deno.writeFile(tmp, data);\n    await Deno.rename(tmp, path);",
    replace: "    await Deno.writeFile(path, data);",
    test: "src/io_test.ts",
  },
  {
    name: "RMSprop eps inside the square root (tfjs)",
    file: "src/train/optim.ts",
    find: "const upd = tf.div(g, tf.add(tf.sqrt(v), EPS));",
    replace: "const upd = tf.div(g, tf.sqrt(tf.add(v, EPS)));",
    test: "src/train/optim_test.ts",
  },
  {
    name: "predict: last window wins",
    file: "src/predict/predict.ts",
    find: "acc[row + c] += values[src + c];\n          cnt[row + c] += 1;",
    replace: "acc[row + c] = values[src + c];\n          cnt[row + c] = 1;",
    test: "src/predict/predict_test.ts",
  },
  {
    name: "rasteriser writes nothing",
    file: "src/data/rasterize.ts",
    find: "  const value = opts.value ?? 1;\n  let scratch = opts.scratch;",
    replace:
      "  const value = opts.value ?? 1;\n  let scratch = opts.scratch;\n  if (value) return mask;",
    test: "src/data/rasterize_test.ts",
  },
  {
    name: "32-bit confusion accumulator",
    file: "src/metrics/confusion.ts",
    find: "  into.tp += c.tp;",
    replace: "  into.tp = (into.tp + c.tp) | 0;",
    test: "src/metrics/confusion_test.ts",
  },
  {
    name: "PNG average filter off by one",
    file: "src/data/png.ts",
    find: "out[i] = cur[i] - ((cur[i - bpp] + prev[i]) >> 1);",
    replace: "out[i] = cur[i] - ((cur[i - bpp] + prev[i] + 1) >> 1);",
    test: "src/data/png_test.ts",
  },
  {
    name: "predict ignores the run's threshold",
    file: "src/predict/run.ts",
    find: "const threshold = opts.threshold ?? inference.threshold;",
    replace: "const threshold = opts.threshold ?? 0.5;",
    test: "tasks/predict_test.ts",
  },
  {
    name: "predict masks at another threshold",
    file: "src/predict/run.ts",
    find: "binarize(prob, threshold, new Uint8Array(width * height), 255)",
    replace: "binarize(prob, threshold + 0.05, new Uint8Array(width * height), 255)",
    test: "tasks/predict_test.ts",
  },
  {
    name: "evaluate ignores the run's threshold",
    file: "src/evaluate/run.ts",
    find: "const threshold = opts.threshold ?? lastMeta!.threshold;",
    replace: "const threshold = opts.threshold ?? 0.5;",
    test: "tasks/evaluate_test.ts",
  },
  {
    name: "experiments.md reports best as final DSC",
    file: "src/experiment/summary.ts",
    find: '${x.r.arm.label} ${f3(x.s.finalDsc)}`).join(", ")}.`;',
    replace: '${x.r.arm.label} ${f3(x.s.bestDsc)}`).join(", ")}.`;',
    test: "src/experiment/summary_test.ts",
  },
  {
    name: "CI prerequisite never enforced",
    file: "src/prerequisite.ts",
    find: 'if (!present && Deno.env.get("CI") === "true") {',
    replace: "if (!present && false) {",
    test: "src/prerequisite_test.ts",
  },
  {
    name: "data layer imports the model",
    file: "src/data/input.ts",
    find: 'import type { PreparedDataset } from "./prepared_io.ts";',
    replace: 'import type { PreparedDataset } from "./prepared_io.ts";\nimport "../model/unet.ts";',
    test: "src/architecture_test.ts",
  },
  {
    name: "truncated weights accepted",
    file: "src/model/artifact.ts",
    find: "  if (actual !== expected) {",
    replace: "  if (actual > expected) {",
    test: "src/model/artifact_test.ts",
  },
  {
    name: "outputs allowed over inputs",
    file: "src/io.ts",
    find: "    if (isWithin(inFolder, out)) {",
    replace: "    if (isWithin(inFolder, out) && false) {",
    test: "tasks/hostile_test.ts",
  },
  {
    name: "no lock taken",
    file: "src/io.ts",
    find: "      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {",
    replace: "      if (false) {",
    test: "tasks/hostile_test.ts",
  },
  {
    name: "a folder read as a CSV",
    file: "src/data/csv.ts",
    find: "    if ((await Deno.stat(path)).isDirectory) {",
    replace: "    if (false) {",
    test: "tasks/hostile_test.ts",
  },
  {
    name: "polygon coordinates unbounded",
    file: "src/data/kaggle.ts",
    find: "        if (Math.abs(v) > MAX_COORDINATE) {",
    replace: "        if (false) {",
    test: "tasks/hostile_test.ts",
  },
  {
    name: "a tie counts as a better checkpoint",
    file: "src/train/loop.ts",
    find: '(select === "loss" ? value < prev.value : value > prev.value)',
    replace: '(select === "loss" ? value <= prev.value : value >= prev.value)',
    test: "src/train/loop_test.ts",
  },
  {
    name: "batch norm's running variance biased (tfjs)",
    file: "src/runtime/fused_ops.ts",
    find: "const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;",
    replace: "const unbiased = tf.mul(variance, 1);",
    test: "src/runtime/fused_ops_test.ts",
  },
  {
    name: "MultiStepLR milestone one epoch late",
    file: "src/train/schedule.ts",
    find: "cfg.stepEpochs.filter((m) => m <= epoch - 1).length",
    replace: "cfg.stepEpochs.filter((m) => m < epoch - 1).length",
    test: "src/train/schedule_test.ts",
  },
  {
    name: "plateau state not resumed",
    file: "src/train/loop.ts",
    find: "  if (p === undefined) return initialPlateau(s.config.optim.lr);",
    replace: "  if (p === undefined || true) return initialPlateau(s.config.optim.lr);",
    test: "src/train/loop_test.ts",
  },
  {
    name: "--ema keeps the average as the raw weights",
    file: "src/train/loop.ts",
    find: "    const raw = rawWeightBytes(s.model); // read before the average goes in",
    replace: "    const raw = new Uint8Array(0);",
    test: "src/train/loop_test.ts",
  },
  {
    name: "--freeze-encoder ignored",
    file: "src/train/loop.ts",
    find: "      .filter((w) => !config.freezeEncoder || !isEncoderWeight(w.name))",
    replace: "      .filter((w) => !config.freezeEncoder || !isEncoderWeight(w.name) || true)",
    test: "src/train/loop_test.ts",
  },
];

const MUTANTS_TASK = defineTask({
  synopsis: "deno task mutants [flags]",
  summary: "Applies each listed mutant to a copy of the tree and runs the test file that should\n" +
    "catch it; reports caught / missed / stale.",
  flags: {
    only: flag.list({ arg: "NAME,…", help: "run only the mutants whose names contain these" }),
    keep: flag.boolean({ help: "keep the copies (printed) for inspection" }),
  },
});

async function trackedFiles(): Promise<string[]> {
  const res = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(res.stdout).split("\0").filter((f) => f !== "");
}

/** A copy of the tracked tree (working-tree contents) with node_modules linked, in a temp dir. */
async function copyTree(files: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "vessel-seg-mutant-" });
  for (const f of files) {
    await Deno.mkdir(join(dir, dirname(f)), { recursive: true });
    await Deno.copyFile(f, join(dir, f)).catch(() => {}); // deleted in the working tree
  }
  await Deno.symlink(join(Deno.cwd(), "node_modules"), join(dir, "node_modules"));
  return dir;
}

/** Runs one mutant; returns "caught" when its test file fails. */
async function runMutant(m: Mutant, files: string[], keep: boolean) {
  const text = await Deno.readTextFile(m.file);
  if (text.split(m.find).length !== 2) return { status: "stale" as const, dir: "" };
  const dir = await copyTree(files);
  try {
    await Deno.writeTextFile(join(dir, m.file), text.replace(m.find, m.replace));
    const res = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-check", "--preload", "scripts/strict_console_assert.ts", m.test],
      cwd: dir,
      env: { NO_COLOR: "1", CI: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
    // A copy that does not even load (a file missing from the copy) proves nothing.
    if (/Module not found|error: Uncaught \(in promise\) TypeError: Import/.test(output)) {
      return { status: "broken" as const, dir };
    }
    return { status: res.success ? "missed" as const : "caught" as const, dir };
  } finally {
    if (!keep) await Deno.remove(dir, { recursive: true });
  }
}

/** Entry point; returns the exit code. */
export const main: (args: string[]) => Promise<number> = taskMain(MUTANTS_TASK, async (f) => {
  const files = await trackedFiles();
  const chosen = MUTANTS.filter((m) => !f.only || f.only.some((o) => m.name.includes(o)));
  let bad = 0;
  for (const m of chosen) {
    const t0 = performance.now();
    const { status, dir } = await runMutant(m, files, f.keep);
    if (status !== "caught") bad++;
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `${status.padEnd(6)} ${m.name} (${m.file} → ${m.test}, ${s} s)${f.keep ? ` ${dir}` : ""}`,
    );
  }
  console.log(`${chosen.length - bad} caught, ${bad} missed or stale`);
  return bad === 0 ? 0 : 1;
});

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
