import assert from "node:assert/strict";
import { join } from "node:path";
import type { Manifest, PreparedTile } from "../src/data/prepared.ts";
import { decodePng } from "../src/data/png.ts";
import { exists } from "../src/io.ts";
import { main } from "./baseline.ts";

// A tiny prepared directory, written directly from the contract in src/data/prepared.ts.
// Three 4×4 tiles (16 px each):
//   t0 "aaaaaaaaaaaa" train: vessel = 4 px, bright (255) exactly on the vessel, 0 elsewhere
//      → Otsu threshold 0, prediction = truth: tp 4 tn 12
//   t1 "bbbbbbbbbbbb" val:   no vessel, uniform grey 100 → Otsu threshold 0 (single value),
//      every pixel > 0 → fp 16
//   t2 "cccccccccccc" train: vessel = top 8 px drawn dark (0), bottom 8 px bright (200)
//      → Otsu picks the bottom: fp 8 fn 8
const S = 4, N = S * S;
const tempDirs: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const d of tempDirs) Deno.removeSync(d, { recursive: true });
});
async function tempDir(prefix: string): Promise<string> {
  const d = await Deno.makeTempDir({ prefix });
  tempDirs.push(d);
  return d;
}
async function makePrepared(): Promise<string> {
  const dir = await tempDir("baseline_test_");
  const images = new Uint8Array(3 * N * 3), masks = new Uint8Array(3 * N);
  const setPx = (t: number, i: number, v: number) =>
    images.fill(v, (t * N + i) * 3, (t * N + i) * 3 + 3);
  for (const i of [0, 1, 4, 5]) {
    masks[i] = 1;
    setPx(0, i, 255);
  }
  for (let i = 0; i < N; i++) setPx(1, i, 100);
  for (let i = 0; i < N; i++) {
    if (i < 8) masks[2 * N + i] = 1;
    setPx(2, i, i < 8 ? 0 : 200);
  }
  const tile = (
    id: string,
    index: number,
    split: "train" | "val",
    vesselPx: number,
  ): PreparedTile => ({
    id,
    index,
    split,
    sourceWsi: 1,
    dataset: 1,
    vesselPx,
    sourceWidth: 512,
    sourceHeight: 512,
  });
  const manifest: Manifest = {
    format: "vessel-seg-prepared",
    formatVersion: 1,
    tool: { name: "vessel-seg", version: "test" },
    command: [],
    options: {},
    seed: 0,
    scale: 1,
    tileSizePx: S,
    classes: ["blood_vessel"],
    shards: {
      images: "images.u8",
      masks: { blood_vessel: "masks.u8" },
      imageStride: N * 3,
      maskStride: N,
    },
    split: { method: "random", valFraction: 0.34 },
    stats: { mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2], computedOn: "train", tiles: 2 },
    tiles: [
      tile("aaaaaaaaaaaa", 0, "train", 4),
      tile("bbbbbbbbbbbb", 1, "val", 0),
      tile("cccccccccccc", 2, "train", 8),
    ],
    summary: {},
    skipped: [],
    inputHashes: {},
  };
  await Deno.writeFile(join(dir, "images.u8"), images);
  await Deno.writeFile(join(dir, "masks.u8"), masks);
  await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(manifest));
  return dir;
}

type Json = {
  mode: string;
  split: string;
  tiles: number;
  table: { rows: Record<string, number | string | null>[] };
  examples: string[];
};
async function run(args: string[]): Promise<{ code: number; json?: Json; out: string }> {
  const out = await tempDir("baseline_out_");
  const log = console.log;
  console.log = () => {};
  try {
    const code = await main([...args, "--out", out]);
    const path = join(out, "table1.json");
    const json = (await exists(path)) ? JSON.parse(await Deno.readTextFile(path)) : undefined;
    return { code, json, out };
  } finally {
    console.log = log;
  }
}

function row(json: Json, name: string) {
  const r = json.table.rows.find((r) => r.baseline === name);
  assert.ok(r, `row ${name}`);
  return r;
}
function close(got: unknown, want: number | null, what: string) {
  if (want === null) return assert.equal(got, null, what);
  assert.ok(
    typeof got === "number" && Math.abs(got - want) < 1e-12,
    `${what}: want ${want}, got ${got}`,
  );
}
function checkRow(json: Json, name: string, want: (number | null)[]) {
  const r = row(json, name);
  ["dsc", "iou", "sensitivity", "specificity", "precision", "accuracy"].forEach((m, k) =>
    close(r[m], want[k], `${name} ${m}`)
  );
}

const prepared = await makePrepared();

