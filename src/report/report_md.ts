/**
 * `report.md` of `deno task evaluate`: Table 3, a one-paragraph summary generated from the
 * numbers (never typed by hand), and links to every figure the evaluation wrote. Pure: takes the
 * numbers and file names, returns Markdown.
 *
 * @module
 */

/** A row of Table 3 as the report reads it (`src/evaluate/table3.ts` makes them). */
export interface ScoreRow {
  mode: string;
  model: string;
  epoch: number | null;
  scores: Record<string, number>;
}

/** A figure to link: path relative to `report.md` and a caption. */
export interface Figure {
  path: string;
  caption: string;
}

/** Everything the report says. */
export interface ReportInput {
  run: string;
  prepared: string;
  split: string;
  tiles: number;
  tileSizePx: number;
  threshold: number;
  /** Backend the evaluation ran on. */
  backend: string;
  /** Table 3 rows (from `table3Rows`), Otsu's rows named `otsuName`. */
  rows: readonly ScoreRow[];
  /** Table 3 as Markdown (from `toMarkdown(table3(...))`). */
  table3Md: string;
  otsuName: string;
  /** Per-tile DSC (per-image rule) of the last checkpoint and of Otsu, same tile order. */
  lastDsc: ArrayLike<number>;
  otsuDsc: ArrayLike<number>;
  /** From the training log, when there is one. */
  training?: { epochs: number; minutes: number; backend?: string; params?: number };
  curves: Figure[];
  distributions: Figure[];
  overlays: { path: string; role: string; id: string; dsc: number }[];
  contactSheet?: string;
  /** The baselines' Table 1 (`deno task baseline`), with its figures relative to `report.md`. */
  table1?: { md: string; figures: Figure[] };
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "–");

