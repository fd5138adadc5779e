import assert from "node:assert/strict";
import { join } from "node:path";
import { runMain } from "../src/cli.ts";
import { exists } from "../src/io.ts";
import { writeTinyPrepared } from "../src/data/testing.ts";
import { ARMS, QUESTIONS, VARIED } from "../src/experiment/plan.ts";
import { main } from "./experiment.ts";

Deno.test("experiment: bad flags exit 2", async () => {
  const saved = console.error;
  console.error = () => {};
  try {
    for (
      const args of [
        ["--budget-minutes", "0"],
        ["--budget-minutes", "x"],
        ["--epochs", "1.5"],
        ["--questions", "normalization,size"],
        ["--questions", ","],
        ["--preset", "small"],
        ["--backend", "tpu"],
        ["--bogus"],
        ["--out", ""],
      ]
    ) assert.equal(await runMain((a) => main(a, { log: () => {} }), args), 2, args.join(" "));
  } finally {
    console.error = saved;
  }
});

/** Keys (dotted) whose values differ between two JSON objects. */
function differing(a: Record<string, unknown>, b: Record<string, unknown>, pre = ""): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => {
    const x = a[k], y = b[k];
    if (
      x !== null && y !== null && typeof x === "object" && typeof y === "object" &&
      !Array.isArray(x)
    ) {
      return differing(x as Record<string, unknown>, y as Record<string, unknown>, `${pre}${k}.`);
    }
    return JSON.stringify(x) === JSON.stringify(y) ? [] : [`${pre}${k}`];
  });
}

