import assert from "node:assert/strict";
import { toCsv, toMarkdown } from "../report/table.ts";
import { comparisonTable, table3, table3Rows } from "./table3.ts";

// Two tiles, hand-computed:
// tile A: tp 2, fp 2, fn 0, tn 4  → DSC 4/6, IoU 2/4, sens 1, spec 4/6, prec 2/4
// tile B: no vessel, empty prediction: tp 0, fp 0, fn 0, tn 8 → standard DSC 1 (IoU 1),
//         sens NaN, spec 1, prec NaN; seed rule: DSC 0, IoU 0, sens 0, spec 1, prec 0
const A = { tp: 2, fp: 2, fn: 0, tn: 4 };
const B = { tp: 0, fp: 0, fn: 0, tn: 8 };
// Otsu-like: tile A: tp 1, fp 3, fn 1, tn 3; tile B: tp 0, fp 4, fn 0, tn 4
const OA = { tp: 1, fp: 3, fn: 1, tn: 3 };
const OB = { tp: 0, fp: 4, fn: 0, tn: 4 };

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

Deno.test("table3: rows per mode and model match hand-computed values", () => {
  const rows = table3Rows([
    { name: "Otsu", epoch: null, confusions: [OA, OB] },
    { name: "U-Net", epoch: 4, confusions: [A, B] },
  ]);
  assert.deepEqual(rows.map((r) => `${r.mode}/${r.model}/${r.epoch}`), [
    "micro/Otsu/null",
    "micro/U-Net/4",
    "per-image/Otsu/null",
    "per-image/U-Net/4",
    "seed/Otsu/null",
    "seed/U-Net/4",
  ]);
  const [mO, mU, pO, pU, sO, sU] = rows;
  // micro U-Net: pooled tp 2, fp 2, fn 0, tn 12
  close(mU.scores.dsc, 4 / 6, "micro dsc");
  close(mU.scores.iou, 0.5, "micro iou");
  close(mU.scores.sensitivity, 1, "micro sens");
  close(mU.scores.specificity, 12 / 14, "micro spec");
  close(mU.scores.precision, 0.5, "micro prec");
  // per-image U-Net: DSC (4/6 + 1)/2; sens only tile A; prec only tile A
  close(pU.scores.dsc, (4 / 6 + 1) / 2, "per-image dsc");
  close(pU.scores.iou, (0.5 + 1) / 2, "per-image iou");
  close(pU.scores.sensitivity, 1, "per-image sens");
  assert.equal(pU.counts.sensitivity, 1);
  close(pU.scores.specificity, (4 / 6 + 1) / 2, "per-image spec");
  // seed U-Net: tile B scores 0 except specificity 1
  close(sU.scores.dsc, (4 / 6) / 2, "seed dsc");
  close(sU.scores.sensitivity, 0.5, "seed sens");
  close(sU.scores.precision, 0.25, "seed prec");
  close(sU.scores.specificity, (4 / 6 + 1) / 2, "seed spec");
  // Otsu micro: pooled tp 1, fp 7, fn 1, tn 7 → DSC 2/10
  close(mO.scores.dsc, 0.2, "otsu micro dsc");
  // Otsu per-image: tile A DSC 2/6, tile B DSC 0 (tp 0, fp 4)
  close(pO.scores.dsc, (2 / 6) / 2, "otsu per-image dsc");
  close(sO.scores.dsc, (2 / 6) / 2, "otsu seed dsc");

  const t = table3(rows, { split: "val", tiles: 2, tileSizePx: 4, threshold: 0.5 });
  const md = toMarkdown(t);
  assert.match(md, /\| micro \| U-Net \| 4 \| 0\.667 \| 0\.500 \|/);
  assert.match(md, /\| micro \| Otsu \| – \| 0\.200 \|/);
  const csv = toCsv(t).split("\r\n");
  assert.equal(csv[0], "Mode,Model,Epoch,DSC,IoU,Sensitivity,Specificity,Precision");
  assert.equal(csv.length, 1 + 6 + 1);
});

Deno.test("table3: comparison table keeps Otsu and the last checkpoint, micro and per-image", () => {
  const rows = table3Rows([
    { name: "Otsu", epoch: null, confusions: [OA] },
    { name: "U-Net", epoch: 2, confusions: [OA] },
    { name: "U-Net", epoch: 8, confusions: [A] },
  ]);
  const c = comparisonTable(rows);
  assert.deepEqual(c.rows.map((r) => `${r.model}/${r.mode}`), [
    "Otsu/micro",
    "U-Net (epoch 8)/micro",
    "Otsu/per-image",
    "U-Net (epoch 8)/per-image",
  ]);
  close(c.rows[1].dsc as number, 4 / 6, "comparison dsc");
});
