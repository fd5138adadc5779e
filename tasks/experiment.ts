/**
 * `deno task experiment` — re-runs the reference study's comparisons (Bell 2023, Figs. 3–5) at a
 * size a 2-core CPU affords: every arm is `--preset tiny` with the same seed and the same
 * wall-clock budget and differs from the others only in the setting compared (see
 * `src/experiment/plan.ts`).
 *
 * ```
 * deno task experiment [--preset study] [--prepared DIR] [--out out/experiment]
 *                      [--budget-minutes 24] [--epochs 40] [--seed 0]
 *                      [--questions normalization,batch,loss] [--backend auto] [--quiet]
 * ```
 *
 * - `--budget-minutes` is the total training time, split evenly over the distinct trainings
 *   (9 for all three questions: 160 s each by default; the default run took 26 minutes of wall
 *   time on a shared 2-core CPU with the wasm backend and the built-in data, 5–8 epochs per
 *   arm); `--epochs` caps each arm's epochs. Timings on a shared machine are noisy, so arms can
 *   finish different epoch counts within the same budget; the summary compares them at the
 *   last epoch all reached as well.
 * - Without `--prepared` the data are made like `deno task demo` does: synth (300 tiles, seed 0)
 *   into `OUT/data`, prepare at scale 0.25 into `OUT/prepared`.
 *
 * Outputs under `--out`: `runs/<question>/<arm>/` (a training run each, with `arm.json`),
 * `<question>.svg` (one comparison figure per question), `experiments.md` (what the curves show,
 * computed from the logs) and `summary.json`. A re-run with the same settings reuses finished arms
 * and continues unfinished ones.
 *
 * @module
 */
import { join } from "node:path";
import { defineTask, flag, parseTask, QUIET, runMain } from "../src/cli.ts";
import { UsageError } from "../src/errors.ts";
import { claimOutput, writeJsonAtomic, writeTextFileAtomic } from "../src/io.ts";
import { makeConfig, type TrainConfig } from "../src/model/run_config.ts";
import { formatDuration } from "../src/progress.ts";
import { readTrainingLog } from "../src/report/curves.ts";
import { BACKEND_FLAG, type BackendChoice, initBackend } from "../src/runtime/backends.ts";
import { formatConfig } from "../src/train/config.ts";
import { openPrepared } from "../src/data/prepared_io.ts";
import { armKey, copyArm, readArmRecord, runArm } from "../src/experiment/arm.ts";
import { questionFigure } from "../src/experiment/figures.ts";
import {
  type Arm,
  armConfig,
  ARMS,
  parseQuestions,
  type Question,
  QUESTIONS,
  trainingKey,
} from "../src/experiment/plan.ts";
import { experimentsMarkdown } from "../src/experiment/report.ts";
import { type ArmResult, summarizeQuestion } from "../src/experiment/summary.ts";
import { BUILTIN_DATA, builtinDirs, hasData, prepareStage, synthStage } from "./builtin_data.ts";

/** Defaults of the flags. */
export const EXPERIMENT_DEFAULTS = {
  out: "out/experiment",
  budgetMinutes: 24,
  epochs: 40,
  seed: 0,
  /** Built-in data: like the demo's. */
  tiles: BUILTIN_DATA.tiles,
  dataSeed: BUILTIN_DATA.seed,
  scale: BUILTIN_DATA.scale,
} as const;

/** The command line of `deno task experiment`. */
export const EXPERIMENT = defineTask({
  synopsis: "deno task experiment [flags]",
  summary:
    "Re-runs the study's comparisons (normalisation, batch size, loss) with tiny U-Nets of the same\n" +
    "seed and wall-clock budget, and writes one figure per question and experiments.md.",
  flags: {
    preset: flag.choice(["study"], {
      default: "study",
      help: "the study's comparisons (the only set; every arm is --preset tiny)",
    }),
    prepared: flag.string({
      arg: "DIR",
      defaultText: "make one under --out like the demo",
      help: "prepared dataset",
    }),
    out: flag.string({ default: EXPERIMENT_DEFAULTS.out, arg: "DIR", help: "output folder" }),
    "budget-minutes": flag.number({
      default: EXPERIMENT_DEFAULTS.budgetMinutes,
      min: 0.001,
      max: 100_000,
      help: "total training time over all distinct arms",
    }),
    epochs: flag.number({
      default: EXPERIMENT_DEFAULTS.epochs,
      min: 1,
      max: 10_000,
      integer: true,
      help: "at most N epochs per arm",
    }),
    seed: flag.seed("training seed of every arm"),
    questions: flag.list({ choices: QUESTIONS, defaultText: "all", help: "questions to run" }),
    backend: BACKEND_FLAG,
    quiet: QUIET,
  },
});

