/**
 * Synthetic tile generation speed (target: at least 10 tiles/s of 512×512 on one core).
 * Group "synth 512²": rendering alone is the baseline; then rendering plus the TIFF encodings
 * that `deno task synth` writes.
 *
 * Run: `deno bench -A bench/synth_bench.ts`
 */
import { Rng } from "../src/rng.ts";
import { makeStain, renderTile } from "../src/data/synth.ts";
import { encodeTiff } from "../src/data/tiff_write.ts";

const stain = makeStain(new Rng(1));
// the same 16 tiles cycle through every bench, so the groups compare like with like
let seed = 0;
const nextSeed = () => (seed = (seed + 1) % 16);
// warm the JIT on all 16 tiles first, so the first bench is not the one that pays for compilation
for (let k = 0; k < 16; k++) renderTile(new Rng(k), stain);

Deno.bench("render", { group: "synth 512²", baseline: true }, () => {
  renderTile(new Rng(nextSeed()), stain);
});

Deno.bench("render + TIFF deflate + predictor (as written by deno task synth)", {
  group: "synth 512²",
}, () => {
  const tile = renderTile(new Rng(nextSeed()), stain);
  encodeTiff(tile.rgb, 512, 512, { compression: "deflate", predictor: true });
});

Deno.bench("render + TIFF uncompressed", { group: "synth 512²" }, () => {
  const tile = renderTile(new Rng(nextSeed()), stain);
  encodeTiff(tile.rgb, 512, 512, { compression: "none" });
});

const tile = renderTile(new Rng(99), stain);
Deno.bench("TIFF deflate + predictor only", { group: "encode 512²", baseline: true }, () => {
  encodeTiff(tile.rgb, 512, 512, { compression: "deflate", predictor: true });
});
Deno.bench("TIFF deflate only", { group: "encode 512²" }, () => {
  encodeTiff(tile.rgb, 512, 512, { compression: "deflate" });
});
