/**
 * `experiments.md`: for each question its figure, a table of the arms and the sentences of
 * {@linkcode summarizeQuestion} — all computed from the logs.
 *
 * @module
 */
import { QUESTION_TITLES } from "./plan.ts";
import { DSC_TIE, type QuestionSummary } from "./summary.ts";

/** What the header of `experiments.md` states about the setup. */
export interface ExperimentSetup {
  /** Data description, e.g. "synthetic, 300 tiles, seed 0, prepared at scale 0.25". */
  data: string;
  trainTiles: number;
  valTiles: number;
  tileSizePx: number;
  backend: string;
  seed: number;
  budgetS: number;
  maxEpochs: number;
  /** Distinct trainings run (arms with identical settings share one). */
  distinctArms: number;
  /** Wall time of this invocation (s) and whether arms were reused. */
  wallS: number;
  /** Logged training time of the distinct arms together (s), reused ones included. */
  trainS: number;
  reusedArms: number;
  /** The base settings, as `key value` text. */
  base: string;
}

/**
 * The whole `experiments.md`.
 *
 * @example
 * ```ts ignore
 * const md = experimentsMarkdown(setup, [summarizeQuestion("loss", results)]);
 * ```
 */
export function experimentsMarkdown(setup: ExperimentSetup, summaries: QuestionSummary[]): string {
  const s = setup;
  const lines = [
    "# Ablations: the study's comparisons at CPU size",
    "",
    "Written by `deno task experiment`; every number and sentence below is computed from the " +
    "runs' `log.jsonl`, not typed by hand.",
    "",
    `- Data: ${s.data}; ${s.trainTiles} training and ${s.valTiles} validation tiles of ` +
    `${s.tileSizePx}² px.`,
    `- Model and settings: \`--preset tiny\` for every arm (same seed ${s.seed}, backend ` +
    `${s.backend}); each arm changes only the setting compared. Base:`,
    "",
    "```",
    s.base,
    "```",
    "",
    `- Budget: ${(s.budgetS / 60).toFixed(2)} min of training time per arm (training + ` +
    `validation as logged), at most ${s.maxEpochs} epochs; an arm stops at the end of the epoch ` +
    `in which its budget is spent. ${s.distinctArms} distinct trainings (arms with identical ` +
    "settings, such as normalised = combo, are trained once).",
    `- Wall time of this invocation: ${(s.wallS / 60).toFixed(1)} min` +
    (s.reusedArms > 0 ? ` (${s.reusedArms} finished arms reused from an earlier run)` : "") +
    `; logged training time of the arms together ${(s.trainS / 60).toFixed(1)} min.`,
    "- Validation DSC is the micro DSC (pixels pooled over the validation split) at threshold " +
    `0.5. DSCs closer than ${DSC_TIE} are called ties: one seed on a small synthetic set does not ` +
    "resolve smaller differences, and the times come from a shared 2-core CPU.",
    "",
  ];
  for (const q of summaries) {
    lines.push(`## ${QUESTION_TITLES[q.question]}`, "", `![${q.question}](${q.question}.svg)`, "");
    if (q.table.length > 0) lines.push(...markdownTable(q.table), "");
    for (const sentence of q.sentences) lines.push(`- ${sentence}`);
    lines.push("");
  }
  return lines.join("\n");
}

/** Rows (header first) as GitHub-flavoured Markdown table lines. */
export function markdownTable(rows: string[][]): string[] {
  const esc = (c: string) => c.replaceAll("|", "\\|");
  const line = (r: string[]) => `| ${r.map(esc).join(" | ")} |`;
  return [line(rows[0]), `|${rows[0].map(() => " --- ").join("|")}|`, ...rows.slice(1).map(line)];
}
