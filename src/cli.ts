/**
 * Shared plumbing for the thin CLIs in `tasks/`: one flag table per task, and the `runMain`
 * wrapper that turns `InputError`/`UsageError`/`ResourceError` into one line on stderr and an
 * exit code.
 *
 * Each flag is declared once, in a table of {@linkcode flag} entries (type, default, allowed range
 * or choices, help line); {@linkcode defineTask} turns the table into the `node:util` `parseArgs`
 * spec (JSR's `@std/cli` is unreachable from this project's machines), the `--help` text, the
 * defaults and the range checks, and {@linkcode parseTask} returns typed values.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { InputError, ResourceError, UsageError } from "./errors.ts";

interface FlagCommon {
  /** One line for `--help`. */
  help: string;
  /** The value's placeholder in `--help` (`DIR`, `N`); choices default to `a|b|c`. */
  arg?: string;
  /** Shown as `(default …)` in `--help` instead of the default value. */
  defaultText?: string;
}

/** A string-valued flag. */
export interface StringFlag extends FlagCommon {
  kind: "string";
  required?: boolean;
  default?: string;
}

/** A number-valued flag, range-checked. */
export interface NumberFlag extends FlagCommon {
  kind: "number";
  required?: boolean;
  default?: number;
  integer?: boolean;
  min?: number;
  max?: number;
}

/** A flag whose value must be one of `choices`. */
export interface ChoiceFlag<C extends string = string> extends FlagCommon {
  kind: "choice";
  choices: readonly C[];
  default?: C;
}

/** A string flag that may be given several times; its value is the list. */
export interface RepeatedFlag extends FlagCommon {
  kind: "repeated";
  required?: boolean;
}

/** A flag without a value. */
export interface BooleanFlag extends FlagCommon {
  kind: "boolean";
}

/** A comma-separated list, each item checked against `choices` when given. */
export interface ListFlag<C extends string = string> extends FlagCommon {
  kind: "list";
  choices?: readonly C[];
  default?: readonly C[];
}

/** Any flag of a table. */
export type Flag = StringFlag | NumberFlag | ChoiceFlag | BooleanFlag | ListFlag | RepeatedFlag;

/** A task's flags: flag name (without `--`) → declaration. */
export type FlagTable = Record<string, Flag>;

type Given<F> = F extends { required: true } ? true : F extends { default: unknown } ? true : false;

/** The parsed value type of one flag. */
export type FlagValue<F> = F extends BooleanFlag ? boolean
  : F extends StringFlag ? (Given<F> extends true ? string : string | undefined)
  : F extends NumberFlag ? (Given<F> extends true ? number : number | undefined)
  : F extends ChoiceFlag<infer C> ? (Given<F> extends true ? C : C | undefined)
  : F extends RepeatedFlag ? string[]
  : F extends ListFlag<infer C> ? (Given<F> extends true ? C[] : C[] | undefined)
  : never;

/** The parsed values of a table, by flag name. */
export type FlagValues<T extends FlagTable> = { -readonly [K in keyof T]: FlagValue<T[K]> };

/**
 * Flag declarations. Each takes its options and returns the declaration with its literal types
 * kept, so that {@linkcode parseTask} knows which values are always present.
 *
 * @example
 * ```ts
 * import { flag } from "./cli.ts";
 * const f = flag.number({ default: 0, min: 0, integer: true, help: "seed" });
 * console.assert(f.kind === "number" && f.default === 0);
 * ```
 */
export const flag = {
  string: <const O extends Omit<StringFlag, "kind">>(o: O): O & { kind: "string" } =>
    withKind(o, "string"),
  number: <const O extends Omit<NumberFlag, "kind">>(o: O): O & { kind: "number" } =>
    withKind(o, "number"),
  choice: <const C extends string, const O extends Omit<ChoiceFlag<C>, "kind" | "choices">>(
    choices: readonly C[],
    o: O,
  ): O & { kind: "choice"; choices: readonly C[] } => ({ ...withKind(o, "choice"), choices }),
  repeated: <const O extends Omit<RepeatedFlag, "kind">>(o: O): O & { kind: "repeated" } =>
    withKind(o, "repeated"),
  boolean: <const O extends Omit<BooleanFlag, "kind">>(o: O): O & { kind: "boolean" } =>
    withKind(o, "boolean"),
  list: <const C extends string, const O extends Omit<ListFlag<C>, "kind">>(
    o: O & { choices?: readonly C[] },
  ): O & { kind: "list" } => withKind(o, "list"),
  /** A 32-bit seed, default 0. */
  seed: (help: string): NumberFlag & { default: number } =>
    withKind({ default: 0, min: 0, max: 0xffffffff, integer: true, help }, "number"),
};