/** Options for tests. */
export interface ExperimentOptions {
  log?: (line: string) => void;
  print?: (text: string) => void;
}

/** The data: the given prepared folder, or built-in synthetic data like the demo's. */
async function dataStage(
  given: string | undefined,
  out: string,
  quiet: boolean,
  say: (line: string) => void,
): Promise<{ prepared: string; dataText: string }> {
  if (given !== undefined) return { prepared: given, dataText: `prepared dataset ${given}` };
  const d = EXPERIMENT_DEFAULTS;
  const dirs = builtinDirs(out);
  if (await hasData(dirs.data)) say(`experiment: reusing ${dirs.data}`);
  else await synthStage(dirs.data, { tiles: d.tiles, seed: d.dataSeed, quiet });
  await prepareStage(dirs.data, dirs.prepared, { seed: d.dataSeed, quiet });
  return {
    prepared: dirs.prepared,
    dataText: `synthetic (\`deno task synth\`, ${d.tiles} tiles, seed ${d.dataSeed}), prepared ` +
      `at scale ${d.scale}`,
  };
}

/** One planned arm: its settings, its config and the key of what it trains. */
interface PlannedArm {
  arm: Arm;
  config: TrainConfig;
  key: string;
}

/**
 * Trains every arm to its budget, sharing identical trainings between questions. Returns
 * `undefined` when Ctrl-C stopped an arm (a checkpoint was written; re-run to continue).
 */
async function runArms(
  plan: PlannedArm[],
  o: { budgetS: number; maxEpochs: number; quiet: boolean; say: (line: string) => void },
): Promise<
  { reasons: Map<string, ArmResult["reason"]>; reused: number; trainS: number } | undefined
> {
  const { budgetS, maxEpochs, quiet, say } = o;
  const trained = new Map<string, string>();
  const reasons = new Map<string, ArmResult["reason"]>();
  let reused = 0, trainS = 0;
  for (const [i, p] of plan.entries()) {
    const run = p.config.out;
    const tag = `[${i + 1}/${plan.length}] ${p.arm.question}/${p.arm.name}`;
    const twin = trained.get(p.key);
    if (twin !== undefined) {
      const prev = await readArmRecord(run);
      const rec = prev?.status === "done" && prev.key === armKey(p.config, budgetS, maxEpochs) &&
          prev.sameAs === twin
        ? prev
        : await copyArm(twin, run);
      reasons.set(run, rec.reason);
      say(`experiment: ${tag}: same settings as ${twin}; its run is used`);
      continue;
    }
    const start = performance.now();
    say(`experiment: ${tag} …`);
    const outcome = await runArm(p.config, budgetS, maxEpochs, {
      keepBackend: true,
      quiet,
      log: quiet ? () => {} : say,
      print: () => {},
    });
    if (outcome.interrupted) {
      say(`experiment: interrupted in ${run}; run the same command again to continue`);
      return undefined;
    }
    trained.set(p.key, run);
    reasons.set(run, outcome.record.reason);
    if (outcome.reused) reused++;
    trainS += outcome.record.timeS ?? 0;
    say(
      `experiment: ${tag} ${
        outcome.reused ? "reused" : "done"
      }: ${outcome.record.epochs} epochs, ` +
        `${formatDuration(outcome.record.timeS ?? 0)} (stopped by ${outcome.record.reason}) in ` +
        formatDuration((performance.now() - start) / 1000),
    );
  }

  return { reasons, reused, trainS };
}

