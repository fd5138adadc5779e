/**
 * What the ablation curves show, computed from the runs' logs: per-arm numbers
 * ({@linkcode armStats}) and, per question, sentences that state the outcome and whether it agrees
 * with the reference study (Bell 2023): normalisation sped up the loss decrease; morph/colour
 * transforms did not help; combo beat BCE and focal; larger batches were steadier but slower.
 *
 * Definitions (all from `log.jsonl`, validation scores are micro DSC over the validation split):
 * - best / final DSC: the highest / the last validated epoch's DSC;
 * - DSC at the common epoch `E`: the DSC after epoch `E`, the fewest epochs any arm of the
 *   question finished within its budget — the arms' verdicts on DSC use it, so that an arm whose
 *   epochs happened to be slower (a shared CPU) is not judged on fewer epochs;
 * - loss decrease speed: the mean training loss over the first `E` epochs (the area under the
 *   epoch-loss curve over a common range,
 *   lower = faster), and the first epoch whose loss is at most the highest final loss of the arms;
 * - batch-loss noise: the median absolute change of the loss between consecutive batches;
 * - DSC at the common time `T`: the last DSC validated within `T` seconds of training wall time,
 *   `T` the shortest arm's total time.
 *
 * Two DSCs closer than {@linkcode DSC_TIE} are called a tie: one seed on a small synthetic set
 * does not resolve smaller differences.
 *
 * @module
 */
import type { TrainingLog } from "../report/curves.ts";
import type { Arm, Question } from "./plan.ts";

/** DSC differences below this are reported as ties. */
export const DSC_TIE = 0.01;

/** Numbers of one arm's run. */
export interface ArmStats {
  epochs: number;
  /** Training wall time of the run (s, the last epoch record's `timeS`). */
  timeS: number;
  sPerEpoch: number;
  finalDsc: number;
  bestDsc: number;
  bestEpoch: number;
  firstLoss: number;
  finalLoss: number;
  /** Median |loss change| between consecutive batches. */
  batchNoise: number;
}

/** An arm with its log, as the summary needs it. */
export interface ArmResult {
  arm: Arm;
  log: TrainingLog;
  /** Why the arm stopped: the time budget, the epoch cap, or a NaN loss. */
  reason?: "budget" | "epochs" | "nan";
}