Deno.test("experiment: tiny run of all questions, arms differ only in the varied setting, re-run reuses", async () => {
  const root = await Deno.makeTempDir({ prefix: "vessel-seg-experiment-" });
  const prepared = join(root, "prepared");
  await writeTinyPrepared(prepared, { train: 8, val: 4, sizePx: 16 });
  const out = join(root, "out");
  const args = [
    "--prepared",
    prepared,
    "--out",
    out,
    "--epochs",
    "2",
    "--budget-minutes",
    "600",
    "--backend",
    "cpu",
    "--quiet",
  ];
  const lines: string[] = [];
  const printed: string[] = [];
  const opts = { log: (l: string) => lines.push(l), print: (t: string) => printed.push(t) };
  assert.equal(await main(args, opts), 0);

  for (const q of QUESTIONS) {
    assert.ok(await exists(join(out, `${q}.svg`)), `${q}.svg`);
    const svg = await Deno.readTextFile(join(out, `${q}.svg`));
    for (const arm of ARMS[q]) assert.ok(svg.includes(`data-name="${arm.label}"`), arm.label);
    const configs: Record<string, Record<string, unknown>> = {};
    for (const arm of ARMS[q]) {
      const run = join(out, "runs", q, arm.name);
      for (const f of ["config.json", "log.jsonl", "arm.json"]) {
        assert.ok(await exists(join(run, f)), `${run}/${f}`);
      }
      const rec = JSON.parse(await Deno.readTextFile(join(run, "arm.json")));
      assert.equal(rec.status, "done");
      assert.equal(rec.epochs, 2);
      assert.equal(rec.reason, "epochs");
      configs[arm.name] = JSON.parse(await Deno.readTextFile(join(run, "config.json")));
    }
    // every pair of arms differs only in `out` and the question's settings
    const allowed = new Set([
      "out",
      ...VARIED[q].map((k) => (k === "loss" ? "loss.name" : k)),
    ]);
    const names = Object.keys(configs);
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < names.length; j++) {
        const d = differing(configs[names[i]], configs[names[j]]);
        assert.ok(d.every((k) => allowed.has(k)), `${q}: ${names[i]} vs ${names[j]}: ${d}`);
        assert.ok(d.some((k) => k !== "out"), `${q}: ${names[i]} and ${names[j]} are the same`);
      }
    }
  }
  // trained one epoch at a time: two start records, two epochs
  const bceLog = await Deno.readTextFile(join(out, "runs", "loss", "bce", "log.jsonl"));
  assert.equal(bceLog.split("\n").filter((l) => l.includes('"type":"start"')).length, 2);
  // normalised and combo are the same training: trained once
  const combo = JSON.parse(await Deno.readTextFile(join(out, "runs", "loss", "combo", "arm.json")));
  assert.equal(combo.sameAs, join(out, "runs", "normalization", "normalised"));
  assert.equal(lines.filter((l) => l.endsWith(" …")).length, 9);

  // experiments.md: the sentences computed from the written logs, and the best arm of each
  // question found independently from the raw log lines
  const md = await Deno.readTextFile(join(out, "experiments.md"));
  for (const q of QUESTIONS) {
    // from the raw log lines: each arm's best and final validation DSC and its epoch count
    let best = { label: "", dsc: -1 };
    const arms: { label: string; byEpoch: Map<number, number>; final: number }[] = [];
    for (const arm of ARMS[q]) {
      const path = join(out, "runs", q, arm.name, "log.jsonl");
      const byEpoch = new Map<number, number>();
      let final = NaN;
      for (const line of (await Deno.readTextFile(path)).split("\n")) {
        if (!line.includes('"type":"epoch"')) continue;
        const rec = JSON.parse(line);
        byEpoch.set(rec.epoch, rec.val.micro.dsc);
        final = rec.val.micro.dsc;
        if (rec.val.micro.dsc > best.dsc) best = { label: arm.label, dsc: rec.val.micro.dsc };
      }
      arms.push({ label: arm.label, byEpoch, final });
    }
    assert.ok(
      md.includes(`Highest best validation DSC: ${best.label}, ${best.dsc.toFixed(3)}`),
      `${q}: best arm ${best.label}`,
    );
    const finals = arms.map((a) => `${a.label} ${a.final.toFixed(3)}`).join(", ");
    assert.ok(md.includes(`Final DSCs: ${finals}.`), `${q}: final DSCs ${finals}`);
    assert.ok(md.includes(`![${q}](${q}.svg)`));
    // the DSCs at the last epoch every arm reached (the batch question compares at a common time)
    if (q === "batch") continue;
    const common = Math.min(...arms.map((a) => Math.max(...a.byEpoch.keys())));
    const at = arms.map((a) => `${a.label} ${a.byEpoch.get(common)!.toFixed(3)}`).join(", ");
    assert.ok(md.includes(`Validation DSC at epoch ${common}: ${at}.`), `${q}: epoch ${common}`);
  }
  assert.match(md, /losses are on different scales/);
  assert.ok(printed.join("\n").includes(join(out, "experiments.md")));

  // re-run with the same settings: nothing is trained again
  const before = bceLog;
  lines.length = 0;
  assert.equal(await main(args, opts), 0);
  assert.equal(lines.filter((l) => l.endsWith(" …")).length, 9);
  assert.equal(lines.filter((l) => / reused: /.test(l)).length, 9);
  assert.equal(await Deno.readTextFile(join(out, "runs", "loss", "bce", "log.jsonl")), before);
  assert.match(await Deno.readTextFile(join(out, "experiments.md")), /9 finished arms reused/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("experiment: an arm stops at the end of the epoch in which its budget is spent", async () => {
  const root = await Deno.makeTempDir({ prefix: "vessel-seg-experiment-" });
  const prepared = join(root, "prepared");
  await writeTinyPrepared(prepared, { train: 8, val: 4, sizePx: 16 });
  const out = join(root, "out");
  // 0.001 min over 3 arms = 0.02 s each: less than one epoch with its validation and checkpoint
  const args = [
    "--prepared",
    prepared,
    "--out",
    out,
    "--epochs",
    "3",
    "--budget-minutes",
    "0.001",
    "--questions",
    "loss",
    "--backend",
    "cpu",
    "--quiet",
  ];
  assert.equal(await main(args, { log: () => {}, print: () => {} }), 0);
  for (const arm of ARMS.loss) {
    const rec = JSON.parse(
      await Deno.readTextFile(join(out, "runs", "loss", arm.name, "arm.json")),
    );
    assert.equal(rec.reason, "budget", arm.name);
    assert.equal(rec.epochs, 1, arm.name);
    assert.ok(rec.timeS >= rec.budgetS, arm.name);
  }
  assert.ok(!(await exists(join(out, "normalization.svg"))));
  assert.ok(await exists(join(out, "loss.svg")));
  await Deno.remove(root, { recursive: true });
});
