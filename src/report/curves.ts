/**
 * Training curves from a run's `log.jsonl` (written by `src/train/loop.ts`), drawn with the SVG
 * module `./svg.ts`: the study's Figures 3–6 show the loss and the validation scores against
 * epochs and against relative wall time.
 *
 * Reading the log: one JSON record a line; `batch` and `epoch` records are used. A run that was
 * resumed from an earlier checkpoint can repeat batches or epochs; the last record for a step (or
 * an epoch) wins, since it describes the weights the run went on with. A malformed line is an
 * `InputError` naming the file and line.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { readInputText } from "../io.ts";
import { lineChart } from "./svg.ts";

/** Validation scores of one reduction, as logged. */
export interface LoggedScores {
  dsc: number;
  iou: number;
  sensitivity: number;
  specificity: number;
  precision: number;
}

/** An `epoch` record. */
export interface EpochRecord {
  epoch: number;
  /** Mean training loss over the epoch's tiles. */
  loss: number;
  /** Seconds of training wall time since the run started. */
  timeS: number;
  val: { micro: LoggedScores; perImage: LoggedScores; tiles: number } | null;
}

/** A `batch` record. */
export interface BatchRecord {
  epoch: number;
  batch: number;
  step: number;
  loss: number;
  timeS: number;
}

/** What the curves need from a log. */
export interface TrainingLog {
  epochs: EpochRecord[];
  batches: BatchRecord[];
  /** The `start` record's backend and parameter count (of the first start). */
  backend?: string;
  params?: number;
}

/**
 * Parses `log.jsonl` text. `name` is used in error messages.
 *
 * @example
 * ```ts
 * import { parseTrainingLog } from "./curves.ts";
 * const log = parseTrainingLog('{"type":"epoch","epoch":1,"loss":0.5,"timeS":3,"val":null}\n', "log.jsonl");
 * console.assert(log.epochs[0].loss === 0.5);
 * ```
 */
export function parseTrainingLog(text: string, name: string): TrainingLog {
  const epochs = new Map<number, EpochRecord>();
  const batches = new Map<number, BatchRecord>();
  let backend: string | undefined, params: number | undefined;
  const lines = text.split("\n");
  const num = (rec: Record<string, unknown>, field: string, line: number): number => {
    const v = rec[field];
    if (typeof v !== "number") {
      throw new InputError(name, line, `${rec.type} record: field ${field} is not a number`);
    }
    return v;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      throw new InputError(name, i + 1, `bad JSON: ${(e as Error).message}`);
    }
    if (rec === null || typeof rec !== "object" || typeof rec.type !== "string") {
      throw new InputError(name, i + 1, "record without a type");
    }
    if (rec.type === "start" && backend === undefined) {
      if (typeof rec.backend === "string") backend = rec.backend;
      if (typeof rec.params === "number") params = rec.params;
    } else if (rec.type === "batch") {
      const step = num(rec, "step", i + 1);
      batches.set(step, {
        epoch: num(rec, "epoch", i + 1),
        batch: num(rec, "batch", i + 1),
        step,
        loss: num(rec, "loss", i + 1),
        timeS: num(rec, "timeS", i + 1),
      });
    } else if (rec.type === "epoch") {
      const epoch = num(rec, "epoch", i + 1);
      const val = rec.val as EpochRecord["val"] | undefined;
      if (val !== null && (typeof val !== "object" || val === undefined || !val.micro)) {
        throw new InputError(name, i + 1, "epoch record: field val is neither null nor scores");
      }
      epochs.set(epoch, {
        epoch,
        loss: num(rec, "loss", i + 1),
        timeS: num(rec, "timeS", i + 1),
        val,
      });
    }
  }
  const out: TrainingLog = {
    epochs: [...epochs.values()].sort((a, b) => a.epoch - b.epoch),
    batches: [...batches.values()].sort((a, b) => a.step - b.step),
  };
  if (backend !== undefined) out.backend = backend;
  if (params !== undefined) out.params = params;
  return out;
}

