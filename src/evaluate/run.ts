/**
 * `deno task evaluate`'s work: score every epoch checkpoint of a training run and the Otsu
 * baseline on one split of a prepared dataset, and write Table 3, the per-tile scores, the
 * training curves, the per-tile DSC distribution, the overlays and `report.md`.
 *
 * Outputs in `out` (every file written atomically):
 * - `table3.md`, `table3.csv`, `table3.json` — rows = mode × model (Otsu, then each checkpoint);
 * - `per_tile.csv` — every tile's id, vessel pixels, and DSC (per-image rule) of Otsu and of each
 *   checkpoint;
 * - `curves/loss_epoch.svg`, `loss_batch.svg`, `loss_time.svg`, `val_epoch.svg`, `val_time.svg` —
 *   from `RUN/log.jsonl` (see `src/report/curves.ts`);
 * - `dsc_per_tile.svg` (box plot, Otsu and every checkpoint) and `dsc_per_tile_hist.svg`
 *   (histogram, Otsu vs the last checkpoint);
 * - `overlays/{role}_{id}.png` for the best, median and worst tile by the last checkpoint's DSC
 *   among the tiles with at least one vessel pixel (all tiles when none has; rule in
 *   `./select.ts`), and `overlays/contact_sheet.png`;
 * - `report.md` linking all of it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { join, relative, sep } from "node:path";
import { otsuMask, type OtsuScratch } from "../baseline/otsu.ts";
import type { PreparedTile, Split } from "../data/prepared.ts";
import { encodePng } from "../data/png.ts";
import { openPrepared, type PreparedDataset, tilesOfSplit } from "../data/prepared_io.ts";
import type { Normalization } from "../data/input.ts";
import { InputError } from "../errors.ts";
import { exists, writeFileAtomic, writeJsonAtomic, writeTextFileAtomic } from "../io.ts";
import { type Confusion, confusion } from "../metrics/confusion.ts";
import { perTile } from "../metrics/reduce.ts";
import {
  type InferenceMeta,
  inferenceMeta,
  listEpochCheckpoints,
  loadCheckpointModel,
  readModelJson,
  type RunCheckpoint,
} from "../model/artifact.ts";
import { predictFew, scoreModel } from "../model/score.ts";
import { Progress } from "../progress.ts";
import { readTrainingLog, trainingCurves } from "../report/curves.ts";
import { contactSheet, overlayPanels, type RgbPicture } from "../report/overlay.ts";
import { type Figure, reportMarkdown } from "../report/report_md.ts";
import { boxPlot, histogram } from "../report/svg.ts";
import { type Table, toCsv, toJson, toMarkdown } from "../report/table.ts";
import { type BackendChoice, initBackend } from "../runtime/backends.ts";
import { pickBestMedianWorst } from "./select.ts";
import { comparisonTable, type ScoredModel, table3, type Table3Row, table3Rows } from "./table3.ts";

/** Options of {@linkcode evaluateRun}. */
export interface EvaluateOptions {
  /** Training run directory (`deno task train --out`). */
  run: string;
  /** Prepared dataset directory. */
  prepared: string;
  /** Default "val". */
  split?: Split | "all";
  /** Probability threshold. Default: the threshold the run saved (its last checkpoint's). */
  threshold?: number;
  /** Output directory. Default `RUN/eval`. */
  out?: string;
  /** Default "auto". */
  backend?: BackendChoice;
  /** Keep the active tfjs backend (tests). Default false. */
  keepBackend?: boolean;
  /** Tiles per forward pass. Default: the run's training batch size. */
  batchSize?: number;
  /**
   * A `deno task baseline --out` directory whose `table1.md` (and `scores_dsc.svg`) `report.md`
   * includes. Optional.
   */
  baseline?: string;
  /** No progress bar. */
  quiet?: boolean;
  /** Human-readable lines. Default: stderr. */
  log?: (line: string) => void;
}

/** What {@linkcode evaluateRun} produced. */
export interface EvaluateResult {
  out: string;
  checkpoints: RunCheckpoint[];
  rows: Table3Row[];
  table: Table;
  /** Otsu vs the last checkpoint (micro and per-image), for printing. */
  comparison: Table;
  /** Tile ids in score order, and each model's per-tile confusions in that order. */
  tileIds: string[];
  confusions: { otsu: Confusion[]; byEpoch: Map<number, Confusion[]> };
  reportPath: string;
  /** Every file written, relative to `out`. */
  files: string[];
  backend: string;
  /** The threshold used, and where it came from. */
  threshold: number;
  thresholdSource: "run" | "flag";
}

/** Name of the Otsu row. */
export const OTSU = "Otsu";

