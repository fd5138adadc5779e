import assert from "node:assert/strict";
import {
  defineTask,
  flag,
  type FlagTable,
  parseFlagTable,
  parseTask,
  runMain,
  usage,
  wantsHelp,
} from "./cli.ts";
import { InputError, UsageError } from "./errors.ts";

const TABLE = {
  out: flag.string({ required: true, arg: "DIR", help: "where" }),
  note: flag.string({ help: "optional text" }),
  n: flag.number({ default: 3, min: 0, max: 10, integer: true, help: "count" }),
  f: flag.number({ min: 0, max: 1, help: "fraction" }),
  split: flag.choice(["random", "wsi"], { default: "random", help: "split" }),
  classes: flag.list({ choices: ["a", "b"], help: "classes" }),
  input: flag.repeated({ help: "inputs" }),
  quiet: flag.boolean({ help: "quiet" }),
} satisfies FlagTable;

const usageError = (args: string[], re: RegExp) =>
  assert.throws(
    () => parseFlagTable(args, TABLE),
    (e: unknown) => e instanceof UsageError && re.test(e.message),
    args.join(" "),
  );

Deno.test("flag table: defaults, typed values, repeated and list flags", () => {
  const v = parseFlagTable(["--out", "x"], TABLE);
  assert.deepEqual(v, {
    out: "x",
    note: undefined,
    n: 3,
    f: undefined,
    split: "random",
    classes: undefined,
    input: [],
    quiet: false,
  });
  const w = parseFlagTable(
    [
      "--out=y",
      "--n",
      "7",
      "--f",
      "0.25",
      "--split",
      "wsi",
      "--classes",
      "b, a",
      "--input",
      "p",
      "--input",
      "q",
      "--quiet",
    ],
    TABLE,
  );
  assert.deepEqual(
    [w.out, w.n, w.f, w.split, w.classes, w.input, w.quiet],
    ["y", 7, 0.25, "wsi", ["b", "a"], ["p", "q"], true],
  );
});

Deno.test("flag table: every bad value is a UsageError naming the flag", () => {
  usageError(["--bogus", "1", "--out", "x"], /--bogus/);
  usageError(["stray", "--out", "x"], /stray/);
  usageError([], /^--out is required$/);
  usageError(["--out", ""], /^--out needs a value$/);
  usageError(["--out", "x", "--n", "abc"], /^--n must be a number, got "abc"$/);
  usageError(["--out", "x", "--n", "1.5"], /^--n must be an integer, got 1\.5$/);
  usageError(["--out", "x", "--n", "11"], /^--n must be at most 10, got 11$/);
  usageError(["--out", "x", "--f", "1e999"], /^--f must be a number/);
  usageError(["--out", "x", "--split", "x"], /^--split must be one of random, wsi, got "x"$/);
  usageError(["--out", "x", "--classes", "a,c"], /^--classes must be one of a, b, got "c"$/);
  usageError(["--out", "x", "--n"], /--n/);
  // A negative number after a flag that takes a value is that value, refused by the range check
  // (node:util alone says only "argument is ambiguous").
  usageError(["--out", "x", "--n", "-3"], /^--n must be at least 0, got -3$/);
  usageError(["--out", "x", "--f", "-.5"], /^--f must be at least 0, got -\.5$/);
});

Deno.test("usage: one line per flag with its default, choices and --help", () => {
  const text = usage(
    defineTask({ synopsis: "deno task t --out DIR", summary: "Does t.", flags: TABLE }),
  );
  const lines = text.split("\n");
  assert.equal(lines[0], "deno task t --out DIR");
  assert.equal(lines[2], "Does t.");
  for (
    const [flagText, help] of [
      ["--out DIR", "where (required)"],
      ["--n N", "count (default 3)"],
      ["--f X", "fraction"],
      ["--split random|wsi", "split (default random)"],
      ["--quiet", "quiet"],
      ["--help", "print this text"],
    ]
  ) {
    assert.ok(
      lines.some((l) => l.trimStart().startsWith(flagText) && l.endsWith(help)),
      `${flagText}: ${text}`,
    );
  }
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
  const spec = defineTask({ synopsis: "s", summary: "t", flags: TABLE });
  let printed = "";
  assert.equal(parseTask(spec, ["-h"], (t) => (printed = t)), undefined);
  assert.ok(printed.startsWith("s\n"));
});

// Every task's --help names each flag of its table and exits 0; the tables are found in the
// task modules' exports, so a task whose parse does not go through its table fails here.
const TASKS: [string, string][] = [
  ["synth", "SYNTH"],
  ["prepare", "PREPARE"],
  ["baseline", "BASELINE"],
  ["evaluate", "EVALUATE"],
  ["predict", "PREDICT"],
  ["score", "SCORE"],
  ["serve", "SERVE"],
  ["demo", "DEMO"],
  ["experiment", "EXPERIMENT"],
];

Deno.test("task --help prints usage naming every flag the task accepts, exit 0", async () => {
  for (const [name, spec] of [...TASKS, ["train", "TRAIN"]]) {
    const taskMod = await import(`../tasks/${name}.ts`);
    const flags = Object.keys(taskMod[spec].flags);
    assert.ok(flags.length >= 3, `${name}: found flags ${flags}`);
    const lines: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => lines.push(a.join(" "));
    try {
      assert.equal(await taskMod.main(["--help"]), 0);
    } finally {
      console.log = orig;
    }
    const text = lines.join("\n");
    for (const f of flags) assert.match(text, new RegExp(`^ {2}--${f}\\b`, "m"), `${name}: --${f}`);
    assert.match(text, /^ {2}--help/m, `${name}: --help`);
  }
});

Deno.test("tasks: an unknown flag is exit 2 with one line naming it", async () => {
  for (const [name] of TASKS) {
    const mod = await import(`../tasks/${name}.ts`);
    const lines: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => lines.push(a.join(" "));
    try {
      assert.equal(await runMain((a) => mod.main(a), ["--no-such-flag"]), 2, name);
    } finally {
      console.error = orig;
    }
    assert.equal(lines.length, 1, `${name}: ${lines}`);
    assert.match(lines[0], /^error: .*--no-such-flag/, name);
  }
});
