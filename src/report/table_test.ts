import assert from "node:assert/strict";
import { type Table, toCsv, toJson, toMarkdown } from "./table.ts";

const T: Table = {
  title: "Table 1",
  columns: [
    { key: "name", label: "Baseline" },
    { key: "dsc", label: "DSC" },
    { key: "n", label: "n", digits: 0 },
  ],
  rows: [
    { name: "otsu", dsc: 0.09876, n: 12 },
    { name: 'a "b", c', dsc: NaN, n: null },
  ],
  notes: ["mode: micro"],
};

Deno.test("markdown: heading, right-aligned numbers, rounding, dash for missing, notes", () => {
  assert.equal(
    toMarkdown(T),
    [
      "### Table 1",
      "",
      "| Baseline | DSC | n |",
      "| --- | ---: | ---: |",
      "| otsu | 0.099 | 12 |",
      '| a "b", c | – | – |',
      "",
      "mode: micro",
      "",
    ].join("\n"),
  );
});

Deno.test("markdown escapes pipes in cells", () => {
  const md = toMarkdown({ columns: [{ key: "a", label: "A" }], rows: [{ a: "x|y" }] });
  assert.ok(md.includes("| x\\|y |"));
});

Deno.test("csv: full precision, RFC 4180 quoting, empty for missing", () => {
  assert.equal(toCsv(T), 'Baseline,DSC,n\r\notsu,0.09876,12\r\n"a ""b"", c",,\r\n');
});

Deno.test("json: nulls for missing, columns and notes kept", () => {
  const j = toJson(T);
  assert.deepEqual(j.rows[1], { name: 'a "b", c', dsc: null, n: null });
  assert.equal(j.rows[0].dsc, 0.09876);
  assert.deepEqual(j.notes, ["mode: micro"]);
  assert.equal(JSON.parse(JSON.stringify(j)).title, "Table 1");
});