/** Reads and parses a `log.jsonl` file. */
export async function readTrainingLog(path: string): Promise<TrainingLog> {
  return parseTrainingLog(await readInputText(path, "a log.jsonl file"), path);
}

/** The SVG files {@linkcode trainingCurves} produces, by file name. */
export type CurveFiles = Record<string, string>;

const VAL_SERIES = [
  ["dsc", "DSC"],
  ["iou", "IoU"],
  ["sensitivity", "Sensitivity"],
  ["specificity", "Specificity"],
] as const;

/**
 * The training curves as SVG documents, keyed by file name:
 * - `loss_epoch.svg` — mean training loss per epoch;
 * - `loss_batch.svg` — every batch's loss against the optimizer step;
 * - `val_epoch.svg` — validation DSC, IoU, sensitivity, specificity (micro solid, per-image
 *   dashed) against the epoch;
 * - `val_time.svg` — the same against relative wall time (minutes since the run started);
 * - `loss_time.svg` — the epoch loss against relative wall time.
 * Validation charts are left out when no epoch was validated.
 *
 * @example
 * ```ts
 * import { trainingCurves } from "./curves.ts";
 * const files = trainingCurves({ epochs: [{ epoch: 1, loss: 0.5, timeS: 60, val: null }], batches: [] });
 * console.assert("loss_epoch.svg" in files && !("val_epoch.svg" in files));
 * ```
 */
export function trainingCurves(log: TrainingLog, opts: { title?: string } = {}): CurveFiles {
  const pre = opts.title ? `${opts.title}: ` : "";
  const files: CurveFiles = {};
  const ep = log.epochs;
  const epochX = ep.map((e) => e.epoch);
  const minutes = ep.map((e) => e.timeS / 60);
  files["loss_epoch.svg"] = lineChart(
    [{ name: "training loss", x: epochX, y: ep.map((e) => e.loss) }],
    { title: `${pre}mean training loss per epoch`, xLabel: "epoch", yLabel: "loss" },
  );
  files["loss_time.svg"] = lineChart(
    [{ name: "training loss", x: minutes, y: ep.map((e) => e.loss) }],
    {
      title: `${pre}mean training loss against relative time`,
      xLabel: "minutes since start",
      yLabel: "loss",
    },
  );
  files["loss_batch.svg"] = lineChart(
    [{ name: "batch loss", x: log.batches.map((b) => b.step), y: log.batches.map((b) => b.loss) }],
    { title: `${pre}loss of every batch`, xLabel: "optimizer step", yLabel: "loss" },
  );
  const validated = ep.filter((e) => e.val !== null);
  if (validated.length > 0) {
    const series = (x: number[]) =>
      VAL_SERIES.flatMap(([key, label], i) => [
        {
          name: `${label} micro`,
          x,
          y: validated.map((e) => e.val!.micro[key]),
          color: PALETTE4[i],
        },
        {
          name: `${label} per-image`,
          x,
          y: validated.map((e) => e.val!.perImage[key]),
          color: PALETTE4[i],
          dashed: true,
        },
      ]);
    const scoreChart = {
      yLabel: "score",
      yDomain: [0, 1] as [number, number],
      width: 780,
      height: 440,
      margin: { right: 160 },
      legendOutside: true,
    };
    files["val_epoch.svg"] = lineChart(series(validated.map((e) => e.epoch)), {
      ...scoreChart,
      title: `${pre}validation scores per epoch`,
      xLabel: "epoch",
    });
    files["val_time.svg"] = lineChart(series(validated.map((e) => e.timeS / 60)), {
      ...scoreChart,
      title: `${pre}validation scores against relative time`,
      xLabel: "minutes since start",
    });
  }
  return files;
}

// Okabe & Ito colours, one per validation score (micro and per-image share a colour).
const PALETTE4 = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"];
