import assert from "node:assert/strict";
import { join } from "node:path";
import { runMain } from "../src/cli.ts";
import { main } from "./score.ts";

const EXPECTED = JSON.parse(await Deno.readTextFile("fixtures/ap/expected.json"));

Deno.test("score: prints AP@0.6 of fixtures/ap and writes --json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines: string[] = [];
    const json = join(dir, "score.json");
    const code = await main(
      ["--submission", "fixtures/ap/submission.csv", "--data", "fixtures/ap", "--json", json],
      { print: (t) => lines.push(t) },
    );
    assert.equal(code, 0);
    assert.deepEqual(lines, [
      `AP@0.6 = ${EXPECTED["iou0.6"].ap.toFixed(4)}`,
      "8 tile(s) scored: 13 prediction(s) (6 TP, 7 FP), 10 ground-truth instance(s)",
      "left out: 1 submission tile(s) not in polygons.jsonl",
      "left out: 1 annotated tile(s) not in the submission",
    ]);
    const saved = JSON.parse(await Deno.readTextFile(json));
    assert.ok(Math.abs(saved.ap - EXPECTED["iou0.6"].ap) < 1e-12);
    assert.deepEqual(saved.notAnnotated, ["iiiiiiiiiiii"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("score: bad flags exit 2, bad files exit 1", async () => {
  const error = console.error;
  const said: string[] = [];
  console.error = (...a: unknown[]) => said.push(a.join(" "));
  try {
    assert.equal(await runMain(main, ["--data", "fixtures/ap"]), 2);
    assert.equal(
      await runMain(main, ["--submission", "fixtures/ap/polygons.jsonl", "--data", "fixtures/ap"]),
      1,
    );
  } finally {
    console.error = error;
  }
  assert.deepEqual(said, [
    "error: --submission is required",
    'error: fixtures/ap/polygons.jsonl:1: expected the header "id,height,width,prediction_string"',
  ]);
});
