/**
 * File input and output. Output is atomic: every file the tool writes goes to a temporary name in
 * the same directory and is renamed into place, so an interrupted run never leaves a half-written
 * file under the final name. Input JSON is read by {@linkcode readJson}, which turns every failure
 * into one `InputError` line naming the file.
 *
 * @module
 */
import { basename, dirname, join, resolve, sep } from "node:path";
import { InputError, ResourceError, UsageError } from "./errors.ts";

let counter = 0;

function tempName(path: string): string {
  counter++;
  // pid and counter alone are not unique: workers of one process each have their own counter.
  return `${path}.${Deno.pid}.${counter}.${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/**
 * Writes `data` to `path` atomically (temp file + rename), creating parent directories.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./io.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a/b.bin`, new Uint8Array([1, 2, 3]));
 * console.assert((await Deno.readFile(`${dir}/a/b.bin`)).join() === "1,2,3");
 * console.assert([...Deno.readDirSync(`${dir}/a`)].length === 1); // no temp file left
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Writes `text` (UTF-8) to `path` atomically. */
export async function writeTextFileAtomic(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text));
}

/** Writes `value` as pretty JSON with a trailing newline, atomically. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeTextFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** True when `path` exists (file or directory). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    // A file where a folder on the path belongs (`file.bin/x`) means `path` cannot exist.
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    throw e;
  }
}

/** One line of an error message: newlines and runs of spaces folded into single spaces. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** The one-line `InputError` for a failed read of `path`, or `e` itself when it is no such case. */
function readError(path: string, e: unknown, expected: string, what?: string): unknown {
  if (e instanceof Deno.errors.NotFound) {
    return new InputError(path, undefined, `no such file${what ? ` (${what})` : ""}`);
  }
  if (e instanceof Deno.errors.IsADirectory) {
    return new InputError(path, undefined, `is a folder, expected ${expected}`);
  }
  if (e instanceof Deno.errors.NotADirectory) {
    return new InputError(path, undefined, "no such file (a file stands where a folder belongs)");
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new InputError(path, undefined, "cannot be read (permission denied)");
  }
  return e;
}

/**
 * Reads an input file's bytes. A missing file, a folder in its place and an unreadable file are
 * each an `InputError` naming the file, on one line.
 *
 * @example
 * ```ts
 * import { readInputFile } from "./io.ts";
 * const err = await readInputFile("/", "an image").catch((e) => e.message);
 * console.assert(err === "/: is a folder, expected an image");
 * ```
 */
export async function readInputFile(
  path: string,
  expected = "a file",
  what?: string,
): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw readError(path, e, expected, what);
  }
}

/** {@linkcode readInputFile} for UTF-8 text; text that is not UTF-8 is an `InputError` too. */
export async function readInputText(
  path: string,
  expected = "a text file",
  what?: string,
): Promise<string> {
  const bytes = await readInputFile(path, expected, what);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(path, undefined, "is not UTF-8 text");
  }
}

/**
 * Reads and parses a JSON file. A missing file, a folder in its place, an unreadable file and bad
 * JSON are each an `InputError` naming the file, on one line; `what` (e.g. "the run's config")
 * is added to the "no such file" message.
 *
 * @example
 * ```ts
 * import { readJson } from "./io.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.json`, '{"x": 1}');
 * console.assert((await readJson<{ x: number }>(`${dir}/a.json`)).x === 1);
 * const err = await readJson(`${dir}/missing.json`).catch((e) => e.message);
 * console.assert(err === `${dir}/missing.json: no such file`);
 * ```
 */
export async function readJson<T = unknown>(path: string, what?: string): Promise<T> {
  const text = await readInputText(path, "a JSON file", what);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new InputError(path, undefined, `bad JSON: ${oneLine((e as Error).message)}`);
  }
}

/** An output folder a task holds while it writes (see {@linkcode claimOutput}). */
export interface OutputClaim {
  /** The folder. */
  dir: string;
  /** True when the folder did not exist before this task made it. */
  created: boolean;
  /** Removes the lock. */
  release(): Promise<void>;
  /** After a failure: removes the folder when this task made it, and the lock. */
  abandon(): Promise<void>;
}

/** Name of the lock file a task keeps in its output folder while it writes. */
export const LOCK_FILE = ".vessel-seg.lock";

async function realOrAbsolute(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return resolve(path);
  }
}

const isWithin = (inner: string, outer: string) =>
  inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);

function processAlive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses an output folder `dir` that is one of `inputs`, holds one, or is the folder of an input
 * file: writing there could replace an input.
 *
 * @throws {UsageError} naming the flag and the input
 */
export async function checkNotOverInputs(
  dir: string,
  inputs: readonly string[],
  flag: string,
): Promise<void> {
  const out = await realOrAbsolute(dir);
  for (const input of inputs) {
    const inPath = await realOrAbsolute(input);
    const isDir = await Deno.stat(inPath).then((s) => s.isDirectory, () => undefined);
    if (isDir === undefined) continue; // a missing input is reported where it is read
    const inFolder = isDir ? inPath : dirname(inPath);
    if (isWithin(inFolder, out)) {
      throw new UsageError(
        `${flag} ${dir} would write over the input ${input}; choose a folder outside the inputs`,
      );
    }
  }
}