function withKind<O extends object, K extends Flag["kind"]>(o: O, kind: K): O & { kind: K } {
  return { ...o, kind };
}

/** What tests and the demo pass to a task's `main` besides its arguments. */
export interface TaskOptions<R = never> {
  /** Keep the active tfjs backend instead of choosing one (tests, the demo). */
  keepBackend?: boolean;
  /** Human-readable lines. Default: stderr. */
  log?: (line: string) => void;
  /** Receives the task's result. */
  onResult?: (result: R) => void;
  /** Where the task's printed result goes. Default: stdout. */
  print?: (text: string) => void;
}

/**
 * Hands a task's result to the caller's `onResult` and prints its text (stdout by default).
 *
 * @example
 * ```ts
 * import { deliver } from "./cli.ts";
 * let got = 0;
 * deliver({ onResult: (r: number) => (got = r), print: () => {} }, 3, "three");
 * console.assert(got === 3);
 * ```
 */
export function deliver<R>(opts: TaskOptions<R>, result: R, ...lines: string[]): void {
  opts.onResult?.(result);
  const print = opts.print ?? ((t: string) => console.log(t));
  for (const line of lines) print(line);
}

/** The flags every task has. */
export const QUIET: BooleanFlag = flag.boolean({ help: "no progress output" });

/** A task's command line: its synopsis, what it does, and its flag table. */
export interface TaskSpec<T extends FlagTable> {
  /** First line of `--help`, e.g. `deno task prepare --data DIR --out DIR [flags]`. */
  synopsis: string;
  /** A paragraph saying what the task does. */
  summary: string;
  flags: T;
  /** Lines printed after the flags (notes, examples). */
  epilog?: string;
}

/**
 * Declares a task's command line (identity at run time; keeps the table's types).
 *
 * @example
 * ```ts
 * import { defineTask, flag, parseTask } from "./cli.ts";
 * const spec = defineTask({
 *   synopsis: "deno task x --out DIR",
 *   summary: "Does x.",
 *   flags: { out: flag.string({ required: true, arg: "DIR", help: "where" }) },
 * });
 * console.assert(parseTask(spec, ["--out", "d"])?.out === "d");
 * ```
 */
export function defineTask<const T extends FlagTable>(spec: TaskSpec<T>): TaskSpec<T> {
  return spec;
}

function argText(f: Flag): string {
  if (f.arg !== undefined) return f.arg;
  if (f.kind === "choice") return f.choices.join("|");
  if (f.kind === "list") return f.choices ? `${f.choices.join(",")}` : "A,B,…";
  if (f.kind === "number") return f.integer ? "N" : "X";
  if (f.kind === "repeated") return "VALUE";
  return f.kind === "boolean" ? "" : "VALUE";
}

function defaultText(f: Flag): string | undefined {
  if (f.defaultText !== undefined) return f.defaultText;
  if (f.kind === "boolean") return undefined;
  if ("required" in f && f.required) return "required";
  const d = "default" in f ? f.default : undefined;
  if (d === undefined) return undefined;
  return Array.isArray(d) ? d.join(",") : String(d);
}

/**
 * The `--help` text of a task: synopsis, summary, one line per flag with its default, `--help`.
 *
 * @example
 * ```ts
 * import { defineTask, flag, usage } from "./cli.ts";
 * const text = usage(defineTask({
 *   synopsis: "deno task x",
 *   summary: "Does x.",
 *   flags: { n: flag.number({ default: 3, help: "how many" }) },
 * }));
 * console.assert(text.includes("--n X") && text.includes("how many (default 3)"));
 * ```
 */
