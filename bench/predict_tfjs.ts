/**
 * One timed `predictFiles` run (the work of `deno task predict`) for
 * `bench/predict_side_by_side.ts`: prints `| tfjs predict | TILES | SECONDS | TILES_PER_S |`, the
 * time from the call to its return (model load, every tile read, predicted and written). A first,
 * untimed run on one tile starts the backend (wasm compile, thread pool), as the PyTorch side's
 * timer starts after `import torch` and the model is built.
 *
 *     deno run -A bench/predict_tfjs.ts RUN TILES OUT [--tta none|flips] [--batch-size 4]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { predictFiles } from "../src/predict/run.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tta: { type: "string", default: "none" },
    "batch-size": { type: "string", default: "4" },
  },
});
const [run, tiles, out] = positionals;
const first =
  [...Deno.readDirSync(tiles)].map((e) => e.name).filter((n) => /\.(tiff?|png)$/i.test(n))
    .sort()[0];
await predictFiles({
  model: run,
  inputs: [join(tiles, first)],
  out: `${out}-warm-up`,
  backend: "wasm",
  quiet: true,
});
await Deno.remove(`${out}-warm-up`, { recursive: true });
const t0 = performance.now();
const r = await predictFiles({
  model: run,
  inputs: [tiles],
  out,
  tta: values.tta as "none" | "flips",
  backend: "wasm",
  batchSize: Number(values["batch-size"]),
  quiet: true,
});
const s = (performance.now() - t0) / 1000;
console.log(`| tfjs predict | ${r.tiles} | ${s.toFixed(2)} | ${(r.tiles / s).toFixed(2)} |`);
