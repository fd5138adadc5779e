import assert from "node:assert/strict";
import type { Table3Row } from "../evaluate/table3.ts";
import { type ReportInput, reportMarkdown, summaryParagraph } from "./report_md.ts";

const s = (dsc: number, iou = 0.1, sensitivity = 0.2, specificity = 0.3, precision = 0.4) => ({
  dsc,
  iou,
  sensitivity,
  specificity,
  precision,
});
const counts = { dsc: 1, iou: 1, sensitivity: 1, specificity: 1, precision: 1 };
const row = (mode: Table3Row["mode"], model: string, epoch: number | null, sc = s(0)) => ({
  mode,
  model,
  epoch,
  scores: sc,
  counts,
});

const ROWS: Table3Row[] = [
  row("micro", "Otsu", null, s(0.125, 0.0667, 0.44, 0.72)),
  row("micro", "U-Net", 2, s(0.8)),
  row("micro", "U-Net", 4, s(0.7504, 0.6, 0.81, 0.99)),
  row("per-image", "Otsu", null, s(0.13)),
  row("per-image", "U-Net", 2, s(0.5)),
  row("per-image", "U-Net", 4, s(0.65)),
  row("seed", "Otsu", null, s(0.1)),
  row("seed", "U-Net", 4, s(0.6)),
];

const INPUT: ReportInput = {
  run: "runs/a",
  prepared: "prep",
  split: "val",
  tiles: 4,
  tileSizePx: 128,
  threshold: 0.5,
  backend: "wasm",
  rows: ROWS,
  table3Md: "### Table 3\n\n| a |\n",
  otsuName: "Otsu",
  lastDsc: [0.9, 0.5, 0.2, 1],
  otsuDsc: [0.1, 0.6, 0.1, 0],
  training: { epochs: 4, minutes: 2.25, backend: "wasm", params: 121177 },
  curves: [{ path: "curves/val_epoch.svg", caption: "Validation scores per epoch" }],
  distributions: [{ path: "dsc_per_tile.svg", caption: "box" }],
  overlays: [{ path: "overlays/best_ab.png", role: "best", id: "ab", dsc: 0.95 }],
  contactSheet: "overlays/contact_sheet.png",
  table1: {
    md: "### Table 1 — baselines\n\n| b |\n",
    figures: [{ path: "../b/s.svg", caption: "t1" }],
  },
};

Deno.test("report_md: the summary states the numbers of the rows it was given", () => {
  const p = summaryParagraph(INPUT);
  assert.match(
    p,
    /after 4 epochs reaches a DSC of 0\.750 \(micro; per-image 0\.650\), above Otsu's 0\.125 \(per-image 0\.130\)/,
  );
  assert.match(
    p,
    /IoU 0\.600 vs 0\.067, sensitivity 0\.810 vs 0\.440, specificity 0\.990 vs 0\.720/,
  );
  assert.match(
    p,
    /epochs 2, 4\) micro DSC goes from 0\.800 to 0\.750; the best is epoch 2 \(0\.800\)/,
  );
  // per tile: U-Net median (0.5+0.9)/2 = 0.7, Otsu median (0.1+0.1)/2 = 0.1; wins on 3 of 4
  assert.match(p, /median 0\.700 \(Otsu 0\.100\) and beats Otsu on 3 of 4 tiles/);
  assert.match(p, /2\.3 min for 4 epochs on wasm \(121,177 parameters\)/);
  const below = summaryParagraph({
    ...INPUT,
    rows: ROWS.map((
      r,
    ) => (r.model === "Otsu" && r.mode === "micro" ? row("micro", "Otsu", null, s(0.9)) : r)),
  });
  assert.match(below, /0\.750 \(micro; per-image 0\.650\), below Otsu's 0\.900/);
});

Deno.test("report_md: report links every figure, table and overlay", () => {
  const md = reportMarkdown(INPUT);
  for (
    const link of [
      "](table3.csv)",
      "](table3.json)",
      "](curves/val_epoch.svg)",
      "](dsc_per_tile.svg)",
      "](overlays/best_ab.png)",
      "](overlays/contact_sheet.png)",
      "](../b/s.svg)",
    ]
  ) assert.ok(md.includes(link), link);
  assert.ok(md.includes("### Table 3\n\n| a |"));
  assert.ok(md.includes("#### Table 1 — baselines"));
  assert.ok(md.includes("**best** — tile `ab`, DSC 0.950"));
  const noCurves = reportMarkdown({ ...INPUT, curves: [] });
  assert.ok(noCurves.includes("No training log was found."));
});
