import assert from "node:assert/strict";
import { choiceFlag, numberFlag, parseFlags, requireString, runMain, wantsHelp } from "./cli.ts";
import { InputError, UsageError } from "./errors.ts";

Deno.test("parseFlags: parses known flags and rejects unknown ones with the flag's name", () => {
  const f = parseFlags(["--out", "x", "--quiet"], {
    out: { type: "string" },
    quiet: { type: "boolean" },
  });
  assert.equal(f.out, "x");
  assert.equal(f.quiet, true);
  assert.throws(
    () => parseFlags(["--bogus", "1"], { out: { type: "string" } }),
    (e: unknown) => e instanceof UsageError && e.message.includes("--bogus"),
  );
  assert.throws(() => parseFlags(["stray"], { out: { type: "string" } }), UsageError);
});

Deno.test("numberFlag and choiceFlag: defaults, ranges and choices", () => {
  assert.equal(numberFlag(undefined, "n", 3), 3);
  assert.equal(numberFlag("0.25", "scale", 1), 0.25);
  assert.throws(() => numberFlag("abc", "n", 1), /--n must be a number, got "abc"/);
  assert.throws(() => numberFlag("1.5", "n", 1, { integer: true }), /integer/);
  assert.throws(() => numberFlag("-1", "n", 1, { min: 0 }), /at least 0/);
  assert.throws(() => numberFlag("2", "f", 1, { max: 1 }), /at most 1/);
  assert.equal(choiceFlag(undefined, "split", ["random", "wsi"] as const, "random"), "random");
  assert.equal(choiceFlag("wsi", "split", ["random", "wsi"] as const, "random"), "wsi");
  assert.throws(() => choiceFlag("x", "split", ["random", "wsi"] as const, "random"), /one of/);
  assert.throws(() => requireString({}, "out"), /--out is required/);
});

Deno.test("runMain: maps errors to one line and exit codes", async () => {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    assert.equal(await runMain(() => Promise.resolve(0), []), 0);
    assert.equal(await runMain(() => Promise.reject(new UsageError("--x is bad")), []), 2);
    assert.equal(
      await runMain(() => Promise.reject(new InputError("p.jsonl", 3, "bad JSON")), []),
      1,
    );
  } finally {
    console.error = orig;
  }
  assert.deepEqual(lines, ["error: --x is bad", "error: p.jsonl:3: bad JSON"]);
});

Deno.test("wantsHelp: --help and -h anywhere", () => {
  assert.equal(wantsHelp(["--help"]), true);
  assert.equal(wantsHelp(["--out", "x", "-h"]), true);
  assert.equal(wantsHelp(["--out", "help"]), false);
});

Deno.test("task --help prints usage naming every flag the task accepts, exit 0", async () => {
  for (const name of ["synth", "prepare", "baseline", "evaluate", "demo"]) {
    const mod = await import(`../tasks/${name}.ts`);
    const src = await Deno.readTextFile(new URL(`../tasks/${name}.ts`, import.meta.url));
    // Flags declared in the parseFlags spec of the task: `name: { type: ... }` lines.
    const declared = [...src.matchAll(/^\s+"?([a-z-]+)"?: \{ type: "(?:string|boolean)" \}/gm)]
      .map((m) => m[1]);
    assert.ok(declared.length >= 4, `${name}: found flags ${declared}`);
    const lines: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(" "));
    try {
      assert.equal(await mod.main(["--help"]), 0);
    } finally {
      console.log = orig;
    }
    const text = lines.join("\n");
    for (const flag of declared) {
      assert.ok(text.includes(`--${flag}`), `${name}: --${flag} undocumented`);
    }
  }
});
