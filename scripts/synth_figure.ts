/**
 * Draws `docs/synth_vs_real.png`: a synthetic tile from a Kaggle-layout folder, the same tile with
 * its `blood_vessel` mask overlaid (green, rasterised from `polygons.jsonl` as `prepare` does), and
 * the real HuBMAP tile `0006ff2aa7cd`, side by side.
 *
 * Run: `deno run -A scripts/synth_figure.ts [--data fixtures/kaggle-mini] [--id ID]
 * [--real fixtures/real/0006ff2aa7cd.png] [--out docs/synth_vs_real.png]`
 * (default ID: the annotated tile with the most vessel pixels).
 *
 * @module
 */
import { defineTask, flag, parseTask, runMain } from "../src/cli.ts";
import { InputError } from "../src/errors.ts";
import { readImage } from "../src/data/image.ts";
import { readPolygons } from "../src/data/kaggle.ts";
import { encodePng } from "../src/data/png.ts";
import { rasterizePolygons } from "../src/data/rasterize.ts";
import { writeFileAtomic } from "../src/io.ts";

const GAP_PX = 8;

const SYNTH_FIGURE = defineTask({
  synopsis: "deno run -A scripts/synth_figure.ts [flags]",
  summary: "Draws a synthetic tile and its mask beside a real tile (docs/synth_vs_real.png).",
  flags: {
    data: flag.string({ default: "fixtures/kaggle-mini", arg: "DIR", help: "synthetic dataset" }),
    id: flag.string({ arg: "ID", help: "tile to draw (default: the one with most vessel pixels)" }),
    real: flag.string({
      default: "fixtures/real/0006ff2aa7cd.png",
      arg: "FILE",
      help: "real tile",
    }),
    out: flag.string({ default: "docs/synth_vs_real.png", arg: "FILE", help: "output PNG" }),
  },
});

/** Entry point; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = parseTask(SYNTH_FIGURE, args);
  if (flags === undefined) return 0;
  const { data, real: realPath, out } = flags;
  const polygons = `${data}/polygons.jsonl`;

  let chosen: { id: string; mask: Uint8Array; size: number } | undefined;
  let best = -1;
  for await (const tile of readPolygons(polygons)) {
    if (flags.id !== undefined && tile.id !== flags.id) continue;
    const size = 512;
    const mask = new Uint8Array(size * size);
    const vessels = tile.annotations.filter((a) => a.type === "blood_vessel").map((a) => a.rings);
    rasterizePolygons(mask, size, size, vessels);
    let on = 0;
    for (const v of mask) on += v;
    if (on > best) (best = on, chosen = { id: tile.id, mask, size });
  }
  if (!chosen) {
    throw new InputError(polygons, undefined, `no annotated tile ${flags.id ?? ""}`.trim());
  }
  const synth = await readImage(`${data}/train/${chosen.id}.tif`);
  const real = await readImage(realPath);
  const size = chosen.size;
  for (const [name, img] of [[chosen.id, synth], [realPath, real]] as const) {
    if (img.width !== size || img.height !== size) {
      throw new InputError(
        name,
        undefined,
        `expected ${size}×${size}, found ${img.width}×${img.height}`,
      );
    }
  }

  // overlay: vessel pixels tinted green, their 1-px border solid green
  const overlay = synth.rgb.slice();
  const m = chosen.mask;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      if (!m[i]) continue;
      const edge = x === 0 || y === 0 || x === size - 1 || y === size - 1 || !m[i - 1] ||
        !m[i + 1] || !m[i - size] || !m[i + size];
      const o = 3 * i;
      if (edge) overlay.set([0, 255, 0], o);
      else overlay.set([overlay[o] >> 1, (overlay[o + 1] + 255) >> 1, overlay[o + 2] >> 1], o);
    }
  }
  const panels = [synth.rgb, overlay, real.rgb];
  const width = panels.length * size + (panels.length - 1) * GAP_PX;
  const canvas = new Uint8Array(width * size * 3).fill(255);
  panels.forEach((rgb, k) => {
    const x0 = k * (size + GAP_PX);
    for (let y = 0; y < size; y++) {
      canvas.set(rgb.subarray(y * size * 3, (y + 1) * size * 3), (y * width + x0) * 3);
    }
  });
  await writeFileAtomic(out, encodePng(canvas, width, size, 3));
  console.log(`wrote ${out}: synthetic ${chosen.id} | its vessel mask | real ${realPath}`);
  return 0;
}

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
