/**
 * `deno task export` — a trained model for other tools: an ONNX graph (ONNX runtimes, OpenCV's
 * dnn module, TensorRT) or a PyTorch checkpoint in milesial/Pytorch-UNet's parameter names.
 *
 * ```
 * deno task export --model RUN[/checkpoints/NAME] --format onnx|pth --out FILE [--quiet]
 * ```
 *
 * See `src/model/onnx.ts` (the graph, its input and its metadata) and `src/model/torch_state.ts`
 * (the names and layouts). The reverse is `deno task train --init-from FILE.pth`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as cli from "../src/cli.ts";
import { flag, QUIET, type TaskOptions } from "../src/cli.ts";
import { UsageError } from "../src/errors.ts";
import { dirname } from "node:path";
import { checkFileNotInInputs, checkOutputFile, outputFault, writeFileAtomic } from "../src/io.ts";
import {
  describeArtifact,
  describeProvenance,
  loadCheckpointModel,
} from "../src/model/artifact.ts";
import { unetOnnx } from "../src/model/onnx.ts";
import { encodePth, unetStateDict } from "../src/model/torch_state.ts";
import { countParams } from "../src/model/unet.ts";

/** What `deno task export` wrote. */
export interface ExportResult {
  checkpoint: string;
  format: "onnx" | "pth";
  out: string;
  bytes: number;
  params: number;
}

/** The command line of `deno task export`. */
export const EXPORT = cli.defineTask({
  synopsis: "deno task export --model RUN --format onnx|pth --out FILE",
  summary:
    "Writes a trained U-Net for other tools. onnx: input [N, 3, H, W] float32 normalised as in\n" +
    "training, output logits [N, 1, H, W], normalisation, scale and threshold in metadata_props.\n" +
    "pth: a PyTorch state_dict in milesial/Pytorch-UNet's names (UNet(n_channels=3, n_classes=1)\n" +
    "loads it with load_state_dict(torch.load(FILE))).",
  flags: {
    model: flag.string({
      required: true,
      arg: "RUN|CHECKPOINT",
      help: "a training run (its best, else latest checkpoint) or RUN/checkpoints/NAME",
    }),
    format: flag.choice(["onnx", "pth"], { required: true, help: "onnx or pth" }),
    out: flag.string({ required: true, arg: "FILE", help: "the file to write" }),
    quiet: QUIET,
  },
});

/** Entry point; returns the exit code. */
export const main: (args: string[], opts?: TaskOptions<ExportResult>) => Promise<number> = cli
  .taskMain(
    EXPORT,
    async (f, opts) => {
      const say = opts.log ?? (f.quiet ? () => {} : (line: string) => console.error(line));
      await checkOutputFile(f.out, "--out");
      const a = await describeArtifact(f.model);
      await checkFileNotInInputs(f.out, [a.dir], "--out");
      tf.enableProdMode(); // silences tfjs's "install tfjs-node" banner; no effect on results
      if (!opts.keepBackend) await tf.setBackend("cpu");
      const format = f.format as "onnx" | "pth";
      const model = await loadCheckpointModel(a.dir);
      let bytes: Uint8Array;
      let params: number;
      try {
        params = countParams(model);
        const cfg = a.config.model;
        try {
          bytes = format === "onnx"
            ? unetOnnx(model, cfg, {
              ...a.inference,
              provenance: { summary: describeProvenance(a), ...(a.provenance ?? {}) },
            })
            : encodePth(unetStateDict(model, cfg, a.file.state.step));
        } catch (e) {
          if (e instanceof RangeError) throw new UsageError(`--format ${format}: ${e.message}`);
          throw e;
        }
      } finally {
        model.dispose();
      }
      await writeFileAtomic(f.out, bytes).catch((e) => {
        throw outputFault(e, dirname(f.out));
      });
      say(`export: ${a.dir}: ${describeProvenance(a)}`);
      cli.deliver(
        opts,
        { checkpoint: a.dir, format, out: f.out, bytes: bytes.length, params },
        `exported ${a.dir} (${params} parameters) as ${format} to ${f.out} ` +
          `(${(bytes.length / 2 ** 20).toFixed(1)} MiB)`,
      );
      return 0;
    },
  );

if (import.meta.main) Deno.exit(await cli.runMain(main, Deno.args));