Deno.test("baseline micro on all tiles matches the hand-computed table and writes every output", async () => {
  const { code, json, out } = await run(["--prepared", prepared]);
  assert.equal(code, 0);
  assert.ok(json);
  assert.equal(json.mode, "micro");
  assert.equal(json.tiles, 3);
  // 48 px, 12 vessel.  none: fn 12 tn 36.  full: tp 12 fp 36.
  checkRow(json, "none", [0, 0, 0, 1, null, 0.75]);
  checkRow(json, "full", [0.4, 0.25, 1, 0, 0.25, 0.25]);
  // otsu: tp 4 fp 24 fn 8 tn 12
  checkRow(json, "otsu", [0.2, 1 / 9, 1 / 3, 1 / 3, 1 / 7, 1 / 3]);
  assert.equal(row(json, "otsu").study_dsc, 0.099);
  const md = await Deno.readTextFile(join(out, "table1.md"));
  assert.match(md, /\| none \| 0\.000 \| 0\.000 \| 0\.000 \| 1\.000 \| – \| 0\.750 \|/);
  assert.match(md, /mode micro, split all, 3 tiles of 4²/);
  const csv = await Deno.readTextFile(join(out, "table1.csv"));
  assert.ok(csv.startsWith("Baseline,DSC,IoU,Sensitivity,Specificity,Precision,Accuracy,"));
  assert.ok(csv.includes("\r\nfull,0.4,0.25,1,0,0.25,0.25,0.097,0.053,,\r\n"));
  for (const f of ["scores_dsc.svg", "scores_iou.svg", "scores_dsc_hist.svg"]) {
    const svg = await Deno.readTextFile(join(out, f));
    assert.ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"), f);
  }
  // vessel fractions: t1 0, t0 0.25, t2 0.5 → 10th/50th/90th percentile = t1, t0, t2
  assert.deepEqual(json.examples, [
    "examples/p10_bbbbbbbbbbbb.png",
    "examples/p50_aaaaaaaaaaaa.png",
    "examples/p90_cccccccccccc.png",
  ]);
  const strip = decodePng(await Deno.readFile(join(out, json.examples[1])), "strip");
  assert.equal(strip.width, 3 * S + 4 * 2);
  const sheet = decodePng(await Deno.readFile(join(out, "examples/contact_sheet.png")), "sheet");
  assert.equal(sheet.height, 3 * S + 4 * 4);
  const left = [];
  for await (const e of Deno.readDir(out)) if (e.name.endsWith(".tmp")) left.push(e.name);
  assert.deepEqual(left, [], "no temporary files left");
});

Deno.test("baseline per-image and seed modes follow their empty-tile rules", async () => {
  const per = (await run(["--prepared", prepared, "--mode", "per-image"])).json!;
  // none: DSC per tile 0, 1 (empty/empty), 0; sensitivity only on t0, t2 (0, 0)
  checkRow(per, "none", [1 / 3, 1 / 3, 0, 1, null, (0.75 + 1 + 0.5) / 3]);
  // full: DSC 8/20, 0, 16/24; specificity on t0, t1 (0, 0); t2 has no negatives
  checkRow(per, "full", [
    (0.4 + 0 + 2 / 3) / 3,
    (0.25 + 0 + 0.5) / 3,
    1,
    0,
    (0.25 + 0 + 0.5) / 3,
    (0.25 + 0 + 0.5) / 3,
  ]);
  const seed = (await run(["--prepared", prepared, "--mode", "seed"])).json!;
  checkRow(seed, "none", [0, 0, 0, 1, 0, (0.75 + 1 + 0.5) / 3]);
  // full on t2: TN = 0 → specificity 0 by the seed rule
  checkRow(seed, "full", [
    (0.4 + 0 + 2 / 3) / 3,
    (0.25 + 0 + 0.5) / 3,
    2 / 3,
    0,
    (0.25 + 0 + 0.5) / 3,
    (0.25 + 0 + 0.5) / 3,
  ]);
});

Deno.test("baseline --split val scores only the val tile; --invert flips Otsu", async () => {
  const val = (await run(["--prepared", prepared, "--split", "val"])).json!;
  assert.equal(val.tiles, 1);
  checkRow(val, "otsu", [0, 0, null, 0, 0, 0]); // fp 16
  const inv = (await run(["--prepared", prepared, "--split", "val", "--invert"])).json!;
  checkRow(inv, "otsu", [1, 1, null, 1, null, 1]); // grey ≤ 0: nothing → tn 16
});

Deno.test("baseline random is seeded: same seed same numbers, other seed other numbers", async () => {
  const a = (await run(["--prepared", prepared, "--mode", "per-image", "--seed", "5"])).json!;
  const b = (await run(["--prepared", prepared, "--mode", "per-image", "--seed", "5"])).json!;
  const c = (await run(["--prepared", prepared, "--mode", "per-image", "--seed", "6"])).json!;
  assert.deepEqual(row(a, "random"), row(b, "random"));
  assert.notDeepEqual(row(a, "random"), row(c, "random"));
});

Deno.test("baseline: bad flags give exit 2 and write nothing; a missing prepared dir gives 1", async () => {
  const err = console.error;
  const lines: string[] = [];
  console.error = (m: string) => lines.push(m);
  try {
    const { runMain } = await import("../src/cli.ts");
    for (
      const bad of [
        ["--prepared", prepared, "--mode", "macro"],
        ["--prepared", prepared, "--split", "test"],
        ["--prepared", prepared, "--seed", "-1"],
        ["--prepared", prepared, "--bogus"],
        ["--out", "x"],
      ]
    ) {
      const out = await tempDir("baseline_bad_");
      lines.length = 0;
      assert.equal(await runMain(main, [...bad, "--out", join(out, "o")]), 2, bad.join(" "));
      assert.equal(lines.length, 1);
      assert.equal(await exists(join(out, "o")), false);
    }
    lines.length = 0;
    assert.equal(await runMain(main, ["--prepared", join(prepared, "nope"), "--out", prepared]), 1);
    assert.match(lines[0], /nope.*manifest\.json/);
  } finally {
    console.error = err;
  }
});
