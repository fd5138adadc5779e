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
import type { Split } from "../data/prepared.ts";
import { encodePng } from "../data/png.ts";
import { openPrepared } from "../data/prepared_io.ts";
import { InputError } from "../errors.ts";
import { exists, writeFileAtomic, writeJsonAtomic, writeTextFileAtomic } from "../io.ts";
import { type Confusion, confusion } from "../metrics/confusion.ts";
import { perTile } from "../metrics/reduce.ts";
import { Progress } from "../progress.ts";
import { readTrainingLog, trainingCurves } from "../report/curves.ts";
import {
  confusionOverlay,
  contactSheet,
  predictionOverlay,
  type RgbPicture,
} from "../report/overlay.ts";
import { type Figure, reportMarkdown } from "../report/report_md.ts";
import { boxPlot, histogram } from "../report/svg.ts";
import { type Table, toCsv, toJson, toMarkdown } from "../report/table.ts";
import { type BackendChoice, initBackend } from "../train/backends.ts";
import { loadCheckpointModel } from "../train/checkpoint.ts";
import { type Normalization, normalizationFor } from "../train/data.ts";
import { listCheckpoints, type RunCheckpoint } from "./checkpoints.ts";
import { predictFew, scoreModel } from "./score.ts";
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
  /** Probability threshold. Default 0.5. */
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
}