function median(values: ArrayLike<number>): number {
  const a = Array.from(values).filter(Number.isFinite).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const m = Math.floor(a.length / 2);
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/**
 * The summary paragraph: the last checkpoint against Otsu (micro and per-image DSC, IoU,
 * sensitivity, specificity), the best checkpoint, per-tile wins, and the training time.
 *
 * @example
 * ```ts ignore
 * console.log(summaryParagraph(input));
 * ```
 */
export function summaryParagraph(input: ReportInput): string {
  const row = (mode: string, pred: (r: ScoreRow) => boolean) =>
    input.rows.find((r) => r.mode === mode && pred(r));
  const epochs = input.rows.filter((r) => r.epoch !== null).map((r) => r.epoch!);
  const last = Math.max(...epochs);
  const isLast = (r: ScoreRow) => r.epoch === last;
  const isOtsu = (r: ScoreRow) => r.epoch === null && r.model === input.otsuName;
  const uMicro = row("micro", isLast), oMicro = row("micro", isOtsu);
  const uPer = row("per-image", isLast), oPer = row("per-image", isOtsu);
  const parts: string[] = [];
  if (uMicro && oMicro && uPer && oPer) {
    const u = uMicro.scores, o = oMicro.scores;
    const verdict = u.dsc > o.dsc ? "above" : u.dsc < o.dsc ? "below" : "equal to";
    parts.push(
      `On the ${input.split} split (${input.tiles} tiles of ${input.tileSizePx}² px, threshold ` +
        `${input.threshold}), the U-Net after ${last} epoch${last === 1 ? "" : "s"} reaches a ` +
        `DSC of ${f3(u.dsc)} (micro; per-image ${f3(uPer.scores.dsc)}), ${verdict} Otsu's ` +
        `${f3(o.dsc)} (per-image ${f3(oPer.scores.dsc)}) on the same tiles; IoU ${f3(u.iou)} vs ` +
        `${f3(o.iou)}, sensitivity ${f3(u.sensitivity)} vs ${f3(o.sensitivity)}, specificity ` +
        `${f3(u.specificity)} vs ${f3(o.specificity)}.`,
    );
  }
  const ckMicro = input.rows.filter((r) => r.mode === "micro" && r.epoch !== null);
  if (ckMicro.length > 1) {
    const best = ckMicro.reduce((a, b) => (b.scores.dsc > a.scores.dsc ? b : a));
    const first = ckMicro[0];
    parts.push(
      `Across the ${ckMicro.length} checkpoints (epochs ${
        ckMicro.map((r) => r.epoch).join(", ")
      }) micro DSC goes from ${f3(first.scores.dsc)} to ${
        f3(ckMicro[ckMicro.length - 1].scores.dsc)
      }; the best is epoch ${best.epoch} (${f3(best.scores.dsc)}).`,
    );
  }
  const n = Math.min(input.lastDsc.length, input.otsuDsc.length);
  if (n > 0) {
    let wins = 0;
    for (let i = 0; i < n; i++) if (input.lastDsc[i] > input.otsuDsc[i]) wins++;
    parts.push(
      `Per tile, the U-Net's DSC has median ${f3(median(input.lastDsc))} (Otsu ` +
        `${f3(median(input.otsuDsc))}) and beats Otsu on ${wins} of ${n} tiles.`,
    );
  }
  if (input.training) {
    const t = input.training;
    parts.push(
      `Training took ${t.minutes.toFixed(1)} min for ${t.epochs} epoch${
        t.epochs === 1 ? "" : "s"
      }` +
        `${t.backend ? ` on ${t.backend}` : ""}` +
        `${t.params ? ` (${t.params.toLocaleString("en-US")} parameters)` : ""}.`,
    );
  }
  return parts.join(" ");
}

/**
 * The whole `report.md`.
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("report.md", reportMarkdown(input));
 * ```
 */
export function reportMarkdown(input: ReportInput): string {
  const img = (f: Figure) => `![${f.caption}](${f.path})`;
  const lines: string[] = [
    "# Evaluation report",
    "",
    `Run \`${input.run}\`, prepared data \`${input.prepared}\`, split \`${input.split}\`, ` +
    `inference on ${input.backend}.`,
    "",
    "## Summary",
    "",
    summaryParagraph(input),
    "",
    "## Table 3",
    "",
    "Also as [table3.csv](table3.csv) and [table3.json](table3.json).",
    "",
    input.table3Md.trimEnd(),
    "",
  ];
  if (input.table1) {
    lines.push(
      "## Table 1 — baselines",
      "",
      "From `deno task baseline` on the same prepared data (its own split and mode, stated in " +
        "the title).",
      "",
      input.table1.md.replace(/^### /m, "#### ").trimEnd(),
      "",
    );
    for (const f of input.table1.figures) lines.push(img(f), "");
  }
  lines.push(
    "## Training curves",
    "",
  );
  if (input.curves.length === 0) lines.push("No training log was found.", "");
  for (const f of input.curves) lines.push(`### ${f.caption}`, "", img(f), "");
  lines.push("## Per-tile DSC", "");
  for (const f of input.distributions) lines.push(img(f), "");
  lines.push(
    "## Overlays",
    "",
    "Tiles picked by a fixed rule on the last checkpoint's per-tile DSC: best, median and worst " +
      "among the tiles with at least one vessel pixel (sorted by DSC, ties by id; see " +
      "`src/evaluate/select.ts`). Each strip: the tile | truth " +
      "outline (bluish green) over the prediction (yellow) | true positives bluish green, false " +
      "positives vermillion, false negatives blue.",
    "",
  );
  for (const o of input.overlays) {
    lines.push(
      `**${o.role}** — tile \`${o.id}\`, DSC ${f3(o.dsc)}`,
      "",
      `![${o.role}](${o.path})`,
      "",
    );
  }
  if (input.contactSheet) {
    lines.push(`Contact sheet: [${input.contactSheet}](${input.contactSheet})`, "");
  }
  return lines.join("\n");
}