/** Writes files under one folder atomically and remembers their names. */
class OutputFolder {
  readonly files: string[] = [];
  constructor(readonly dir: string) {}
  async write(name: string, data: string | Uint8Array): Promise<void> {
    const path = join(this.dir, name);
    if (typeof data === "string") await writeTextFileAtomic(path, data);
    else await writeFileAtomic(path, data);
    this.files.push(name);
  }
}

/** The model-scale inference metadata of a checkpoint, checked against the prepared set. */
async function checkpointMeta(
  ck: RunCheckpoint,
  ds: PreparedDataset,
  prepared: string,
): Promise<InferenceMeta> {
  const meta = ck.file.inference ?? (await inferenceMeta(ck.dir, ck.file, prepared));
  const m = ds.manifest;
  if (meta.tileSizePx !== m.tileSizePx || meta.scale !== m.scale) {
    throw new InputError(
      join(prepared, "manifest.json"),
      undefined,
      `tiles of ${m.tileSizePx} px at scale ${m.scale}, but ${ck.dir} was trained on ` +
        `${meta.tileSizePx} px at scale ${meta.scale}; evaluate on a set prepared like its own`,
    );
  }
  return meta;
}

/** Phase 1: Otsu on the tiles, one at a time. */
async function scoreOtsu(ds: PreparedDataset, tiles: readonly PreparedTile[]) {
  const otsu: Confusion[] = [];
  const scratch: OtsuScratch = {};
  for (const t of tiles) {
    const { rgbHWC, maskU8 } = await ds.read(t);
    otsu.push(confusion(otsuMask(rgbHWC, { scratch }).maskU8, maskU8));
  }
  return otsu;
}

/** Phase 2: every checkpoint on the tiles, batched. */
async function scoreCheckpoints(
  ds: PreparedDataset,
  tiles: readonly PreparedTile[],
  checkpoints: readonly RunCheckpoint[],
  norms: Map<number, Normalization>,
  opts: { batchSize: number; threshold: number; quiet?: boolean },
): Promise<Map<number, Confusion[]>> {
  const progress = new Progress("evaluate", tiles.length * checkpoints.length, {
    unit: "tiles",
    quiet: opts.quiet,
  });
  const byEpoch = new Map<number, Confusion[]>();
  for (const ck of checkpoints) {
    const model = await loadCheckpointModel(ck.dir);
    try {
      byEpoch.set(
        ck.epoch,
        await scoreModel(model, ds, tiles, {
          batchSize: opts.batchSize,
          norm: norms.get(ck.epoch)!,
          threshold: opts.threshold,
          onBatch: (n) => progress.tick(n, `epoch ${ck.epoch}`),
        }),
      );
    } finally {
      model.dispose();
    }
  }
  progress.done();
  return byEpoch;
}

/** Phase 3: `per_tile.csv` and the per-tile DSC box plot and histogram. */
async function writeDistributions(
  out: OutputFolder,
  tiles: readonly PreparedTile[],
  checkpoints: readonly RunCheckpoint[],
  otsuDsc: Float64Array,
  dscByEpoch: Map<number, Float64Array>,
  subtitle: string,
): Promise<void> {
  const last = checkpoints[checkpoints.length - 1];
  const header = ["id", "vessel_px", "otsu_dsc", ...checkpoints.map((c) => `epoch_${c.epoch}_dsc`)];
  const csv = [header.join(",")];
  tiles.forEach((t, i) => {
    csv.push(
      [t.id, t.vesselPx, otsuDsc[i], ...checkpoints.map((c) => dscByEpoch.get(c.epoch)![i])]
        .join(","),
    );
  });
  await out.write("per_tile.csv", csv.join("\r\n") + "\r\n");
  const models = checkpoints.map((c) => ({
    name: `epoch ${c.epoch}`,
    values: dscByEpoch.get(c.epoch)!,
  }));
  await out.write(
    "dsc_per_tile.svg",
    boxPlot([{ name: OTSU, values: otsuDsc }, ...models], {
      yDomain: [0, 1],
      title: `Per-tile DSC (${subtitle})`,
      yLabel: "DSC",
    }),
  );
  const lastSeries = { name: `U-Net epoch ${last.epoch}`, values: dscByEpoch.get(last.epoch)! };
  await out.write(
    "dsc_per_tile_hist.svg",
    histogram([{ name: OTSU, values: otsuDsc }, lastSeries], {
      range: [0, 1],
      bins: 20,
      normalize: true,
      title: `Per-tile DSC, Otsu vs U-Net (${subtitle})`,
      xLabel: "DSC",
      yLabel: "fraction of tiles",
    }),
  );
}

const CURVE_CAPTIONS: Record<string, string> = {
  "loss_epoch.svg": "Training loss per epoch",
  "loss_batch.svg": "Loss of every batch",
  "loss_time.svg": "Training loss against relative time",
  "val_epoch.svg": "Validation scores per epoch",
  "val_time.svg": "Validation scores against relative time",
};

