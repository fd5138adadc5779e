import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { countsToMask, decodeCounts, encodeMask } from "./rle.ts";
import {
  formatConfidence,
  readSubmission,
  SUBMISSION_HEADER,
  submissionLine,
} from "./submission.ts";

Deno.test("submissionLine: one `0 confidence encoded` triple per instance, empty when none", () => {
  // 3×2 tile; instance pixels (row-major) 1, 2 and 3 → rows [0 1 1] / [1 0 0]
  const line = submissionLine("t1", 3, 2, [
    { pixels: Int32Array.of(1, 2), confidence: 0.8 },
    { pixels: Int32Array.of(3), confidence: 1 / 3 },
  ]);
  const [id, h, w, preds] = line.split(",");
  assert.deepEqual([id, h, w], ["t1", "2", "3"]);
  const tokens = preds.split(" ");
  assert.equal(tokens.length, 6);
  assert.deepEqual([tokens[0], tokens[1], tokens[3], tokens[4]], ["0", "0.8", "0", "0.333333"]);
  assert.deepEqual(Array.from(countsToMask(decodeCounts(tokens[2]), 3, 2)), [0, 1, 1, 0, 0, 0]);
  assert.equal(tokens[2], encodeMask(new Uint8Array([0, 1, 1, 0, 0, 0]), 3, 2));
  assert.equal(submissionLine("t2", 3, 2, []), "t2,2,3,");
  assert.equal(formatConfidence(0.5), "0.5");
});

Deno.test("readSubmission: reads back what submissionLine writes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "s.csv");
    const line = submissionLine("t1", 3, 2, [{ pixels: Int32Array.of(0, 5), confidence: 0.25 }]);
    await Deno.writeTextFile(path, `${SUBMISSION_HEADER}\n${line}\nt2,2,3,\n`);
    const rows = await readSubmission(path);
    assert.equal(rows.length, 2);
    assert.equal(rows[0].instances[0].confidence, 0.25);
    assert.equal(rows[0].line, 2);
    assert.deepEqual(rows[1].instances, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readSubmission: malformed files give file:line: what", async () => {
  const dir = await Deno.makeTempDir();
  const good = encodeMask(new Uint8Array([1, 0, 0, 0, 0, 0]), 3, 2);
  const cases: [string, RegExp][] = [
    ["id,h,w,p\n", /s\.csv:1: expected the header/],
    [`${SUBMISSION_HEADER}\nt1,2,3\n`, /s\.csv:2: expected 4 fields, found 3/],
    [`${SUBMISSION_HEADER}\nt1,2,x,\n`, /s\.csv:2: width: expected a positive integer, found "x"/],
    [`${SUBMISSION_HEADER}\nt1,2,3,0 0.5\n`, /s\.csv:2: prediction_string: expected triples/],
    [`${SUBMISSION_HEADER}\nt1,2,3,1 0.5 ${good}\n`, /s\.csv:2: instance 0: class must be 0/],
    [
      `${SUBMISSION_HEADER}\nt1,2,3,0 high ${good}\n`,
      /instance 0: confidence "high" is not a number/,
    ],
    [
      `${SUBMISSION_HEADER}\nt1,3,3,0 0.5 ${good}\n`,
      /s\.csv:2: instance 0: mask covers 6 pixels, expected 3×3 = 9/,
    ],
    [`${SUBMISSION_HEADER}\nt1,2,3,0 0.5 !!\n`, /instance 0: mask not base64/],
    [`${SUBMISSION_HEADER}\nt1,2,3,\nt1,2,3,\n`, /s\.csv:3: duplicate id "t1", first at line 2/],
    ["", /s\.csv: empty file/],
  ];
  try {
    const path = join(dir, "s.csv");
    for (const [text, re] of cases) {
      await Deno.writeTextFile(path, text);
      await assert.rejects(readSubmission(path), (e: unknown) => {
        assert.ok(e instanceof InputError, String(e));
        assert.match(e.message, re);
        return true;
      });
    }
    await assert.rejects(readSubmission(join(dir, "none.csv")), /none\.csv: no such file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
