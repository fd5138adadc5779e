/**
 * File input and output. Output is atomic: every file the tool writes goes to a temporary name in
 * the same directory and is renamed into place, so an interrupted run never leaves a half-written
 * file under the final name. Input JSON is read by {@linkcode readJson}, which turns every failure
 * into one `InputError` line naming the file.
 *
 * @module
 */
import { dirname } from "node:path";
import { InputError } from "./errors.ts";

let counter = 0;

function tempName(path: string): string {
  counter++;
  return `${path}.${Deno.pid}.${counter}.tmp`;
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