/** Name of the Otsu row. */
export const OTSU = "Otsu";

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
  const say = opts.log ?? ((line: string) => console.error(line));
  const split = opts.split ?? "val";
  const threshold = opts.threshold ?? 0.5;
  const out = opts.out ?? join(opts.run, "eval");
  const checkpoints = await listCheckpoints(opts.run);
  const last = checkpoints[checkpoints.length - 1];
  const table1Path = opts.baseline === undefined ? undefined : join(opts.baseline, "table1.md");
  if (table1Path !== undefined && !(await exists(table1Path))) {
    throw new InputError(table1Path, undefined, "no such file (run `deno task baseline` first)");
  }
  const ds = await openPrepared(opts.prepared);
  try {
    const tiles = ds.tiles(split);
    if (tiles.length === 0) {
      throw new InputError(
        join(opts.prepared, "manifest.json"),
        undefined,
        `no tiles in split "${split}"`,
      );
    }
    const sizePx = ds.manifest.tileSizePx;
    const px = sizePx * sizePx;
    let norm: Normalization;
    try {
      norm = normalizationFor(last.config.normalize, ds.manifest.stats);
    } catch (e) {
      throw new InputError(join(opts.prepared, "manifest.json"), undefined, (e as Error).message);
    }
    tf.enableProdMode();
    let backend = tf.getBackend();
    if (!opts.keepBackend) backend = (await initBackend(opts.backend ?? "auto", { log: say })).name;
    const batchSize = opts.batchSize ?? last.config.batchSize;

    // Otsu on the same tiles, one at a time.
    const otsu: Confusion[] = [];
    const scratch: OtsuScratch = {};
    for (const t of tiles) {
      const { rgbHWC, maskU8 } = await ds.read(t);
      otsu.push(confusion(otsuMask(rgbHWC, { scratch }).maskU8, maskU8));
    }

    // Every checkpoint, batched.
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
            batchSize,
            norm,
            threshold,
            onBatch: (n) => progress.tick(n, `epoch ${ck.epoch}`),
          }),
        );
      } finally {
        model.dispose();
      }
    }
    progress.done();

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
    const files: string[] = [];
    const write = async (name: string, data: string | Uint8Array) => {
      const path = join(out, name);
      if (typeof data === "string") await writeTextFileAtomic(path, data);
      else await writeFileAtomic(path, data);
      files.push(name);
    };
    const table3Md = toMarkdown(table);
    await write("table3.md", table3Md);
    await write("table3.csv", toCsv(table));
    await writeJsonAtomic(join(out, "table3.json"), {
      run: opts.run,
      prepared: opts.prepared,
      split,
      threshold,
      tiles: tiles.length,
      tileSizePx: sizePx,
      backend,
      checkpoints: checkpoints.map((c) => ({ name: c.name, epoch: c.epoch, step: c.step })),
      table: toJson(table),
      rows: rows.map((r) => ({
        mode: r.mode,
        model: r.model,
        epoch: r.epoch,
        scores: Object.fromEntries(
          Object.entries(r.scores).map(([k, v]) => [k, Number.isNaN(v) ? null : v]),
        ),
        counts: r.counts,
      })),
    });
    files.push("table3.json");

    // Per-tile DSC (standard rule: an empty prediction on an empty tile is 1).
    const dscOf = (cs: Confusion[]) => perTile(cs, "dsc", "per-image");
    const otsuDsc = dscOf(otsu);
    const dscByEpoch = new Map(checkpoints.map((c) => [c.epoch, dscOf(byEpoch.get(c.epoch)!)]));
    const lastDsc = dscByEpoch.get(last.epoch)!;
    const header = [
      "id",
      "vessel_px",
      "otsu_dsc",
      ...checkpoints.map((c) => `epoch_${c.epoch}_dsc`),
    ];
    const csv = [header.join(",")];
    tiles.forEach((t, i) => {
      csv.push(
        [t.id, t.vesselPx, otsuDsc[i], ...checkpoints.map((c) => dscByEpoch.get(c.epoch)![i])]
          .join(","),
      );
    });
    await write("per_tile.csv", csv.join("\r\n") + "\r\n");
    const subtitle = `${split}, ${tiles.length} tiles`;
    await write(
      "dsc_per_tile.svg",
      boxPlot(
        [
          { name: OTSU, values: otsuDsc },
          ...checkpoints.map((c) => ({
            name: `epoch ${c.epoch}`,
            values: dscByEpoch.get(c.epoch)!,
          })),
        ],
        { yDomain: [0, 1], title: `Per-tile DSC (${subtitle})`, yLabel: "DSC" },
      ),
    );
    await write(
      "dsc_per_tile_hist.svg",
      histogram(
        [{ name: OTSU, values: otsuDsc }, { name: `U-Net epoch ${last.epoch}`, values: lastDsc }],
        {
          range: [0, 1],
          bins: 20,
          normalize: true,
          title: `Per-tile DSC, Otsu vs U-Net (${subtitle})`,
          xLabel: "DSC",
          yLabel: "fraction of tiles",
        },
      ),
    );

    // Training curves.
    const curves: Figure[] = [];
    const logPath = join(opts.run, "log.jsonl");
    let training:
      | { epochs: number; minutes: number; backend?: string; params?: number }
      | undefined;
    if (await exists(logPath)) {
      const log = await readTrainingLog(logPath);
      const captions: Record<string, string> = {
        "loss_epoch.svg": "Training loss per epoch",
        "loss_batch.svg": "Loss of every batch",
        "loss_time.svg": "Training loss against relative time",
        "val_epoch.svg": "Validation scores per epoch",
        "val_time.svg": "Validation scores against relative time",
      };
      for (const [name, svg] of Object.entries(trainingCurves(log))) {
        await write(`curves/${name}`, svg);
        curves.push({ path: `curves/${name}`, caption: captions[name] ?? name });
      }
      const lastEpoch = log.epochs[log.epochs.length - 1];
      if (lastEpoch) {
        training = { epochs: lastEpoch.epoch, minutes: lastEpoch.timeS / 60 };
        if (log.backend) training.backend = log.backend;
        if (log.params) training.params = log.params;
      }
    } else {
      say(`evaluate: ${logPath} not found; no training curves`);
    }

    // Overlays of the best, median and worst tile of the last checkpoint.
    // Only tiles with vessels in the truth: a blank tile predicted blank (DSC 1) shows nothing.
    const lastConf = byEpoch.get(last.epoch)!;
    let pool = tiles.map((_, i) => i).filter((i) => lastConf[i].tp + lastConf[i].fn > 0);
    if (pool.length === 0) pool = tiles.map((_, i) => i);
    const picks = pickBestMedianWorst(
      pool.map((i) => tiles[i].id),
      pool.map((i) => lastDsc[i]),
    ).map((p) => ({ ...p, index: pool[p.index] }));
    const lastModel = await loadCheckpointModel(last.dir);
    let preds: Uint8Array[];
    try {
      preds = await predictFew(lastModel, ds, picks.map((p) => tiles[p.index]), {
        batchSize,
        norm,
        threshold,
      });
    } finally {
      lastModel.dispose();
    }
    const overlays: { path: string; role: string; id: string; dsc: number }[] = [];
    const panels: RgbPicture[] = [];
    for (let k = 0; k < picks.length; k++) {
      const tile = tiles[picks[k].index];
      const { rgbHWC, maskU8 } = await ds.read(tile);
      const pred = preds[k];
      if (pred.length !== px) throw new Error("evaluate: prediction size mismatch");
      const strip: RgbPicture[] = [
        { width: sizePx, height: sizePx, rgb: rgbHWC },
        {
          width: sizePx,
          height: sizePx,
          rgb: predictionOverlay(rgbHWC, sizePx, sizePx, maskU8, pred),
        },
        {
          width: sizePx,
          height: sizePx,
          rgb: confusionOverlay(rgbHWC, sizePx, sizePx, maskU8, pred),
        },
      ];
      panels.push(...strip);
      const sheet = contactSheet(strip, { columns: 3, gapPx: 2 });
      const name = `overlays/${picks[k].role}_${tile.id}.png`;
      await write(name, encodePng(sheet.rgb, sheet.width, sheet.height, 3));
      overlays.push({ path: name, role: picks[k].role, id: tile.id, dsc: lastDsc[picks[k].index] });
    }
    let contact: string | undefined;
    if (panels.length > 0) {
      const sheet = contactSheet(panels, { columns: 3 });
      contact = "overlays/contact_sheet.png";
      await write(contact, encodePng(sheet.rgb, sheet.width, sheet.height, 3));
    }

    let table1: { md: string; figures: Figure[] } | undefined;
    if (opts.baseline !== undefined && table1Path !== undefined) {
      const rel = relative(out, opts.baseline).split(sep).join("/") || ".";
      table1 = {
        md: await Deno.readTextFile(table1Path),
        figures: (await exists(join(opts.baseline, "scores_dsc.svg")))
          ? [{ path: `${rel}/scores_dsc.svg`, caption: "Per-tile DSC of the baselines" }]
          : [],
      };
    }

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
    await write("report.md", report);
    return {
      out,
      checkpoints,
      rows,
      table,
      comparison: comparisonTable(rows, OTSU),
      tileIds: tiles.map((t) => t.id),
      confusions: { otsu, byEpoch },
      reportPath: join(out, "report.md"),
      files,
      backend,
    };
  } finally {
    ds.close();
  }
}
