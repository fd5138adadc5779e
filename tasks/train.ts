/**
 * `deno task train --prepared DIR --out RUN [flags]` — trains the U-Net on a prepared dataset;
 * `deno task train --resume RUN [--epochs N]` continues a run from its latest checkpoint.
 * `--help` lists every flag with its default (see `src/train/config.ts`).
 *
 * Exit codes: 0 done; 1 bad input or a NaN/Inf loss (the last good checkpoint is kept); 2 bad
 * flags; 130 interrupted by Ctrl-C after writing a checkpoint.
 *
 * @module
 */
import { runMain, usage } from "../src/cli.ts";
import { parseTrainArgs, TRAIN } from "../src/train/config.ts";

export { TRAIN };
import { resume, type RunOptions, train } from "../src/train/loop.ts";

/** Entry point; returns the exit code. `opts` lets tests run it quietly or stop it early. */
export async function main(args: string[], opts: RunOptions = {}): Promise<number> {
  const req = parseTrainArgs(args);
  if (req.kind === "help") {
    console.log(usage(TRAIN));
    return 0;
  }
  const runOpts: RunOptions = { ...opts, quiet: opts.quiet ?? req.quiet };
  const result = req.kind === "fresh"
    ? await train(req.config, runOpts)
    : await resume(req.run, req.overrides, runOpts);
  switch (result.status) {
    case "done":
      return 0;
    case "interrupted":
      return 130;
    case "nan":
      return 1;
  }
}

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
