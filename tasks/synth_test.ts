import assert from "node:assert/strict";
import { join } from "node:path";
import { runMain } from "../src/cli.ts";
import { main } from "./synth.ts";

Deno.test("synth task: bad flags exit 2 and write nothing", async () => {
  const root = await Deno.makeTempDir();
  const out = join(root, "out");
  try {
    const cases = [
      ["--out", out, "--tiles", "x"],
      ["--out", out, "--tiles", "0"],
      ["--out", out, "--tiles", "1.5"],
      ["--out", out, "--seed", "-1"],
      ["--out", out, "--compression", "lzw"],
      ["--out", out, "--bogus"],
      ["--tiles", "2"],
    ];
    const errors = console.error;
    console.error = () => {};
    try {
      for (const args of cases) assert.equal(await runMain(main, args), 2, args.join(" "));
    } finally {
      console.error = errors;
    }
    assert.deepEqual([...Deno.readDirSync(root)], []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("synth task: writes the layout and exits 0", async () => {
  const root = await Deno.makeTempDir();
  try {
    const out = join(root, "k");
    const code = await runMain(main, [
      "--out",
      out,
      "--tiles",
      "2",
      "--seed",
      "9",
      "--test-tiles",
      "1",
      "--quiet",
    ]);
    assert.equal(code, 0);
    const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assert.deepEqual(names, [
      "polygons.jsonl",
      "synth.json",
      "test",
      "tile_meta.csv",
      "train",
      "wsi_meta.csv",
    ]);
    // the marker prepare reads to record that a model trained here saw synthetic tiles
    assert.deepEqual(JSON.parse(Deno.readTextFileSync(join(out, "synth.json"))), {
      generator: "vessel-seg synth",
      seed: 9,
      tiles: 2,
    });
    assert.equal([...Deno.readDirSync(join(out, "train"))].length, 2);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
