/**
 * Shared plumbing for the thin CLIs in `tasks/`: flag parsing with `node:util` `parseArgs`
 * (JSR's `@std/cli` is unreachable from this project's machines), numeric flag checks, and the
 * `runMain` wrapper that turns `InputError`/`UsageError` into one line on stderr and an exit code.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { InputError, ResourceError, UsageError } from "./errors.ts";

/** Options accepted by {@linkcode parseFlags}: the `options` field of `node:util` `parseArgs`. */
export type FlagSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `args` strictly: an unknown flag, a missing value or a stray positional argument is a
 * `UsageError` naming the flag.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./cli.ts";
 * const flags = parseFlags(["--out", "dir"], { out: { type: "string" } });
 * console.assert(flags.out === "dir");
 * ```
 */
export function parseFlags(
  args: string[],
  options: FlagSpec,
): Record<string, string | boolean | undefined> {
  try {
    const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
    return values as Record<string, string | boolean | undefined>;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // node:util messages are multi-line and mention "To specify a positional argument…"; keep the
    // first sentence, which names the flag.
    throw new UsageError(msg.split("\n")[0].replace(/\. To specify.*$/, "").trim());
  }
}

/**
 * True when `args` asks for help (`--help` or `-h`); tasks then print their usage and exit 0.
 *
 * @example
 * ```ts
 * import { wantsHelp } from "./cli.ts";
 * console.assert(wantsHelp(["--out", "x", "--help"]));
 * ```
 */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

/** Reads a string flag that must be present. */
export function requireString(
  flags: Record<string, string | boolean | undefined>,
  name: string,
): string {
  const v = flags[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`--${name} is required`);
  return v;
}

/**
 * Parses a numeric flag; `undefined` gives `fallback`. Rejects non-numbers and values outside
 * `[min, max]`, and non-integers when `integer` is set.
 */
export function numberFlag(
  value: string | boolean | undefined,
  name: string,
  fallback: number,
  opts: { min?: number; max?: number; integer?: boolean } = {},
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value.trim() === "") {
    throw new UsageError(`--${name} needs a number`);
  }
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  if (opts.integer && !Number.isInteger(n)) {
    throw new UsageError(`--${name} must be an integer, got ${value}`);
  }
  if (opts.min !== undefined && n < opts.min) {
    throw new UsageError(`--${name} must be at least ${opts.min}, got ${value}`);
  }
  if (opts.max !== undefined && n > opts.max) {
    throw new UsageError(`--${name} must be at most ${opts.max}, got ${value}`);
  }
  return n;
}

/** Parses a flag that must be one of `choices`. */
export function choiceFlag<T extends string>(
  value: string | boolean | undefined,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${value}"`);
  }
  return value as T;
}

/**
 * Runs a task's `main` and converts its outcome into an exit code. `InputError` and `UsageError`
 * print one line (`error: …`) and give 1 and 2; any other error prints its stack and gives 70.
 *
 * @example
 * ```ts
 * import { runMain } from "./cli.ts";
 * const code = await runMain(async () => 0, []);
 * console.assert(code === 0);
 * ```
 */
export async function runMain(
  main: (args: string[]) => Promise<number>,
  args: string[],
): Promise<number> {
  try {
    return await main(args);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    if (e instanceof InputError || e instanceof ResourceError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    return 70;
  }
}