/** Entry point; returns the exit code. */
export async function main(args: string[], opts: ExperimentOptions = {}): Promise<number> {
  const print = opts.print ?? ((text: string) => console.log(text));
  const f = parseTask(EXPERIMENT, args, print);
  if (f === undefined) return 0;
  const { out, seed, quiet } = f;
  const budgetMinutes = f["budget-minutes"];
  const maxEpochs = f.epochs;
  let questions: Question[] = [...QUESTIONS];
  if (f.questions !== undefined) {
    const p = parseQuestions(f.questions.join(","));
    if (p.questions.length === 0) throw new UsageError("--questions needs at least one question");
    questions = p.questions;
  }
  const say = opts.log ?? ((line: string) => console.error(line));
  const t0 = performance.now();
  // Held for the whole experiment; kept on failure (finished arms are reused by a re-run).
  const claim = await claimOutput(out, { inputs: f.prepared === undefined ? [] : [f.prepared] });
  try {
    return await runExperiment(
      { prepared: f.prepared, backend: f.backend, out, seed, quiet, budgetMinutes, maxEpochs },
      questions,
      { say, print, t0 },
    );
  } finally {
    await claim.release();
  }
}

/** The experiment after its flags are parsed and its folder is held. */
async function runExperiment(
  f: {
    prepared: string | undefined;
    backend: BackendChoice;
    out: string;
    seed: number;
    quiet: boolean;
    budgetMinutes: number;
    maxEpochs: number;
  },
  questions: Question[],
  io: { say: (line: string) => void; print: (text: string) => void; t0: number },
): Promise<number> {
  const { out, seed, quiet, budgetMinutes, maxEpochs } = f;
  const { say, print, t0 } = io;

  const { prepared, dataText } = await dataStage(f.prepared, out, quiet, say);
  const ds = await openPrepared(prepared);
  const trainTiles = ds.tiles("train").length, valTiles = ds.tiles("val").length;
  const tileSizePx = ds.manifest.tileSizePx;
  ds.close();

  const info = await initBackend(f.backend, { log: say });
  const base = makeConfig("tiny", {
    prepared,
    out,
    seed,
    epochs: maxEpochs,
    checkpointEpochs: [],
    backend: info.name as BackendChoice,
  });

  // The arms, with identical trainings shared between questions.
  const plan = questions.flatMap((q) =>
    ARMS[q].map((arm) => {
      const config = armConfig(base, arm, join(out, "runs", q, arm.name));
      return { arm, config, key: trainingKey(config) };
    })
  );
  const distinct = new Set(plan.map((p) => p.key)).size;
  const budgetS = (budgetMinutes * 60) / distinct;
  say(
    `experiment: ${plan.length} arms (${distinct} distinct trainings) of ` +
      `${formatDuration(budgetS)} each, at most ${maxEpochs} epochs; backend ${info.name}`,
  );
  const runs = await runArms(plan, { budgetS, maxEpochs, quiet, say });
  if (runs === undefined) return 130;
  const { reasons, reused, trainS } = runs;

  // Figures, summary, experiments.md.
  const summaries = [];
  const figures: Record<string, string> = {};
  for (const q of questions) {
    const results: ArmResult[] = [];
    for (const p of plan.filter((p) => p.arm.question === q)) {
      const log = await readTrainingLog(join(p.config.out, "log.jsonl"));
      results.push({ arm: p.arm, log, reason: reasons.get(p.config.out) });
    }
    const svgPath = join(out, `${q}.svg`);
    await writeTextFileAtomic(svgPath, questionFigure(q, results));
    figures[q] = svgPath;
    summaries.push(summarizeQuestion(q, results));
  }
  const wallS = (performance.now() - t0) / 1000;
  const md = experimentsMarkdown({
    data: dataText,
    trainTiles,
    valTiles,
    tileSizePx,
    backend: info.name,
    seed,
    budgetS,
    maxEpochs,
    distinctArms: distinct,
    wallS,
    trainS,
    reusedArms: reused,
    base: formatConfig({ ...base, out: "runs/<question>/<arm>", epochs: maxEpochs }),
  }, summaries);
  const mdPath = join(out, "experiments.md");
  await writeTextFileAtomic(mdPath, md);
  await writeJsonAtomic(join(out, "summary.json"), {
    budgetS,
    maxEpochs,
    seed,
    backend: info.name,
    wallS: +wallS.toFixed(1),
    trainS: +trainS.toFixed(1),
    questions: summaries.map((s) => ({
      question: s.question,
      figure: figures[s.question],
      sentences: s.sentences,
      verdicts: s.verdicts,
    })),
  });
  for (const s of summaries) {
    print(`\n${s.question}:`);
    for (const line of s.sentences) print(`  - ${line}`);
  }
  print(`\nexperiment: finished in ${formatDuration(wallS)}; ${mdPath}`);
  return 0;
}

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
