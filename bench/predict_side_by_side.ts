/**
 * Predict throughput side by side: `deno task predict`'s pipeline (`bench/predict_tfjs.ts`: tfjs
 * wasm, this project's kernels) against a PyTorch eval-mode + OpenCV pipeline doing the same work
 * (`bench/predict_torch.py`: read, `cv2.resize` INTER_AREA to scale 0.25, U-Net, sigmoid, resize
 * back, mask and probability PNGs), on the same 512² tiles, for base 16 and base 64 (depth 4,
 * batch norm) with TTA off and flips. Rounds interleave the engines; the table gives tiles/s per
 * round, the medians and the ratio. Not part of the tests; speed is never asserted.
 *
 *     deno run -A bench/predict_side_by_side.ts [--tiles 32] [--rounds 3] [--bases 16,64]
 *       [--tta none,flips] [--python /usr/bin/python3]
 *
 * Tiles: `writeSynthDataset` (Deflate + predictor TIFFs, like the competition's), in a temp
 * folder. Models: untrained U-Nets (seeded He init) saved as runs at scale 0.25 with 128-px
 * windows, so a 512² tile is one window (`src/predict/testing.ts`'s `writeRunAround`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { writeSynthDataset } from "../src/data/synth_dataset.ts";
import { buildUNet } from "../src/model/unet.ts";
import { writeRunAround } from "../src/predict/testing.ts";

const { values } = parseArgs({
  options: {
    tiles: { type: "string", default: "32" },
    rounds: { type: "string", default: "3" },
    bases: { type: "string", default: "16,64" },
    tta: { type: "string", default: "none,flips" },
    python: { type: "string", default: "/usr/bin/python3" },
    threads: { type: "string", default: "2" },
  },
});
const tiles = Number(values.tiles), rounds = Number(values.rounds);
const bases = values.bases.split(",").map(Number);
const ttas = values.tta.split(",");

const root = await Deno.makeTempDir({ prefix: "vessel-seg-predict-bench-" });
await writeSynthDataset(join(root, "data"), { tiles, seed: 7, testTiles: 0 });
const tileDir = join(root, "data", "train");
await tf.setBackend("cpu");
const runs = new Map<number, string>();
for (const base of bases) {
  const model = buildUNet({ depth: 4, baseFilters: base, batchNorm: true, seed: 0 });
  const { run } = await writeRunAround(join(root, `base${base}`), model, {
    scale: 0.25,
    tileSizePx: 128,
  });
  model.dispose();
  runs.set(base, run);
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  const row = text.split("\n").find((l) => l.startsWith("| ") && l.includes("predict"));
  const v = Number(row?.split("|")[4]);
  if (!Number.isFinite(v)) throw new Error(`no result row in:\n${text}`);
  return v;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const results = new Map<string, number[]>();
const add = (k: string, v: number) => results.set(k, [...(results.get(k) ?? []), v]);
console.log(
  `${tiles} synthetic 512² tiles (Deflate TIFF), scale 0.25, depth 4; ${rounds} interleaved ` +
    `rounds; ${values.threads} threads; load average at start: ` +
    (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ").slice(0, 3).join(" "),
);
for (let r = 1; r <= rounds; r++) {
  for (const base of bases) {
    for (const tta of ttas) {
      const key = `${base}/${tta}`;
      const out = join(root, `out-${base}-${tta}`);
      await Deno.remove(out, { recursive: true }).catch(() => {});
      add(
        `tfjs ${key}`,
        await run(Deno.execPath(), [
          "run",
          "-A",
          new URL("./predict_tfjs.ts", import.meta.url).pathname,
          runs.get(base)!,
          tileDir,
          out,
          "--tta",
          tta,
        ], { VESSEL_SEG_WASM_THREADS: values.threads }),
      );
      add(
        `torch ${key}`,
        await run(values.python, [
          new URL("./predict_torch.py", import.meta.url).pathname,
          tileDir,
          join(root, `torch-${base}-${tta}`),
          "--base",
          String(base),
          "--tta",
          tta,
          "--threads",
          values.threads,
        ]),
      );
    }
  }
  console.error(`round ${r}/${rounds} done`);
}
console.log(
  "\n| base | TTA | tfjs tiles/s (rounds) | PyTorch tiles/s (rounds) | tfjs / PyTorch speed |",
);
console.log("|---|---|---|---|---|");
for (const base of bases) {
  for (const tta of ttas) {
    const a = results.get(`tfjs ${base}/${tta}`)!, b = results.get(`torch ${base}/${tta}`)!;
    const f = (v: number[]) => `${median(v).toFixed(2)} (${v.map((x) => x.toFixed(2)).join(", ")})`;
    console.log(
      `| ${base} | ${tta} | ${f(a)} | ${f(b)} | ${(median(a) / median(b)).toFixed(2)}× |`,
    );
  }
}
await Deno.remove(root, { recursive: true });
