/**
 * `deno task demo` — the whole chain on built-in synthetic data, in-process, each stage through
 * its task's exported `main`:
 *
 * synth (`--tiles` tiles at `--seed`) → prepare (scale 0.25, like the study) → baseline (Table 1
 * on the validation split) → train (`--preset tiny`: U-Net depth 3, base 8, Adam, `--epochs`,
 * checkpoints at ¼, ½ and all of the epochs) → evaluate (Table 3, curves, overlays, report.md).
 *
 * ```
 * deno task demo [--out out/demo] [--tiles 300] [--epochs 8] [--backend auto] [--seed 0]
 *                [--update-readme] [--quiet]
 * ```
 *
 * Outputs under `--out`: `data/` (Kaggle layout), `prepared/`, `baseline/`, `run/` (training run),
 * `eval/` (report.md and figures), `README-results.md` (the Otsu-vs-U-Net table and figure links,
 * for embedding), `demo-stages.json` (what each finished stage was run with). A re-run reuses
 * finished stages: synth and train are skipped when their settings are unchanged (train resumes
 * when it stopped early); prepare resumes by itself; baseline and evaluate are cheap and rerun.
 *
 * `--update-readme` also copies the key figures into `docs/demo/` and replaces the block between
 * `<!-- DEMO-RESULTS -->` and `<!-- /DEMO-RESULTS -->` in `README.md` (inserting the closing
 * marker after a lone opening one) with the results and links to those copies.
 *
 * Ends by printing the Otsu-vs-U-Net table and the path of report.md.
 *
 * @module
 */
import { join, relative, sep } from "node:path";
import { defineTask, flag, QUIET, runMain, taskMain } from "../src/cli.ts";
import type { EvaluateResult } from "../src/evaluate/run.ts";
import { readJson, writeFileAtomic, writeJsonAtomic, writeTextFileAtomic } from "../src/io.ts";
import { latestCheckpoint, readCheckpointFile } from "../src/model/artifact.ts";
import { makeConfig } from "../src/model/run_config.ts";
import { formatDuration } from "../src/progress.ts";
import { toMarkdown } from "../src/report/table.ts";
import { BACKEND_FLAG, type BackendChoice, initBackend } from "../src/runtime/backends.ts";
import { resume, type RunOptions, train } from "../src/train/loop.ts";
import { BUILTIN_DATA, hasData, prepareStage, synthStage } from "./builtin_data.ts";
import { main as baselineMain } from "./baseline.ts";
import { main as evaluateMain } from "./evaluate.ts";

/** The demo's defaults. */
export const DEMO_DEFAULTS = {
  out: "out/demo",
  tiles: BUILTIN_DATA.tiles,
  epochs: 8,
  seed: BUILTIN_DATA.seed,
} as const;

/** Opening and closing markers of the README block `--update-readme` refreshes. */
export const README_MARKERS = ["<!-- DEMO-RESULTS -->", "<!-- /DEMO-RESULTS -->"] as const;

/** Figures copied to `docs/demo/` by `--update-readme`: source (relative to `--out`) → name. */
const KEY_FIGURES: [string, string, string][] = [
  ["eval/curves/val_epoch.svg", "val_epoch.svg", "Validation scores per epoch"],
  ["eval/curves/loss_batch.svg", "loss_batch.svg", "Loss of every batch"],
  ["eval/dsc_per_tile_hist.svg", "dsc_per_tile_hist.svg", "Per-tile DSC, Otsu vs U-Net"],
  ["eval/overlays/contact_sheet.png", "contact_sheet.png", "Best, median and worst tile"],
];

/** Options for tests: where lines go, and the README/docs paths `--update-readme` touches. */
export interface DemoOptions {
  log?: (line: string) => void;
  print?: (text: string) => void;
  /** Default `README.md`. */
  readme?: string;
  /** Default `docs/demo`. */
  docsDir?: string;
}

/** The checkpoint epochs of the demo run: ¼, ½ and all of `epochs` (rounded up, deduplicated). */
export function demoCheckpointEpochs(epochs: number): number[] {
  return [...new Set([Math.ceil(epochs / 4), Math.ceil(epochs / 2), epochs])].sort((a, b) => a - b);
}

