import assert from "node:assert/strict";
import { join } from "node:path";
import { runMain } from "../src/cli.ts";
import { exists } from "../src/io.ts";
import { demoCheckpointEpochs, main, README_MARKERS, replaceReadmeBlock } from "./demo.ts";

Deno.test("demo: checkpoint epochs are a quarter, half and all of the run", () => {
  assert.deepEqual(demoCheckpointEpochs(8), [2, 4, 8]);
  assert.deepEqual(demoCheckpointEpochs(10), [3, 5, 10]);
  assert.deepEqual(demoCheckpointEpochs(2), [1, 2]);
  assert.deepEqual(demoCheckpointEpochs(1), [1]);
});

Deno.test("demo: README block between the markers is replaced, or the closing one added", () => {
  const [open, close] = README_MARKERS;
  assert.equal(
    replaceReadmeBlock(`top\n${open}\nold\nlines\n${close}\nbottom\n`, "new\n"),
    `top\n${open}\nnew\n${close}\nbottom\n`,
  );
  assert.equal(
    replaceReadmeBlock(`top\n${open}\n\n---\n`, "new"),
    `top\n${open}\nnew\n${close}\n\n---\n`,
  );
  assert.equal(replaceReadmeBlock("no markers\n", "new"), undefined);
});

Deno.test("demo: tiny end-to-end run, README refresh, and re-run reusing stages", async () => {
  const root = await Deno.makeTempDir({ prefix: "vessel-seg-demo-" });
  const out = join(root, "demo");
  const readme = join(root, "README.md");
  const docsDir = join(root, "docs", "demo");
  await Deno.writeTextFile(readme, `# x\n\n${README_MARKERS[0]}\n\n## Usage\n`);
  const lines: string[] = [];
  const printed: string[] = [];
  const opts = {
    log: (l: string) => lines.push(l),
    print: (t: string) => printed.push(t),
    readme,
    docsDir,
  };
  const args = ["--out", out, "--tiles", "12", "--epochs", "1", "--quiet", "--update-readme"];
  assert.equal(await main(args, opts), 0);
  for (
    const f of [
      "data/tile_meta.csv",
      "prepared/manifest.json",
      "baseline/table1.md",
      "run/checkpoints/epoch-0001/model.json",
      "eval/report.md",
      "eval/table3.md",
      "README-results.md",
    ]
  ) assert.ok(await exists(join(out, f)), f);
  const text = printed.join("\n");
  assert.match(text, /\| Otsu \| micro \|/);
  assert.match(text, /\| U-Net \(epoch 1\) \| micro \|/);
  assert.ok(text.includes(`report: ${join(out, "eval", "report.md")}`));
  const report = await Deno.readTextFile(join(out, "eval", "report.md"));
  assert.ok(report.includes("#### Table 1 — baselines"), "report.md includes Table 1");
  const results = await Deno.readTextFile(join(out, "README-results.md"));
  assert.match(results, /\| Otsu \| micro \|/);
  for (const l of results.matchAll(/\]\(([^)]+)\)/g)) {
    assert.ok(await exists(join(out, l[1])), `README-results links ${l[1]}`);
  }
  const updated = await Deno.readTextFile(readme);
  assert.ok(updated.includes(README_MARKERS[1]) && updated.endsWith("## Usage\n"));
  const links = [...updated.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]);
  assert.ok(links.length >= 4);
  for (const l of links) {
    assert.ok(l.startsWith("docs/demo/"), l);
    assert.ok(await exists(join(root, l)), `${l} copied`);
  }

  // Re-run: synth and train are reused, the results are the same.
  lines.length = 0;
  printed.length = 0;
  assert.equal(await main(args, opts), 0);
  assert.ok(lines.some((l) => l.startsWith("demo: reusing") && l.includes("data")), "synth reused");
  assert.ok(lines.some((l) => l.startsWith("demo: reusing") && l.includes("run")), "train reused");
  // Same numbers; a reused stage keeps the time of the run that did its work (prepare, baseline
  // and evaluate rerun, so the total may differ by their rounding).
  const trainTime = (t: string) => /train (\d+:\d\d)/.exec(t)?.[1];
  const again = await Deno.readTextFile(readme);
  assert.equal(trainTime(again), trainTime(updated));
  const noTimes = (t: string) => t.replace(/Wall time [^\n]*/, "");
  assert.equal(noTimes(again), noTimes(updated));
});

Deno.test("demo: bad flags", async () => {
  const saved = console.error;
  console.error = () => {};
  try {
    assert.equal(await runMain(main, ["--tiles", "3"]), 2);
    assert.equal(await runMain(main, ["--epochs", "0"]), 2);
    assert.equal(await runMain(main, ["--backend", "tpu"]), 2);
    assert.equal(await runMain(main, ["--nope"]), 2);
  } finally {
    console.error = saved;
  }
});

Deno.test("formatMarkdown: a refreshed README block comes out as deno fmt writes it", async () => {
  const { formatMarkdown } = await import("./demo.ts");
  const raw = "# T\n\n| a | b |\n| --- | ---: |\n| x | 0.5 |\n| longer | 1 |\n";
  const got = await formatMarkdown(raw);
  assert.equal(
    got,
    "# T\n\n| a      |   b |\n| ------ | --: |\n| x      | 0.5 |\n| longer |   1 |\n",
  );
});