export function usage<T extends FlagTable>(spec: TaskSpec<T>): string {
  const rows: [string, string][] = Object.entries(spec.flags).map(([name, f]) => {
    const d = defaultText(f);
    const suffix = d === undefined ? "" : d === "required" ? " (required)" : ` (default ${d})`;
    return [`--${name}${f.kind === "boolean" ? "" : ` ${argText(f)}`}`, f.help + suffix];
  });
  rows.push(["--help", "print this text"]);
  const width = Math.min(32, Math.max(...rows.map(([l]) => l.length)) + 2);
  const lines = rows.map(([l, h]) =>
    l.length >= width ? `  ${l}\n  ${" ".repeat(width)}${h}` : `  ${l.padEnd(width)}${h}`
  );
  return [spec.synopsis, "", spec.summary, "", ...lines, ...(spec.epilog ? ["", spec.epilog] : [])]
    .join("\n");
}

const NUMBER_LIKE = /^-(\d|\.\d|Infinity|NaN)/;

/**
 * Lets a value that looks like a negative number follow a flag that takes a value (`--epochs -3`
 * is `--epochs=-3`, then refused by the range check, instead of "argument is ambiguous").
 */
function joinNegativeValues(args: readonly string[], table: FlagTable): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const f = a.startsWith("--") && !a.includes("=") ? table[a.slice(2)] : undefined;
    if (f !== undefined && f.kind !== "boolean" && NUMBER_LIKE.test(args[i + 1] ?? "")) {
      out.push(`${a}=${args[++i]}`);
    } else out.push(a);
  }
  return out;
}

function checkNumber(raw: string, name: string, f: NumberFlag): number {
  if (raw.trim() === "") throw new UsageError(`--${name} needs a number`);
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
  if (f.integer && !Number.isInteger(n)) {
    throw new UsageError(`--${name} must be an integer, got ${raw}`);
  }
  if (f.min !== undefined && n < f.min) {
    throw new UsageError(`--${name} must be at least ${f.min}, got ${raw}`);
  }
  if (f.max !== undefined && n > f.max) {
    throw new UsageError(`--${name} must be at most ${f.max}, got ${raw}`);
  }
  return n;
}

