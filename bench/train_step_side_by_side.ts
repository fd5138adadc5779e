/**
 * The training step of `train_step_bench.ts` (tfjs wasm, this project's kernels) and of
 * `train_step_torch.py` (PyTorch CPU, Debian's `python3-torch`) side by side: each round runs
 * every engine at every thread count once, rounds interleave so that both see the same machine
 * state, and the table gives each run, the medians and the ratios tfjs / PyTorch.
 * Not part of the tests; speed is never asserted.
 *
 * ```sh
 * deno run -A bench/train_step_side_by_side.ts [--rounds 3] [--threads 1,2] [--steps 4]
 *   [--python /usr/bin/python3]
 * ```
 *
 * The step's shape follows `train_step_bench.ts`'s environment variables (`TRAIN_BENCH_SIZE`,
 * `TRAIN_BENCH_BATCH`, `TRAIN_BENCH_BASE`, `TRAIN_BENCH_DEPTH`), passed on to both engines.
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    threads: { type: "string", default: "1,2" },
    steps: { type: "string", default: "4" },
    python: { type: "string", default: "/usr/bin/python3" },
  },
});
const rounds = Number(values.rounds);
const steps = Number(values.steps);
const threads = values.threads.split(",").map(Number);
if (!(rounds >= 1) || !(steps >= 1) || threads.some((t) => !Number.isInteger(t) || t < 1)) {
  console.error("train_step_side_by_side: --rounds, --steps and --threads need positive integers");
  Deno.exit(2);
}
const python = values.python;
const env = (k: string, d: string) => Deno.env.get(k) ?? d;
const shape = {
  size: env("TRAIN_BENCH_SIZE", "256"),
  batch: env("TRAIN_BENCH_BATCH", "4"),
  base: env("TRAIN_BENCH_BASE", "16"),
  depth: env("TRAIN_BENCH_DEPTH", "4"),
};

async function run(cmd: string, args: string[], extraEnv: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env: extraEnv, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** The ms/step of the table row starting with `label`. */
function msOf(text: string, label: string): number {
  const row = text.split("\n").find((l) => l.startsWith(`| ${label} |`));
  const ms = row === undefined ? NaN : Number(row.split("|")[2]);
  if (!Number.isFinite(ms)) throw new Error(`no "${label}" row in:\n${text}`);
  return ms;
}

async function tfjsMs(t: number): Promise<number> {
  const bench = new URL("./train_step_bench.ts", import.meta.url).pathname;
  const text = await run(Deno.execPath(), ["run", "-A", bench], {
    VESSEL_SEG_WASM_THREADS: String(t),
    TRAIN_BENCH_BACKENDS: "wasm",
    TRAIN_BENCH_STOCK: "0",
    TRAIN_BENCH_STEPS: String(steps),
    TRAIN_BENCH_SIZE: shape.size,
    TRAIN_BENCH_BATCH: shape.batch,
    TRAIN_BENCH_BASE: shape.base,
    TRAIN_BENCH_DEPTH: shape.depth,
  });
  return msOf(text, "wasm project kernels");
}

async function torchMs(t: number): Promise<number> {
  const script = new URL("./train_step_torch.py", import.meta.url).pathname;
  const text = await run(python, [
    script,
    "--steps",
    String(steps),
    "--threads",
    String(t),
    "--size",
    shape.size,
    "--batch",
    shape.batch,
    "--base",
    shape.base,
    "--depth",
    shape.depth,
  ], {});
  return msOf(text, "pytorch cpu");
}

try {
  await run(python, ["-c", "import torch"], {});
} catch {
  console.error(
    `train_step_side_by_side: ${python} cannot import torch (Debian: apt-get install python3-torch)`,
  );
  Deno.exit(1);
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = new Map<string, number[]>();
const add = (k: string, v: number) => results.set(k, [...(results.get(k) ?? []), v]);
console.log(
  `step: depth ${shape.depth}, base ${shape.base}, batch ${shape.batch} × ${shape.size}²; ` +
    `${steps} timed steps a run, ${rounds} interleaved rounds; load average at start: ` +
    (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ").slice(0, 3).join(" "),
);
for (let r = 1; r <= rounds; r++) {
  for (const t of threads) {
    add(`tfjs wasm ${t}`, await tfjsMs(t));
    add(`pytorch ${t}`, await torchMs(t));
  }
  console.error(`round ${r}/${rounds} done`);
}

const fmt = (v: number) => v.toFixed(0);
console.log("\n| engine | threads | ms/step, each round | median |");
console.log("|---|---|---|---|");
for (const t of threads) {
  for (
    const [name, key] of [["tfjs 4.22 wasm, project kernels", "tfjs wasm"], [
      "PyTorch CPU",
      "pytorch",
    ]]
  ) {
    const v = results.get(`${key} ${t}`)!;
    console.log(`| ${name} | ${t} | ${v.map(fmt).join(", ")} | ${fmt(median(v))} |`);
  }
}
console.log("\n| threads | tfjs / PyTorch (medians) |");
console.log("|---|---|");
for (const t of threads) {
  const ratio = median(results.get(`tfjs wasm ${t}`)!) / median(results.get(`pytorch ${t}`)!);
  console.log(`| ${t} | ${ratio.toFixed(2)}× |`);
}
const best = (key: string) => Math.min(...threads.map((t) => median(results.get(`${key} ${t}`)!)));
console.log(
  `\nfastest tfjs / fastest PyTorch (medians): ${fmt(best("tfjs wasm"))} / ${
    fmt(best("pytorch"))
  } ms = ${(best("tfjs wasm") / best("pytorch")).toFixed(2)}×`,
);
