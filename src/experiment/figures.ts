/**
 * One comparison figure per question, as an SVG of two line charts side by side (`../report/svg.ts`):
 * - normalisation (study Fig. 3): mean training loss per epoch | validation DSC per epoch;
 * - batch size (Fig. 4): every batch's loss | validation DSC, both against minutes of training;
 * - loss (Fig. 5): validation DSC per epoch | validation DSC against minutes (the losses
 *   themselves are on different scales and are not drawn).
 *
 * @module
 */
import { lineChart, type LineSeries, PALETTE } from "../report/svg.ts";
import { QUESTION_TITLES } from "./plan.ts";
import type { ArmResult } from "./summary.ts";
import type { Question } from "./plan.ts";

const PANEL_W = 640, PANEL_H = 380;
const MARGIN = { right: 210 };

/**
 * Puts standalone SVG documents (as `lineChart` returns) next to each other in one SVG.
 *
 * @example
 * ```ts
 * import { sideBySide } from "./figures.ts";
 * const a = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="5"></svg>';
 * console.assert(sideBySide([a, a], 10, 5).includes('x="10"'));
 * ```
 */
export function sideBySide(svgs: string[], panelW: number, panelH: number): string {
  const w = panelW * svgs.length;
  const inner = svgs.map((s, i) =>
    s.replace(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /, `<svg x="${i * panelW}" y="0" `)
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${panelH}" ` +
    `viewBox="0 0 ${w} ${panelH}">\n${inner.join("")}</svg>\n`;
}

const validated = (r: ArmResult) => r.log.epochs.filter((e) => e.val !== null);

function series(
  results: ArmResult[],
  pick: (r: ArmResult) => { x: number[]; y: number[] },
): LineSeries[] {
  return results.map((r, i) => ({
    name: r.arm.label,
    color: PALETTE[i % PALETTE.length],
    ...pick(r),
  }));
}

const dscEpoch = (r: ArmResult) => ({
  x: validated(r).map((e) => e.epoch),
  y: validated(r).map((e) => e.val!.micro.dsc),
});
const dscTime = (r: ArmResult) => ({
  x: validated(r).map((e) => e.timeS / 60),
  y: validated(r).map((e) => e.val!.micro.dsc),
});

/** The comparison figure of `question` from its arms' logs. */
export function questionFigure(question: Question, results: ArmResult[]): string {
  const common = { width: PANEL_W, height: PANEL_H, margin: MARGIN, legendOutside: true };
  const dsc = { ...common, yLabel: "validation DSC (micro)", yDomain: [0, 1] as [number, number] };
  const t = QUESTION_TITLES[question].replace(/ \(study .*\)$/, "");
  let panels: string[];
  if (question === "normalization") {
    panels = [
      lineChart(
        series(results, (r) => ({
          x: r.log.epochs.map((e) => e.epoch),
          y: r.log.epochs.map((e) => e.loss),
        })),
        { ...common, title: `${t}: training loss`, xLabel: "epoch", yLabel: "mean loss" },
      ),
      lineChart(series(results, dscEpoch), {
        ...dsc,
        title: `${t}: validation DSC`,
        xLabel: "epoch",
      }),
    ];
  } else if (question === "batch") {
    panels = [
      lineChart(
        series(results, (r) => ({
          x: r.log.batches.map((b) => b.timeS / 60),
          y: r.log.batches.map((b) => b.loss),
        })),
        {
          ...common,
          markers: false,
          title: "Batch size: loss of every batch",
          xLabel: "minutes of training",
          yLabel: "batch loss",
        },
      ),
      lineChart(series(results, dscTime), {
        ...dsc,
        title: "Batch size: validation DSC",
        xLabel: "minutes of training",
      }),
    ];
  } else {
    panels = [
      lineChart(series(results, dscEpoch), {
        ...dsc,
        title: "Loss: validation DSC",
        xLabel: "epoch",
      }),
      lineChart(series(results, dscTime), {
        ...dsc,
        title: "Loss: validation DSC against time",
        xLabel: "minutes of training",
      }),
    ];
  }
  return sideBySide(panels, PANEL_W, PANEL_H);
}