function oneOf(value: string, name: string, choices: readonly string[]): string {
  if (!choices.includes(value)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got "${value}"`);
  }
  return value;
}

function convert(name: string, f: Flag, raw: string | boolean | string[] | undefined): unknown {
  if (f.kind === "boolean") return raw === true;
  if (f.kind === "repeated") {
    const list = (raw ?? []) as string[];
    if (f.required && list.length === 0) throw new UsageError(`--${name} is required`);
    if (list.some((v) => v === "")) throw new UsageError(`--${name} needs a value`);
    return list;
  }
  if (raw === undefined) {
    if ("required" in f && f.required) throw new UsageError(`--${name} is required`);
    return f.kind === "list" && f.default !== undefined ? [...f.default] : f.default;
  }
  const value = String(raw);
  switch (f.kind) {
    case "string":
      if (value === "") throw new UsageError(`--${name} needs a value`);
      return value;
    case "number":
      return checkNumber(value, name, f);
    case "choice":
      return oneOf(value, name, f.choices);
    case "list": {
      const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
      if (f.choices) { for (const item of items) oneOf(item, name, f.choices); }
      return items;
    }
  }
}

/**
 * Parses `args` against a table strictly: an unknown flag, a missing value, a stray positional
 * argument, a required flag left out or a value out of range is a `UsageError` naming the flag.
 * Returns the values with defaults filled in.
 *
 * @example
 * ```ts
 * import { flag, parseFlagTable } from "./cli.ts";
 * const v = parseFlagTable(["--epochs", "-3"], { epochs: flag.number({ default: 1, help: "" }) });
 * console.assert(v.epochs === -3);
 * ```
 */
export function parseFlagTable<const T extends FlagTable>(
  args: readonly string[],
  table: T,
): FlagValues<T> {
  const options: NonNullable<ParseArgsConfig["options"]> = {};
  for (const [name, f] of Object.entries(table)) {
    options[name] = {
      type: f.kind === "boolean" ? "boolean" : "string",
      ...(f.kind === "repeated" ? { multiple: true } : {}),
    };
  }
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({
      args: joinNegativeValues(args, table),
      options,
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | boolean | string[] | undefined>;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // node:util messages are multi-line and mention "To specify a positional argument…"; keep the
    // first sentence, which names the flag.
    throw new UsageError(msg.split("\n")[0].replace(/\. To specify.*$/, "").trim());
  }
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(table)) out[name] = convert(name, f, values[name]);
  return out as FlagValues<T>;
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

/**
 * A task's parsed flags, or `undefined` after printing its `--help` text (the task returns 0).
 *
 * @example
 * ```ts
 * import { defineTask, flag, parseTask } from "./cli.ts";
 * const spec = defineTask({ synopsis: "x", summary: "y", flags: { q: flag.boolean({ help: "" }) } });
 * console.assert(parseTask(spec, ["--help"], () => {}) === undefined);
 * console.assert(parseTask(spec, ["--q"])?.q === true);
 * ```
 */
export function parseTask<const T extends FlagTable>(
  spec: TaskSpec<T>,
  args: readonly string[],
  print: (text: string) => void = (t) => console.log(t),
): FlagValues<T> | undefined {
  if (wantsHelp(args)) {
    print(usage(spec));
    return undefined;
  }
  return parseFlagTable(args, spec.flags);
}

type Camel<S extends string> = S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}`
  : S;

/** Flag values keyed by camelCase names (`batch-size` → `batchSize`), as option objects are. */
export type CamelFlags<T> = { [K in keyof T as Camel<K & string>]: T[K] };

/**
 * The parsed flags with camelCase keys, to pass straight to a library function whose options
 * have the flags' names.
 *
 * @example
 * ```ts
 * import { camelFlags } from "./cli.ts";
 * console.assert(camelFlags({ "batch-size": 4, out: "x" }).batchSize === 4);
 * ```
 */
export function camelFlags<T extends Record<string, unknown>>(flags: T): CamelFlags<T> {
  return Object.fromEntries(
    Object.entries(flags).map(([k, v]) => [k.replace(/-(\w)/g, (_, c) => c.toUpperCase()), v]),
  ) as CamelFlags<T>;
}

/**
 * A task's `main(args, opts)` from its spec and body: `--help` prints the usage and gives 0;
 * otherwise the body gets the parsed flags, the caller's options (tests) and the raw arguments.
 *
 * @example
 * ```ts
 * import { defineTask, flag, taskMain } from "./cli.ts";
 * const spec = defineTask({ synopsis: "x", summary: "y", flags: { n: flag.number({ default: 2, help: "" }) } });
 * const main = taskMain(spec, (f) => Promise.resolve(f.n));
 * console.assert((await main(["--n", "5"])) === 5);
 * ```
 */
export function taskMain<const T extends FlagTable, O = Record<string, never>>(
  spec: TaskSpec<T>,
  body: (flags: FlagValues<T>, opts: O, args: string[]) => Promise<number>,
): (args: string[], opts?: O) => Promise<number> {
  return async (args, opts) => {
    const f = parseTask(spec, args);
    return f === undefined ? 0 : await body(f, opts ?? ({} as O), args);
  };
}

/**
 * One line for the file-system faults a task cannot fix but the user can (a full disk, a
 * read-only or forbidden output folder); `undefined` for anything else (a bug: stack trace).
 *
 * @example
 * ```ts
 * import { systemErrorLine } from "./cli.ts";
 * const e = Object.assign(new Error("No space left on device (os error 28): write '/x'"), { code: "ENOSPC" });
 * console.assert(systemErrorLine(e)?.endsWith("the disk is full; free space and run again"));
 * console.assert(systemErrorLine(new TypeError("x")) === undefined);
 * ```
 */
export function systemErrorLine(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const code = (e as { code?: string }).code;
  const text = e.message.replace(/\s+/g, " ").trim();
  if (code === "ENOSPC" || code === "EDQUOT") {
    return `${text}: the disk is full; free space and run again`;
  }
  if (code === "EROFS") return `${text}: the file system is read-only`;
  if (e instanceof Deno.errors.PermissionDenied) return `${text}: permission denied`;
  return undefined;
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
    const system = systemErrorLine(e);
    if (system !== undefined) {
      console.error(`error: ${system}`);
      return 1;
    }
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    return 70;
  }
}