/**
 * Replaces the text between the README markers with `block`. A lone opening marker gets the
 * closing one after the block. Returns `undefined` when the README has no opening marker.
 *
 * @example
 * ```ts
 * import { replaceReadmeBlock } from "./demo.ts";
 * const out = replaceReadmeBlock("a\n<!-- DEMO-RESULTS -->\nb\n", "X");
 * console.assert(out === "a\n<!-- DEMO-RESULTS -->\nX\n<!-- /DEMO-RESULTS -->\nb\n");
 * ```
 */
export function replaceReadmeBlock(readme: string, block: string): string | undefined {
  const [open, close] = README_MARKERS;
  const a = readme.indexOf(open);
  if (a < 0) return undefined;
  const start = a + open.length;
  const b = readme.indexOf(close, start);
  const body = `\n${block.trim()}\n`;
  if (b < 0) {
    const rest = readme.slice(start).replace(/^\n/, "");
    return `${readme.slice(0, start)}${body}${close}\n${rest}`;
  }
  return `${readme.slice(0, start)}${body}${readme.slice(b)}`;
}

type Stages = Record<string, unknown>;

async function readStages(path: string): Promise<Stages> {
  try {
    const v = await readJson<Stages | null>(path);
    return v !== null && typeof v === "object" ? v : {};
  } catch {
    return {}; // missing or unreadable: every stage runs
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The command line of `deno task demo`. */
export const DEMO = defineTask({
  synopsis: "deno task demo [flags]",
  summary:
    "Runs the whole chain on built-in synthetic data: synth → prepare (scale 0.25) → baseline →\n" +
    "train (tiny U-Net) → evaluate, and prints the Otsu-vs-U-Net table and the path of report.md.",
  flags: {
    out: flag.string({
      default: DEMO_DEFAULTS.out,
      arg: "DIR",
      help: "output folder; finished stages are reused",
    }),
    tiles: flag.number({
      default: DEMO_DEFAULTS.tiles,
      min: 10,
      max: 100_000,
      integer: true,
      help: "synthetic training tiles",
    }),
    epochs: flag.number({
      default: DEMO_DEFAULTS.epochs,
      min: 1,
      max: 10_000,
      integer: true,
      help: "training epochs",
    }),
    backend: BACKEND_FLAG,
    seed: flag.seed("seed of the data, split and training"),
    "update-readme": flag.boolean({
      help: "refresh the results block of README.md and the figures in docs/demo/",
    }),
    quiet: QUIET,
  },
});

type Say = (line: string) => void;

/** The stamp file `demo-stages.json`: what each finished stage ran with, and its seconds. */
class StageLog {
  readonly times: Record<string, number>;
  private constructor(readonly path: string, readonly stages: Stages, private say: Say) {
    this.times = (stages.seconds ?? {}) as Record<string, number>;
    stages.seconds = this.times;
  }
  static async open(path: string, say: Say): Promise<StageLog> {
    return new StageLog(path, await readStages(path), say);
  }
  save(): Promise<void> {
    return writeJsonAtomic(this.path, this.stages);
  }
  /**
   * Runs a stage and records its time. A stage returning `true` was reused: it keeps its earlier
   * time, so the reported wall time is that of a full run.
   */
  async run(name: string, fn: () => Promise<boolean | void>): Promise<void> {
    const start = performance.now();
    this.say(`demo: ── ${name} ──`);
    const reused = (await fn()) === true;
    const s = (performance.now() - start) / 1000;
    if (!reused || this.times[name] === undefined) this.times[name] = +s.toFixed(1);
    await this.save();
    this.say(`demo: ${name} ${reused ? "reused" : "done"} in ${formatDuration(s)}`);
  }
}

/** Runs `fn` with `console.log` silenced when `quiet`. */
async function withQuietLog<T>(quiet: boolean, fn: () => Promise<T>): Promise<T> {
  const saved = console.log;
  if (quiet) console.log = () => {};
  try {
    return await fn();
  } finally {
    console.log = saved;
  }
}

function check(name: string, code: number): void {
  if (code !== 0) throw new Error(`demo: stage ${name} exited with code ${code}`);
}

/** The train stage: fresh, resumed after an interruption, or reused when already done. */
async function trainStage(
  log: StageLog,
  dirs: { prepared: string; run: string },
  key: Record<string, unknown>,
  opts: { epochs: number; seed: number; backend: string; quiet: boolean; say: Say },
): Promise<boolean> {
  const latest = same(log.stages.train, key) ? await latestCheckpoint(dirs.run) : undefined;
  const done = latest === undefined ? -1 : (await readCheckpointFile(latest)).state.epoch;
  const runOpts: RunOptions = {
    keepBackend: true,
    quiet: opts.quiet,
    log: opts.say,
    ...(opts.quiet ? { print: () => {} } : {}),
  };
  if (done >= opts.epochs) {
    opts.say(`demo: reusing ${dirs.run} (${done} epochs done)`);
    return true;
  }
  let result;
  if (latest !== undefined) {
    opts.say(`demo: resuming ${dirs.run} from ${latest}`);
    result = await resume(dirs.run, { backend: opts.backend as BackendChoice }, runOpts);
  } else {
    // The stamp is written before training so that a killed run resumes next time.
    await Deno.remove(dirs.run, { recursive: true }).catch(() => {});
    log.stages.train = key;
    await log.save();
    const config = makeConfig("tiny", {
      prepared: dirs.prepared,
      out: dirs.run,
      epochs: opts.epochs,
      checkpointEpochs: demoCheckpointEpochs(opts.epochs),
      seed: opts.seed,
      backend: opts.backend as BackendChoice,
    });
    result = await train(config, runOpts);
  }
  check("train", result.status === "done" ? 0 : result.status === "interrupted" ? 130 : 1);
  return false;
}

/** What the results block says (everything but the figures). */
type ResultFacts = Omit<Parameters<typeof resultsMarkdown>[0], "figures" | "report" | "heading">;

/**
 * `--update-readme`: copies the key figures into `docs/demo/` and replaces the README's results
 * block with the results and links to those copies.
 */
async function updateReadme(
  out: string,
  facts: ResultFacts,
  opts: DemoOptions,
  say: Say,
): Promise<void> {
  const readme = opts.readme ?? "README.md";
  const docs = opts.docsDir ?? join("docs", "demo");
  const docFigures: { path: string; caption: string }[] = [];
  for (const [src, name, caption] of KEY_FIGURES) {
    await writeFileAtomic(join(docs, name), await Deno.readFile(join(out, src)));
    docFigures.push({
      path: `${relative(join(readme, ".."), docs).split(sep).join("/")}/${name}`,
      caption,
    });
  }
  const text = await Deno.readTextFile(readme);
  const block = resultsMarkdown({ ...facts, figures: docFigures, heading: "###" });
  const updated = replaceReadmeBlock(text, block);
  if (updated === undefined) {
    say(`demo: ${readme} has no ${README_MARKERS[0]} marker; not updated`);
  } else {
    await writeTextFileAtomic(readme, await formatMarkdown(updated));
    say(`demo: updated ${readme} and ${docs}/`);
  }
}

/** Entry point; returns the exit code. */
export const main: (args: string[], opts?: DemoOptions) => Promise<number> = taskMain(
  DEMO,
  async (f, opts) => {
    const { out, tiles, epochs, seed, quiet } = f;
    const say = opts.log ?? ((line: string) => console.error(line));
    const print = opts.print ?? ((text: string) => console.log(text));
    const q = quiet ? ["--quiet"] : [];

    const dirs = {
      data: join(out, "data"),
      prepared: join(out, "prepared"),
      baseline: join(out, "baseline"),
      run: join(out, "run"),
      eval: join(out, "eval"),
    };
    await Deno.mkdir(out, { recursive: true });
    const log = await StageLog.open(join(out, "demo-stages.json"), say);
    const t0 = performance.now();

    // 1. synth
    const synthKey = { tiles, seed };
    await log.run("synth", async () => {
      if (same(log.stages.synth, synthKey) && (await hasData(dirs.data))) {
        say(`demo: reusing ${dirs.data} (${tiles} tiles, seed ${seed})`);
        return true;
      }
      delete log.stages.synth;
      await log.save();
      await synthStage(dirs.data, { tiles, seed, quiet });
      log.stages.synth = synthKey;
      await log.save();
      return false;
    });

    // 2. prepare (resumes by itself: unchanged tiles are reused)
    await log.run("prepare", () => prepareStage(dirs.data, dirs.prepared, { seed, quiet }));

    // 3. baseline (Table 1 on the split the U-Net is evaluated on)
    await log.run("baseline", async () => {
      const args = ["--prepared", dirs.prepared, "--out", dirs.baseline, "--split", "val"];
      check(
        "baseline",
        await withQuietLog(quiet, () => baselineMain([...args, "--seed", String(seed), ...q])),
      );
    });

    // 4. train
    const info = await initBackend(f.backend, { log: say });
    const trainKey = { synth: synthKey, epochs, seed, preset: "tiny" };
    await log.run(
      "train",
      () => trainStage(log, dirs, trainKey, { epochs, seed, backend: info.name, quiet, say }),
    );

    // 5. evaluate
    let result: EvaluateResult | undefined;
    await log.run("evaluate", async () => {
      const args = ["--run", dirs.run, "--prepared", dirs.prepared, "--out", dirs.eval];
      check(
        "evaluate",
        await evaluateMain([...args, "--baseline", dirs.baseline, "--split", "val", ...q], {
          keepBackend: true,
          log: say,
          print: () => {},
          onResult: (r) => (result = r),
        }),
      );
    });
    const stageTimes = log.times;
    const r = result!;
    const thisRunS = (performance.now() - t0) / 1000;
    const timings = Object.entries(stageTimes);
    const totalS = timings.reduce((a, [, s]) => a + s, 0);

    // README-results.md
    const comparison = toMarkdown(r.comparison);
    const rel = (p: string) => relative(out, p).split(sep).join("/");
    const figures = KEY_FIGURES.map(([src, , caption]) => ({ path: src, caption }));
    const facts: ResultFacts = {
      comparison,
      tiles,
      epochs,
      seed,
      backend: info.name,
      valTiles: r.tileIds.length,
      totalS,
      timings,
    };
    const results = resultsMarkdown({ ...facts, figures, report: rel(r.reportPath) });
    await writeTextFileAtomic(join(out, "README-results.md"), results);

    if (f["update-readme"]) await updateReadme(out, facts, opts, say);

    print(`\nOtsu vs U-Net on the validation split (${r.tileIds.length} tiles):\n`);
    print(comparison);
    print(
      `demo: finished in ${formatDuration(thisRunS)}` +
        (Math.abs(thisRunS - totalS) > 1
          ? ` (stages reused; a full run took ${formatDuration(totalS)})`
          : ""),
    );
    print(`report: ${r.reportPath}`);
    return 0;
  },
);

/**
 * Formats Markdown the way `deno fmt` does (using the running Deno, reading stdin), so a refreshed
 * README stays `deno fmt --check` clean. Falls back to the text as given if formatting fails.
 */
export async function formatMarkdown(text: string): Promise<string> {
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--ext=md", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const { code, stdout } = await child.output();
    return code === 0 ? new TextDecoder().decode(stdout) : text;
  } catch {
    return text;
  }
}

/** The results block for `README-results.md` and the README. */
export function resultsMarkdown(input: {
  comparison: string;
  tiles: number;
  epochs: number;
  seed: number;
  backend: string;
  valTiles: number;
  totalS: number;
  timings: [string, number][];
  figures: { path: string; caption: string }[];
  report?: string;
  heading?: string;
}): string {
  const h = input.heading ?? "#";
  const lines = [
    `${h} Demo results`,
    "",
    `Written by \`deno task demo\` (synthetic data: ${input.tiles} tiles, seed ${input.seed}; ` +
    `prepared at scale 0.25; U-Net \`--preset tiny\`, ${input.epochs} epochs on ${input.backend}); ` +
    `scored on the ${input.valTiles} validation tiles. Not typed by hand: re-run the demo to ` +
    "refresh it.",
    "",
    input.comparison.trimEnd(),
    "",
    `Wall time of a full run ${formatDuration(input.totalS)} (` +
    input.timings.map(([n, s]) => `${n} ${formatDuration(s)}`).join(", ") + ").",
    "",
  ];
  if (input.report) lines.push(`Full report: [${input.report}](${input.report})`, "");
  for (const f of input.figures) lines.push(`![${f.caption}](${f.path})`, "");
  return lines.join("\n");
}

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
