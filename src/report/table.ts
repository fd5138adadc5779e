/**
 * Result tables written three ways from one description: Markdown (for people and the README),
 * CSV (RFC 4180, for spreadsheets) and JSON (for programs). Numbers are rounded only for Markdown;
 * CSV and JSON keep full precision. A missing or undefined value (`null`, `undefined`, NaN) is
 * "–" in Markdown, an empty field in CSV and `null` in JSON.
 *
 * @module
 */

/** A column: `key` into each row, a header `label`, and Markdown decimals for numbers. */
export interface Column {
  key: string;
  label: string;
  /** Decimals shown in Markdown for numeric cells. Default 3. */
  digits?: number;
}

/** A cell value. */
export type Cell = string | number | null | undefined;

/** A table: columns, rows keyed by column key, an optional title and notes (Markdown only). */
export interface Table {
  title?: string;
  columns: Column[];
  rows: Record<string, Cell>[];
  /** Lines printed under the Markdown table. */
  notes?: string[];
}

function missing(v: Cell): boolean {
  return v === null || v === undefined || (typeof v === "number" && Number.isNaN(v));
}

/**
 * The table as GitHub-flavoured Markdown (title as a heading when given, notes below).
 *
 * @example
 * ```ts
 * import { toMarkdown } from "./table.ts";
 * const md = toMarkdown({ columns: [{ key: "a", label: "A", digits: 2 }], rows: [{ a: 0.125 }] });
 * console.assert(md === "| A |\n| ---: |\n| 0.13 |\n");
 * ```
 */
export function toMarkdown(table: Table): string {
  const esc = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");
  const fmt = (v: Cell, c: Column): string => {
    if (missing(v)) return "–";
    if (typeof v === "number") return v.toFixed(c.digits ?? 3);
    return esc(String(v));
  };
  const numeric = table.columns.map((c) => table.rows.some((r) => typeof r[c.key] === "number"));
  const lines: string[] = [];
  if (table.title) lines.push(`### ${table.title}`, "");
  lines.push(`| ${table.columns.map((c) => esc(c.label)).join(" | ")} |`);
  lines.push(`| ${numeric.map((n) => (n ? "---:" : "---")).join(" | ")} |`);
  for (const r of table.rows) {
    lines.push(`| ${table.columns.map((c) => fmt(r[c.key], c)).join(" | ")} |`);
  }
  if (table.notes?.length) lines.push("", ...table.notes);
  return lines.join("\n") + "\n";
}

/**
 * The table as CSV (header row of labels; fields quoted when they hold `,` `"` or a newline).
 *
 * @example
 * ```ts
 * import { toCsv } from "./table.ts";
 * const csv = toCsv({ columns: [{ key: "a", label: "A" }, { key: "b", label: "B" }], rows: [{ a: "x,y", b: NaN }] });
 * console.assert(csv === 'A,B\r\n"x,y",\r\n');
 * ```
 */
export function toCsv(table: Table): string {
  const field = (v: Cell): string => {
    if (missing(v)) return "";
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [table.columns.map((c) => field(c.label)).join(",")];
  for (const r of table.rows) lines.push(table.columns.map((c) => field(r[c.key])).join(","));
  return lines.join("\r\n") + "\r\n";
}

/**
 * The table as a JSON-ready object: `{ title, columns, rows, notes }` with NaN/undefined as `null`.
 *
 * @example
 * ```ts
 * import { toJson } from "./table.ts";
 * const j = toJson({ columns: [{ key: "a", label: "A" }], rows: [{ a: NaN }] });
 * console.assert(j.rows[0].a === null);
 * ```
 */
export function toJson(table: Table): {
  title: string | null;
  columns: Column[];
  rows: Record<string, string | number | null>[];
  notes: string[];
} {
  return {
    title: table.title ?? null,
    columns: table.columns,
    rows: table.rows.map((r) => {
      const o: Record<string, string | number | null> = {};
      for (const c of table.columns) {
        const v = r[c.key];
        o[c.key] = missing(v) ? null : (v as string | number);
      }
      return o;
    }),
    notes: table.notes ?? [],
  };
}
