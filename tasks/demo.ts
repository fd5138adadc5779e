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
import { choiceFlag, numberFlag, parseFlags, runMain, wantsHelp } from "../src/cli.ts";
import { UsageError } from "../src/errors.ts";
import type { EvaluateResult } from "../src/evaluate/run.ts";
import { exists, writeFileAtomic, writeJsonAtomic, writeTextFileAtomic } from "../src/io.ts";
import { formatDuration } from "../src/progress.ts";
import { toMarkdown } from "../src/report/table.ts";
import { BACKEND_CHOICES, initBackend } from "../src/train/backends.ts";
import { latestCheckpoint, readCheckpoint } from "../src/train/checkpoint.ts";
import { main as synthMain } from "./synth.ts";
import { main as prepareMain } from "./prepare.ts";
import { main as baselineMain } from "./baseline.ts";
import { main as trainMain } from "./train.ts";
import { main as evaluateMain } from "./evaluate.ts";

/** The demo's defaults. */
export const DEMO_DEFAULTS = { out: "out/demo", tiles: 300, epochs: 8, seed: 0 } as const;

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
    const v = JSON.parse(await Deno.readTextFile(path));
    return v !== null && typeof v === "object" ? v : {};
  } catch {
    return {}; // missing or unreadable: every stage runs
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const USAGE = `deno task demo [flags]

Runs the whole chain on built-in synthetic data: synth → prepare (scale 0.25) → baseline →
train (tiny U-Net) → evaluate, and prints the Otsu-vs-U-Net table and the path of report.md.

  --out DIR                  output folder (default out/demo); finished stages are reused
  --tiles N                  synthetic training tiles (default 300)
  --epochs N                 training epochs (default 8)
  --backend auto|webgpu|wasm|cpu  training backend (default auto)
  --seed N                   seed of the data, split and training (default 0)
  --update-readme            refresh the results block of README.md and the figures in docs/demo/
  --quiet                    no progress output
  --help                     print this text`;

/** Entry point; returns the exit code. */
export async function main(args: string[], opts: DemoOptions = {}): Promise<number> {
  if (wantsHelp(args)) {
    console.log(USAGE);
    return 0;
  }
  const flags = parseFlags(args, {
    out: { type: "string" },
    tiles: { type: "string" },
    epochs: { type: "string" },
    backend: { type: "string" },
    seed: { type: "string" },
    "update-readme": { type: "boolean" },
    quiet: { type: "boolean" },
  });
  const out = typeof flags.out === "string" ? flags.out : DEMO_DEFAULTS.out;
  if (out === "") throw new UsageError("--out needs a directory");
  const tiles = numberFlag(flags.tiles, "tiles", DEMO_DEFAULTS.tiles, {
    min: 10,
    max: 100_000,
    integer: true,
  });
  const epochs = numberFlag(flags.epochs, "epochs", DEMO_DEFAULTS.epochs, {
    min: 1,
    max: 10_000,
    integer: true,
  });
  const backend = choiceFlag(flags.backend, "backend", BACKEND_CHOICES, "auto");
  const seed = numberFlag(flags.seed, "seed", DEMO_DEFAULTS.seed, {
    min: 0,
    max: 0xffffffff,
    integer: true,
  });
  const quiet = flags.quiet === true;
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
  const stagesPath = join(out, "demo-stages.json");
  const stages = await readStages(stagesPath);
  const t0 = performance.now();
  // Seconds each stage took when it last did its work (a reused stage keeps its earlier time, so
  // the reported wall time is that of a full run).
  const stageTimes = (stages.seconds ?? {}) as Record<string, number>;
  stages.seconds = stageTimes;
  const stage = async (name: string, fn: () => Promise<boolean | void>) => {
    const start = performance.now();
    say(`demo: ── ${name} ──`);
    const reused = (await fn()) === true;
    const s = (performance.now() - start) / 1000;
    if (!reused || stageTimes[name] === undefined) stageTimes[name] = +s.toFixed(1);
    await writeJsonAtomic(stagesPath, stages);
    say(`demo: ${name} ${reused ? "reused" : "done"} in ${formatDuration(s)}`);
  };
  const check = (name: string, code: number) => {
    if (code !== 0) throw new Error(`demo: stage ${name} exited with code ${code}`);
  };

  // 1. synth
  const synthKey = { tiles, seed };
  await stage("synth", async () => {
    if (same(stages.synth, synthKey) && (await exists(join(dirs.data, "tile_meta.csv")))) {
      say(`demo: reusing ${dirs.data} (${tiles} tiles, seed ${seed})`);
      return true;
    }
    delete stages.synth;
    await writeJsonAtomic(stagesPath, stages);
    check(
      "synth",
      await synthMain([
        "--out",
        dirs.data,
        "--tiles",
        String(tiles),
        "--seed",
        String(seed),
        "--force",
        ...q,
      ]),
    );
    stages.synth = synthKey;
    await writeJsonAtomic(stagesPath, stages);
    return false;
  });

  // 2. prepare (resumes by itself: unchanged tiles are reused)
  await stage("prepare", async () => {
    check(
      "prepare",
      await prepareMain([
        "--data",
        dirs.data,
        "--out",
        dirs.prepared,
        "--scale",
        "0.25",
        "--seed",
        String(seed),
        ...q,
      ]),
    );
  });

  // 3. baseline (Table 1 on the split the U-Net is evaluated on)
  await stage("baseline", async () => {
    const saved = console.log;
    if (quiet) console.log = () => {};
    try {
      check(
        "baseline",
        await baselineMain([
          "--prepared",
          dirs.prepared,
          "--out",
          dirs.baseline,
          "--split",
          "val",
          "--seed",
          String(seed),
          ...(quiet ? ["--quiet"] : []),
        ]),
      );
    } finally {
      console.log = saved;
    }
  });

  // 4. train
  const info = await initBackend(backend, { log: say });
  const trainKey = { synth: synthKey, epochs, seed, preset: "tiny" };
  await stage("train", async () => {
    const checkpointEpochs = demoCheckpointEpochs(epochs);
    const latest = same(stages.train, trainKey) ? await latestCheckpoint(dirs.run) : undefined;
    const done = latest === undefined ? -1 : (await readCheckpoint(latest)).file.state.epoch;
    const trainOpts = { keepBackend: true, quiet, log: say, print: quiet ? () => {} : undefined };
    if (done >= epochs) {
      say(`demo: reusing ${dirs.run} (${done} epochs done)`);
      return true;
    }
    let code: number;
    if (latest !== undefined) {
      say(`demo: resuming ${dirs.run} from ${latest}`);
      code = await trainMain(["--resume", dirs.run, "--backend", info.name], trainOpts);
    } else {
      // The stamp is written before training so that a killed run resumes next time.
      await Deno.remove(dirs.run, { recursive: true }).catch(() => {});
      stages.train = trainKey;
      await writeJsonAtomic(stagesPath, stages);
      code = await trainMain([
        "--prepared",
        dirs.prepared,
        "--out",
        dirs.run,
        "--preset",
        "tiny",
        "--epochs",
        String(epochs),
        "--checkpoint-epochs",
        checkpointEpochs.join(","),
        "--seed",
        String(seed),
        "--backend",
        info.name,
      ], trainOpts);
    }
    check("train", code);
    return false;
  });

  // 5. evaluate
  let result: EvaluateResult | undefined;
  await stage("evaluate", async () => {
    check(
      "evaluate",
      await evaluateMain([
        "--run",
        dirs.run,
        "--prepared",
        dirs.prepared,
        "--out",
        dirs.eval,
        "--baseline",
        dirs.baseline,
        "--split",
        "val",
        ...q,
      ], { keepBackend: true, log: say, print: () => {}, onResult: (r) => (result = r) }),
    );
  });
  const r = result!;
  const thisRunS = (performance.now() - t0) / 1000;
  const timings = Object.entries(stageTimes);
  const totalS = timings.reduce((a, [, s]) => a + s, 0);

  // README-results.md
  const comparison = toMarkdown(r.comparison);
  const rel = (p: string) => relative(out, p).split(sep).join("/");
  const figures = KEY_FIGURES.map(([src, , caption]) => ({ path: src, caption }));
  const results = resultsMarkdown({
    comparison,
    tiles,
    epochs,
    seed,
    backend: info.name,
    valTiles: r.tileIds.length,
    totalS,
    timings,
    figures,
    report: rel(r.reportPath),
  });
  await writeTextFileAtomic(join(out, "README-results.md"), results);

  if (flags["update-readme"] === true) {
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
    const block = resultsMarkdown({
      comparison,
      tiles,
      epochs,
      seed,
      backend: info.name,
      valTiles: r.tileIds.length,
      totalS,
      timings,
      figures: docFigures,
      heading: "###",
    });
    const updated = replaceReadmeBlock(text, block);
    if (updated === undefined) {
      say(`demo: ${readme} has no ${README_MARKERS[0]} marker; not updated`);
    } else {
      await writeTextFileAtomic(readme, await formatMarkdown(updated));
      say(`demo: updated ${readme} and ${docs}/`);
    }
  }

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
}

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