/** Phase 4: training curves from `RUN/log.jsonl`, and the training summary for the report. */
async function writeCurves(out: OutputFolder, run: string, say: (line: string) => void) {
  const curves: Figure[] = [];
  const logPath = join(run, "log.jsonl");
  let training: { epochs: number; minutes: number; backend?: string; params?: number } | undefined;
  if (!(await exists(logPath))) {
    say(`evaluate: ${logPath} not found; no training curves`);
    return { curves, training };
  }
  const log = await readTrainingLog(logPath);
  for (const [name, svg] of Object.entries(trainingCurves(log))) {
    await out.write(`curves/${name}`, svg);
    curves.push({ path: `curves/${name}`, caption: CURVE_CAPTIONS[name] ?? name });
  }
  const lastEpoch = log.epochs[log.epochs.length - 1];
  if (lastEpoch) {
    training = { epochs: lastEpoch.epoch, minutes: lastEpoch.timeS / 60 };
    if (log.backend) training.backend = log.backend;
    if (log.params) training.params = log.params;
  }
  return { curves, training };
}

/**
 * Phase 5: overlays of the best, median and worst tile of the last checkpoint. Only tiles with
 * vessels in the truth: a blank tile predicted blank (DSC 1) shows nothing.
 */
async function writeOverlays(
  out: OutputFolder,
  ds: PreparedDataset,
  tiles: readonly PreparedTile[],
  last: RunCheckpoint,
  lastConf: Confusion[],
  lastDsc: Float64Array,
  opts: { batchSize: number; norm: Normalization; threshold: number },
) {
  const sizePx = ds.manifest.tileSizePx;
  let pool = tiles.map((_, i) => i).filter((i) => lastConf[i].tp + lastConf[i].fn > 0);
  if (pool.length === 0) pool = tiles.map((_, i) => i);
  const picks = pickBestMedianWorst(pool.map((i) => tiles[i].id), pool.map((i) => lastDsc[i]))
    .map((p) => ({ ...p, index: pool[p.index] }));
  const lastModel = await loadCheckpointModel(last.dir);
  let preds: Uint8Array[];
  try {
    preds = await predictFew(lastModel, ds, picks.map((p) => tiles[p.index]), opts);
  } finally {
    lastModel.dispose();
  }
  const overlays: { path: string; role: string; id: string; dsc: number }[] = [];
  const panels: RgbPicture[] = [];
  for (let k = 0; k < picks.length; k++) {
    const tile = tiles[picks[k].index];
    const { rgbHWC, maskU8 } = await ds.read(tile);
    const strip = overlayPanels(rgbHWC, sizePx, maskU8, preds[k]);
    panels.push(...strip);
    const sheet = contactSheet(strip, { columns: 3, gapPx: 2 });
    const name = `overlays/${picks[k].role}_${tile.id}.png`;
    await out.write(name, encodePng(sheet.rgb, sheet.width, sheet.height, 3));
    overlays.push({ path: name, role: picks[k].role, id: tile.id, dsc: lastDsc[picks[k].index] });
  }
  let contact: string | undefined;
  if (panels.length > 0) {
    const sheet = contactSheet(panels, { columns: 3 });
    contact = "overlays/contact_sheet.png";
    await out.write(contact, encodePng(sheet.rgb, sheet.width, sheet.height, 3));
  }
  return { overlays, contact };
}

/** Table 1 of a `deno task baseline --out` folder, with its figure relative to `out`. */
async function readTable1(baseline: string, out: string) {
  const rel = relative(out, baseline).split(sep).join("/") || ".";
  return {
    md: await Deno.readTextFile(join(baseline, "table1.md")),
    figures: (await exists(join(baseline, "scores_dsc.svg")))
      ? [{ path: `${rel}/scores_dsc.svg`, caption: "Per-tile DSC of the baselines" }]
      : [],
  };
}

function table3Json(rows: Table3Row[]) {
  return rows.map((r) => ({
    mode: r.mode,
    model: r.model,
    epoch: r.epoch,
    scores: Object.fromEntries(
      Object.entries(r.scores).map(([k, v]) => [k, Number.isNaN(v) ? null : v]),
    ),
    counts: r.counts,
  }));
}

/**
 * Evaluates a run; see the module doc for the outputs.
 *
 * @example
 * ```ts ignore
 * import { evaluateRun } from "./run.ts";
 * const r = await evaluateRun({ run: "out/demo/run", prepared: "out/demo/prepared" });
 * console.log(r.reportPath);
 * ```
 */
