/**
 * `deno task serve` — the browser page (`web/`) and a trained model, served on loopback only
 * (the server is `src/serve/server.ts`).
 *
 * ```
 * deno task serve [--port 8000] [--model RUN|RUN/checkpoints/NAME] [--prepared DIR] [--threshold X]
 * ```
 *
 * @module
 */
import { normalize as normalizePath } from "node:path";
import { defineTask, flag, runMain, taskMain } from "../src/cli.ts";
import { resolveModel, startServer } from "../src/serve/server.ts";

export { resolveModel, startServer };

/** The command line of `deno task serve`. */
export const SERVE = defineTask({
  synopsis: "deno task serve [--port 8000] [--model RUN] [flags]",
  summary: "Serves the browser page and a trained model on http://127.0.0.1:PORT/ (loopback only).",
  flags: {
    port: flag.number({
      default: 8000,
      min: 0,
      max: 65535,
      integer: true,
      help: "TCP port, 0 = any free one",
    }),
    model: flag.string({
      arg: "PATH",
      help: "a training run (its best, else latest checkpoint) or one checkpoint folder; " +
        "without it the page says there is no model",
    }),
    prepared: flag.string({
      arg: "DIR",
      help: "prepared dataset the run was trained on, for checkpoints without inference metadata",
    }),
    threshold: flag.number({
      min: 0,
      max: 1,
      defaultText: "the run's saved threshold",
      help: "probability threshold of the masks",
    }),
  },
});

/** Entry point; returns the exit code. Serves until interrupted (Ctrl-C). */
export const main: (args: string[]) => Promise<number> = taskMain(SERVE, async (f) => {
  const model = f.model === undefined
    ? undefined
    : await resolveModel(normalizePath(f.model), { prepared: f.prepared, threshold: f.threshold });
  const ac = new AbortController();
  const stop = () => ac.abort();
  Deno.addSignalListener("SIGINT", stop);
  try {
    const { url, server } = await startServer({ port: f.port, model, signal: ac.signal });
    console.log(
      model === undefined
        ? `serve: ${url} (no model: pass --model RUN)`
        : `serve: ${url} — ${model.dir} (epoch ${model.meta.epoch}), tiles ${model.meta.tileSizePx} ` +
          `px at scale ${model.meta.scale}, threshold ${model.meta.threshold}`,
    );
    await server.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
  }
  return 0;
});

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