/**
 * Refuses a path given for an output file that is a folder (writing would fail at the very end,
 * after all the work).
 *
 * @throws {UsageError} naming the flag
 *
 * @example
 * ```ts
 * import { checkOutputFile } from "./io.ts";
 * const e = await checkOutputFile(await Deno.makeTempDir(), "--out").catch((e) => e);
 * console.assert(e.message.endsWith("is a folder, expected a file path"));
 * ```
 */
export async function checkOutputFile(path: string, flag: string): Promise<void> {
  const info = await Deno.stat(path).catch(() => undefined);
  if (info?.isDirectory) throw new UsageError(`${flag} ${path} is a folder, expected a file path`);
}

/**
 * Refuses an output file `file` that is one of `inputs` or lies inside an input folder (writing
 * it would change an input). Unlike {@linkcode checkNotOverInputs}, a file beside the inputs, or
 * in a folder that holds them, is fine: it replaces nothing of theirs.
 *
 * @throws {UsageError} naming the flag and the input
 *
 * @example
 * ```ts
 * import { checkFileNotInInputs } from "./io.ts";
 * const dir = await Deno.makeTempDir();
 * await checkFileNotInInputs(`${dir}/model.onnx`, [`${dir}/run`], "--out"); // beside: fine
 * const e = await checkFileNotInInputs(`${dir}/model.onnx`, [dir], "--out").catch((e) => e);
 * console.assert(e instanceof Error);
 * ```
 */
export async function checkFileNotInInputs(
  file: string,
  inputs: readonly string[],
  flag: string,
): Promise<void> {
  const out = join(await realOrAbsolute(dirname(file)), basename(file));
  for (const input of inputs) {
    const inPath = await realOrAbsolute(input);
    if (out === inPath || isWithin(out, inPath)) {
      throw new UsageError(
        `${flag} ${file} would write into the input ${input}; choose another path`,
      );
    }
  }
}

/**
 * Claims `dir` as a task's output folder, before anything is written: refuses a file in its
 * place, a folder that is one of the task's `inputs` (or holds one, or is the folder of an input
 * file) so that no input is ever written over, and a folder another running process holds (its
 * pid is named; the lock of a dead process is taken over). Creates the folder and a lock file
 * `.vessel-seg.lock` in it.
 *
 * @throws {InputError} naming the folder, or a `UsageError` for an input in the way
 *
 * @example
 * ```ts
 * import { claimOutput } from "./io.ts";
 * const dir = await Deno.makeTempDir();
 * const claim = await claimOutput(`${dir}/out`, { inputs: [`${dir}/in`] });
 * const second = await claimOutput(`${dir}/out`).catch((e) => e.message);
 * console.assert(second.includes(`in use by process ${Deno.pid}`));
 * await claim.release();
 * ```
 */
export async function claimOutput(
  dir: string,
  opts: { inputs?: readonly string[]; flag?: string } = {},
): Promise<OutputClaim> {
  const flag = opts.flag ?? "--out";
  let created = false;
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) {
      throw new InputError(dir, undefined, `is a file; ${flag} needs a folder`);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    created = true;
  }
  await checkNotOverInputs(dir, opts.inputs ?? [], flag);
  await Deno.mkdir(dir, { recursive: true });
  const lock = join(dir, LOCK_FILE);
  for (let attempt = 0;; attempt++) {
    try {
      const f = await Deno.open(lock, { write: true, createNew: true });
      await f.write(new TextEncoder().encode(`${Deno.pid}\n`));
      f.close();
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists) || attempt > 2) throw e;
      const pid = Number((await Deno.readTextFile(lock).catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        if (created) await Deno.remove(dir).catch(() => {});
        throw new InputError(dir, undefined, `in use by process ${pid} (lock ${lock})`);
      }
      await Deno.remove(lock).catch(() => {}); // a dead process's lock: take it over
    }
  }
  const release = async () => {
    await Deno.remove(lock).catch(() => {});
  };
  return {
    dir,
    created,
    release,
    abandon: async () => {
      if (created) await Deno.remove(dir, { recursive: true }).catch(() => {});
      else await release();
    },
  };
}

/**
 * Runs `fn` holding `dir` as the output folder ({@linkcode claimOutput}); when `fn` throws, a
 * folder this call made is removed again, so a failed run leaves nothing behind.
 */
export async function withOutput<T>(
  dir: string,
  opts: { inputs?: readonly string[]; flag?: string },
  fn: (claim: OutputClaim) => Promise<T>,
): Promise<T> {
  const claim = await claimOutput(dir, opts);
  try {
    const result = await fn(claim);
    await claim.release();
    return result;
  } catch (e) {
    await claim.abandon();
    throw outputFault(e, dir);
  }
}

/**
 * A full disk or a read-only output folder while writing into `dir`, as one `ResourceError` line
 * naming the folder; any other error unchanged.
 *
 * @example
 * ```ts
 * import { outputFault } from "./io.ts";
 * const full = Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
 * console.assert((outputFault(full, "out") as Error).message.startsWith("out: no space left on device"));
 * ```
 */
export function outputFault(e: unknown, dir: string): unknown {
  const code = (e as { code?: string } | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new ResourceError(
      `${dir}: no space left on device; nothing was published (free space and run again)`,
    );
  }
  if (code === "EROFS") return new ResourceError(`${dir}: the file system is read-only`);
  return e;
}