export async function evaluateRun(opts: EvaluateOptions): Promise<EvaluateResult> {
  const say = opts.log ?? (opts.quiet ? () => {} : (line: string) => console.error(line));
  const split = opts.split ?? "val";
  const out = new OutputFolder(opts.out ?? join(opts.run, "eval"));
  const checkpoints = await listEpochCheckpoints(opts.run);
  for (const ck of checkpoints) await readModelJson(ck.dir); // weights checked before any work
  const last = checkpoints[checkpoints.length - 1];
  const table1Path = opts.baseline === undefined ? undefined : join(opts.baseline, "table1.md");
  if (table1Path !== undefined && !(await exists(table1Path))) {
    throw new InputError(table1Path, undefined, "no such file (run `deno task baseline` first)");
  }
  const ds = await openPrepared(opts.prepared);
  try {
    const tiles = tilesOfSplit(ds, opts.prepared, split);
    const norms = new Map<number, Normalization>();
    let lastMeta: InferenceMeta | undefined;
    for (const ck of checkpoints) {
      lastMeta = await checkpointMeta(ck, ds, opts.prepared);
      norms.set(ck.epoch, lastMeta.normalize ?? {});
    }
    const threshold = opts.threshold ?? lastMeta!.threshold;
    const thresholdSource = opts.threshold === undefined ? "run" : "flag";
    say(
      `evaluate: threshold ${threshold} (${
        thresholdSource === "run" ? `saved by the run, ${last.name}` : "--threshold"
      })`,
    );
    tf.enableProdMode();
    let backend = tf.getBackend();
    if (!opts.keepBackend) backend = (await initBackend(opts.backend ?? "auto", { log: say })).name;
    const batchSize = opts.batchSize ?? last.config.batchSize;
    const sizePx = ds.manifest.tileSizePx;

    const otsu = await scoreOtsu(ds, tiles);
    const byEpoch = await scoreCheckpoints(ds, tiles, checkpoints, norms, {
      batchSize,
      threshold,
      quiet: opts.quiet,
    });
    const models: ScoredModel[] = [
      { name: OTSU, epoch: null, confusions: otsu },
      ...checkpoints.map((ck) => ({
        name: "U-Net",
        epoch: ck.epoch,
        confusions: byEpoch.get(ck.epoch)!,
      })),
    ];
    const rows = table3Rows(models);
    const table = table3(rows, { split, tiles: tiles.length, tileSizePx: sizePx, threshold });
    const table3Md = toMarkdown(table);
    await out.write("table3.md", table3Md);
    await out.write("table3.csv", toCsv(table));
    await writeJsonAtomic(join(out.dir, "table3.json"), {
      run: opts.run,
      prepared: opts.prepared,
      split,
      threshold,
      tiles: tiles.length,
      tileSizePx: sizePx,
      backend,
      checkpoints: checkpoints.map((c) => ({ name: c.name, epoch: c.epoch, step: c.step })),
      table: toJson(table),
      rows: table3Json(rows),
    });
    out.files.push("table3.json");

    // Per-tile DSC (standard rule: an empty prediction on an empty tile is 1).
    const dscOf = (cs: Confusion[]) => perTile(cs, "dsc", "per-image");
    const otsuDsc = dscOf(otsu);
    const dscByEpoch = new Map(checkpoints.map((c) => [c.epoch, dscOf(byEpoch.get(c.epoch)!)]));
    const lastDsc = dscByEpoch.get(last.epoch)!;
    const subtitle = `${split}, ${tiles.length} tiles`;
    await writeDistributions(out, tiles, checkpoints, otsuDsc, dscByEpoch, subtitle);
    const { curves, training } = await writeCurves(out, opts.run, say);
    const { overlays, contact } = await writeOverlays(
      out,
      ds,
      tiles,
      last,
      byEpoch.get(last.epoch)!,
      lastDsc,
      { batchSize, norm: norms.get(last.epoch)!, threshold },
    );
    const table1 = opts.baseline === undefined
      ? undefined
      : await readTable1(opts.baseline, out.dir);
    const report = reportMarkdown({
      run: opts.run,
      prepared: opts.prepared,
      split,
      tiles: tiles.length,
      tileSizePx: sizePx,
      threshold,
      backend,
      rows,
      table3Md,
      otsuName: OTSU,
      lastDsc,
      otsuDsc,
      ...(training ? { training } : {}),
      curves,
      distributions: [
        { path: "dsc_per_tile.svg", caption: "Per-tile DSC, box plots" },
        { path: "dsc_per_tile_hist.svg", caption: "Per-tile DSC, histogram" },
      ],
      overlays,
      ...(contact ? { contactSheet: contact } : {}),
      ...(table1 ? { table1 } : {}),
    });
    await out.write("report.md", report);
    return {
      out: out.dir,
      checkpoints,
      rows,
      table,
      comparison: comparisonTable(rows, OTSU),
      tileIds: tiles.map((t) => t.id),
      confusions: { otsu, byEpoch },
      reportPath: join(out.dir, "report.md"),
      files: out.files,
      backend,
      threshold,
      thresholdSource,
    };
  } finally {
    ds.close();
  }
}