function median(v: number[]): number {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The numbers of one run.
 *
 * @example
 * ```ts
 * import { armStats } from "./summary.ts";
 * const s = armStats({ epochs: [{ epoch: 1, loss: 0.5, timeS: 10, val: null }], batches: [] });
 * console.assert(s.epochs === 1 && Number.isNaN(s.bestDsc));
 * ```
 */
export function armStats(log: TrainingLog): ArmStats {
  const ep = log.epochs;
  const validated = ep.filter((e) => e.val !== null);
  let bestDsc = NaN, bestEpoch = NaN;
  for (const e of validated) {
    const d = e.val!.micro.dsc;
    if (!(d <= bestDsc)) {
      bestDsc = d;
      bestEpoch = e.epoch;
    }
  }
  const b = log.batches;
  const diffs: number[] = [];
  for (let i = 1; i < b.length; i++) diffs.push(Math.abs(b[i].loss - b[i - 1].loss));
  const timeS = ep.length ? ep[ep.length - 1].timeS : 0;
  return {
    epochs: ep.length,
    timeS,
    sPerEpoch: ep.length ? timeS / ep.length : NaN,
    finalDsc: validated.length ? validated[validated.length - 1].val!.micro.dsc : NaN,
    bestDsc,
    bestEpoch,
    firstLoss: ep.length ? ep[0].loss : NaN,
    finalLoss: ep.length ? ep[ep.length - 1].loss : NaN,
    batchNoise: median(diffs),
  };
}

/** Mean epoch loss over epochs 1..`e` (NaN if the run has fewer). */
export function meanLossOver(log: TrainingLog, e: number): number {
  const ep = log.epochs.filter((r) => r.epoch <= e);
  if (ep.length < e || e < 1) return NaN;
  return ep.reduce((a, r) => a + r.loss, 0) / ep.length;
}

/** The first epoch whose loss is ≤ `x` (NaN if none). */
export function epochToLoss(log: TrainingLog, x: number): number {
  return log.epochs.find((r) => r.loss <= x)?.epoch ?? NaN;
}

/** The validation DSC of epoch `e` (NaN if that epoch was not run or not validated). */
export function dscAtEpoch(log: TrainingLog, e: number): number {
  const r = log.epochs.find((x) => x.epoch === e);
  return r?.val ? r.val.micro.dsc : NaN;
}

/** The last validated DSC with `timeS ≤ t` (NaN if none). */
export function dscAtTime(log: TrainingLog, t: number): number {
  let d = NaN;
  for (const e of log.epochs) if (e.val !== null && e.timeS <= t + 1e-9) d = e.val.micro.dsc;
  return d;
}

/** A question's summary: a table of arms and the sentences. */
export interface QuestionSummary {
  question: Question;
  /** Markdown table rows (header first). */
  table: string[][];
  sentences: string[];
  /** Study claims checked: claim → agrees? (`undefined`: a tie, or the data cannot tell). */
  verdicts: { claim: string; agrees: boolean | undefined; detail: string }[];
}

/** "epoch 1" or "epochs 1–e". */
const upTo = (e: number) => (e === 1 ? "epoch 1" : `epochs 1–${e}`);
const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "n/a");
const f4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : "n/a");
const secs = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} s` : "n/a");

/** Arms ordered by best DSC, highest first (NaN last). */
function byBest(rs: { r: ArmResult; s: ArmStats }[]) {
  return [...rs].sort((a, b) => (b.s.bestDsc || -1) - (a.s.bestDsc || -1));
}

function ranking(rs: { r: ArmResult; s: ArmStats }[]): string {
  const sorted = byBest(rs);
  const top = sorted[0];
  const others = sorted.slice(1).map((x) =>
    `${x.r.arm.label} ${f3(x.s.bestDsc)} (epoch ${x.s.bestEpoch})`
  );
  return `Highest best validation DSC: ${top.r.arm.label}, ${f3(top.s.bestDsc)} at epoch ` +
    `${top.s.bestEpoch}` + (others.length ? `; then ${others.join(", ")}.` : ".") +
    ` Final DSCs: ${rs.map((x) => `${x.r.arm.label} ${f3(x.s.finalDsc)}`).join(", ")}.`;
}

function commonEpochSentence(rs: { r: ArmResult; s: ArmStats }[], e: number): string {
  const counts = rs.map((x) => x.s.epochs);
  const same = counts.every((c) => c === counts[0]);
  return (same
    ? `Every arm finished ${e} epochs within the budget. `
    : `Within the same budget the arms finished ${Math.min(...counts)}–${
      Math.max(...counts)
    } epochs; compared at epoch ${e}, the last one every arm reached. `) +
    `Validation DSC at epoch ${e}: ${
      rs.map((x) => `${x.r.arm.label} ${f3(dscAtEpoch(x.r.log, e))}`).join(", ")
    }.`;
}

function commonTable(rs: { r: ArmResult; s: ArmStats }[], extra: [
  string,
  (x: {
    r: ArmResult;
    s: ArmStats;
  }) => string,
][] = []): string[][] {
  return [
    [
      "arm",
      "epochs",
      "stopped by",
      "train time",
      "s/epoch",
      "final val DSC",
      "best val DSC (epoch)",
      ...extra.map((e) => e[0]),
    ],
    ...rs.map((x) => [
      x.r.arm.label,
      String(x.s.epochs),
      x.r.reason ?? "n/a",
      secs(x.s.timeS),
      secs(x.s.sPerEpoch),
      f3(x.s.finalDsc),
      `${f3(x.s.bestDsc)} (${Number.isFinite(x.s.bestEpoch) ? x.s.bestEpoch : "n/a"})`,
      ...extra.map((e) => e[1](x)),
    ]),
  ];
}

const find = (rs: { r: ArmResult; s: ArmStats }[], name: string) =>
  rs.find((x) => x.r.arm.name === name);

function verdictSentence(v: QuestionSummary["verdicts"][number]): string {
  const word = v.agrees === undefined ? "is inconclusive" : v.agrees ? "agrees" : "disagrees";
  return `Study: ${v.claim} — this run ${word}: ${v.detail}`;
}

/**
 * The summary of one question from its arms' logs (in the order of the question's arms).
 *
 * @example
 * ```ts ignore
 * const s = summarizeQuestion("loss", results);
 * console.log(s.sentences.join("\n"));
 * ```
 */
export function summarizeQuestion(question: Question, results: ArmResult[]): QuestionSummary {
  const rs = results.map((r) => ({ r, s: armStats(r.log) }));
  const verdicts: QuestionSummary["verdicts"] = [];
  const sentences: string[] = [];
  if (rs.length === 0) return { question, table: [], sentences, verdicts };
  const commonE = Math.min(...rs.map((x) => x.s.epochs));
  const lossX = Math.max(...rs.map((x) => x.s.finalLoss));
  let table: string[][];

  if (question === "normalization") {
    table = commonTable(rs, [
      [`val DSC at epoch ${commonE}`, (x) => f3(dscAtEpoch(x.r.log, commonE))],
      [`mean loss, ${upTo(commonE)}`, (x) => f4(meanLossOver(x.r.log, commonE))],
      [`first epoch with loss ≤ ${f4(lossX)}`, (x) => String(epochToLoss(x.r.log, lossX))],
    ]);
    sentences.push(ranking(rs), commonEpochSentence(rs, commonE));
    sentences.push(
      `Loss decrease (all arms use the same loss): mean training loss over ${upTo(commonE)} ` +
        rs.map((x) => `${x.r.arm.label} ${f4(meanLossOver(x.r.log, commonE))}`).join(", ") +
        ` (lower = faster); first epoch with loss ≤ ${f4(lossX)}: ` +
        rs.map((x) => `${x.r.arm.label} ${epochToLoss(x.r.log, lossX)}`).join(", ") + ".",
    );
    const raw = find(rs, "raw"), norm = find(rs, "normalised");
    if (raw && norm) {
      const a = meanLossOver(raw.r.log, commonE), b = meanLossOver(norm.r.log, commonE);
      verdicts.push({
        claim: "normalisation sped up the loss decrease",
        agrees: Number.isFinite(a) && Number.isFinite(b) ? b < a : undefined,
        detail: `mean loss over ${upTo(commonE)}: normalised ${f4(b)} vs raw ${f4(a)}.`,
      });
    }
    const aug = rs.filter((x) => x.r.arm.name.startsWith("normalised-"));
    const d = (x: { r: ArmResult }) => dscAtEpoch(x.r.log, commonE);
    if (norm && aug.length > 0 && Number.isFinite(d(norm))) {
      const helped = aug.filter((x) => d(x) > d(norm) + DSC_TIE);
      verdicts.push({
        claim: "morph/colour transforms did not help",
        agrees: helped.length === 0,
        detail: `DSC at epoch ${commonE}: normalised ${f3(d(norm))}; ` +
          aug.map((x) => `${x.r.arm.label} ${f3(d(x))}`).join(", ") +
          (helped.length === 0
            ? ` (no transform arm beat it by more than ${DSC_TIE}).`
            : ` (${helped.map((x) => x.r.arm.label).join(", ")} beat it by more than ${DSC_TIE}).`),
      });
    }
  } else if (question === "batch") {
    const byBatch = [...rs].sort((a, b) =>
      (a.r.arm.settings.batchSize ?? 0) - (b.r.arm.settings.batchSize ?? 0)
    );
    const T = Math.min(...rs.map((x) => x.s.timeS));
    table = commonTable(byBatch, [
      ["batch-loss noise", (x) => f4(x.s.batchNoise)],
      [`DSC at ${secs(T)}`, (x) => f3(dscAtTime(x.r.log, T))],
    ]);
    sentences.push(ranking(byBatch));
    sentences.push(
      `Per epoch: ${byBatch.map((x) => `${x.r.arm.label} ${secs(x.s.sPerEpoch)}`).join(", ")}; ` +
        `epochs within the budget: ${
          byBatch.map((x) => `${x.r.arm.label} ${x.s.epochs}`).join(", ")
        }.`,
    );
    sentences.push(
      `Batch-loss noise (median |change| between consecutive batches): ` +
        byBatch.map((x) => `${x.r.arm.label} ${f4(x.s.batchNoise)}`).join(", ") +
        `; validation DSC at the common time ${secs(T)}: ` +
        byBatch.map((x) => `${x.r.arm.label} ${f3(dscAtTime(x.r.log, T))}`).join(", ") + ".",
    );
    if (byBatch.length >= 2) {
      const small = byBatch[0], large = byBatch[byBatch.length - 1];
      const noise = byBatch.map((x) => x.s.batchNoise);
      const steadier = noise.every((v, i) => i === 0 || v < noise[i - 1]);
      verdicts.push({
        claim: "larger batches were steadier",
        agrees: noise.every(Number.isFinite) ? steadier : undefined,
        detail: `batch-loss noise ${
          steadier ? "falls" : "does not fall steadily"
        } with the batch size (${noise.map(f4).join(" → ")}).`,
      });
      const ds = dscAtTime(small.r.log, T), dl = dscAtTime(large.r.log, T);
      verdicts.push({
        claim: "larger batches were slower",
        agrees: Number.isFinite(ds) && Number.isFinite(dl) ? dl < ds - DSC_TIE : undefined,
        detail: `at the common time ${secs(T)} ${large.r.arm.label} reached DSC ${f3(dl)}, ` +
          `${small.r.arm.label} ${f3(ds)} (slower = lower by more than ${DSC_TIE}).`,
      });
    }
  } else {
    table = commonTable(rs, [
      [`val DSC at epoch ${commonE}`, (x) => f3(dscAtEpoch(x.r.log, commonE))],
      ["final training loss", (x) => f4(x.s.finalLoss)],
    ]);
    sentences.push(ranking(rs), commonEpochSentence(rs, commonE));
    sentences.push(
      "The training losses are on different scales (BCE, focal and combo measure different " +
        "things), so only the validation DSC is compared across arms.",
    );
    const combo = find(rs, "combo");
    const others = rs.filter((x) => x.r.arm.name !== "combo");
    if (combo && others.length > 0) {
      // margin > 0: combo is ahead of the best other arm
      const d = (x: { r: ArmResult }) => dscAtEpoch(x.r.log, commonE);
      const margin = Math.min(...others.map((x) => d(combo) - d(x)));
      const tie = Math.abs(margin) < DSC_TIE;
      verdicts.push({
        claim: "combo beat BCE and focal",
        agrees: Number.isFinite(margin) && !tie ? margin > 0 : undefined,
        detail: `DSC at epoch ${commonE}: combo ${f3(d(combo))}, ` +
          others.map((x) => `${x.r.arm.label} ${f3(d(x))}`).join(", ") +
          (tie && Number.isFinite(margin)
            ? ` (combo ${margin >= 0 ? "ahead" : "behind"} by ${f3(Math.abs(margin))}, a tie).`
            : "."),
      });
    }
  }
  const nan = rs.filter((x) => x.r.reason === "nan");
  if (nan.length > 0) {
    sentences.push(`Stopped by a NaN loss: ${nan.map((x) => x.r.arm.label).join(", ")}.`);
  }
  sentences.push(...verdicts.map(verdictSentence));
  return { question, table, sentences, verdicts };
}
