/**
 * `deno task mosaic` — one slide at a glance: its tiles at their `tile_meta.csv` positions,
 * downscaled, with the labelled vessels and/or a model's predictions, a legend and a scale bar.
 *
 * ```
 * deno task mosaic --data DIR --wsi ID [--labels] [--model RUN] [--width 1200] --out FILE.png
 *                  [--backend auto|webgpu|wasm|cpu] [--quiet]
 * ```
 *
 * See `src/mosaic/mosaic.ts` for the layout, the downscaling and the overlay rules.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as cli from "../src/cli.ts";
import { flag, QUIET, type TaskOptions } from "../src/cli.ts";
import { encodePng } from "../src/data/png.ts";
import { UsageError } from "../src/errors.ts";
import { dirname } from "node:path";
import { checkFileNotInInputs, checkOutputFile, outputFault, writeFileAtomic } from "../src/io.ts";
import {
  describeArtifact,
  describeProvenance,
  loadCheckpointModel,
} from "../src/model/artifact.ts";
import { type MosaicModel, renderMosaic, withLegend } from "../src/mosaic/mosaic.ts";
import { Progress } from "../src/progress.ts";
import { BACKEND_FLAG, initBackend } from "../src/runtime/backends.ts";

/** What `deno task mosaic` drew. */
export interface MosaicResult {
  out: string;
  width: number;
  height: number;
  tiles: number;
  missing: number;
}

/** The command line of `deno task mosaic`. */
export const MOSAIC = cli.defineTask({
  synopsis: "deno task mosaic --data DIR --wsi ID --out FILE.png [flags]",
  summary:
    "Draws every tile of one slide (source_wsi) at its tile_meta.csv position, downscaled,\n" +
    "with the labelled vessels (--labels) and/or a model's predictions (--model), a legend and a\n" +
    "scale bar. Tiles of the slide whose image is missing are hatched.",
  flags: {
    data: flag.string({ required: true, arg: "DIR", help: "Kaggle-layout folder" }),
    wsi: flag.number({
      required: true,
      min: 0,
      integer: true,
      arg: "ID",
      help: "the slide (source_wsi)",
    }),
    out: flag.string({ required: true, arg: "FILE.png", help: "the picture to write" }),
    labels: flag.boolean({ help: "overlay polygons.jsonl's blood vessels" }),
    model: flag.string({
      arg: "RUN|CHECKPOINT",
      help: "overlay this model's predictions (at its threshold)",
    }),
    width: flag.number({
      default: 1200,
      min: 64,
      max: 20000,
      integer: true,
      arg: "PX",
      help: "width of the slide in the picture (at most the slide's own)",
    }),
    backend: BACKEND_FLAG,
    quiet: QUIET,
  },
});

/** Entry point; returns the exit code. */
export const main: (args: string[], opts?: TaskOptions<MosaicResult>) => Promise<number> = cli
  .taskMain(
    MOSAIC,
    async (f, opts) => {
      const say = opts.log ?? (f.quiet ? () => {} : (line: string) => console.error(line));
      await checkOutputFile(f.out, "--out");
      if (!f.out.toLowerCase().endsWith(".png")) {
        throw new UsageError(`--out ${f.out}: the mosaic is a PNG; name the file *.png`);
      }
      await checkFileNotInInputs(f.out, [f.data, ...(f.model ? [f.model] : [])], "--out");
      let model: MosaicModel | undefined;
      let modelName: string | undefined;
      if (f.model !== undefined) {
        const a = await describeArtifact(f.model);
        tf.enableProdMode();
        if (!opts.keepBackend) await initBackend(f.backend, { log: say });
        say(`model: ${a.dir}: ${describeProvenance(a)}`);
        model = { model: await loadCheckpointModel(a.dir), inference: a.inference, name: a.dir };
        modelName = `${a.dir}, epoch ${a.epoch}` +
          (a.provenance?.synthetic ? " (trained on synthetic data)" : "");
      }
      try {
        let progress: Progress | undefined;
        const m = await renderMosaic({
          data: f.data,
          wsi: f.wsi,
          widthPx: f.width,
          labels: f.labels,
          model,
          onTile: (_done, total) => {
            progress ??= new Progress("mosaic", total, { unit: "tiles", quiet: f.quiet });
            progress.tick();
          },
        });
        progress?.done();
        const pic = withLegend(m, { wsi: f.wsi, labels: f.labels, model: modelName });
        await writeFileAtomic(f.out, encodePng(pic.rgb, pic.width, pic.height, 3)).catch((e) => {
          throw outputFault(e, dirname(f.out));
        });
        cli.deliver(
          opts,
          {
            out: f.out,
            width: pic.width,
            height: pic.height,
            tiles: m.tiles,
            missing: m.missing.length,
          },
          `mosaic of slide ${f.wsi}: ${m.tiles} tiles (${m.missing.length} missing) at 1:` +
            `${m.slidePxPerPx.toFixed(2)}, ${pic.width}×${pic.height} px: ${f.out}`,
        );
      } finally {
        model?.model.dispose();
      }
      return 0;
    },
  );

if (import.meta.main) Deno.exit(await cli.runMain(main, Deno.args));
