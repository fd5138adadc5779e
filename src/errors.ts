/**
 * Errors that reach the user as one line.
 *
 * `InputError` is for bad input data and names the file, the line (or CSV row) and the field, in
 * the form `polygons.jsonl:17: annotation 3: ring 0 has 2 points, need at least 3`.
 * `UsageError` is for bad flags. `ResourceError` is for a run the machine cannot hold (memory).
 * Task entry points print `error: <message>` and exit non-zero.
 *
 * @module
 */

/** Bad input data: the message starts with `file:line:` (or `file:` when no line applies). */
export class InputError extends Error {
  /** The file the error is in, as the user named it. */
  readonly file: string;
  /** 1-based line (JSONL) or row (CSV, header is row 1); `undefined` for whole-file errors. */
  readonly line: number | undefined;
  /** What is wrong, without the location prefix. */
  readonly detail: string;

  /**
   * @example
   * ```ts
   * import { InputError } from "./errors.ts";
   * const e = new InputError("polygons.jsonl", 17, "annotation 3: ring 0 has 2 points, need at least 3");
   * console.assert(e.message === "polygons.jsonl:17: annotation 3: ring 0 has 2 points, need at least 3");
   * ```
   */
  constructor(file: string, line: number | undefined, detail: string) {
    super(line === undefined ? `${file}: ${detail}` : `${file}:${line}: ${detail}`);
    this.name = "InputError";
    this.file = file;
    this.line = line;
    this.detail = detail;
  }
}

/** A bad command line: unknown flag, missing value, value out of range. */
export class UsageError extends Error {
  /**
   * @example
   * ```ts
   * import { UsageError } from "./errors.ts";
   * const e = new UsageError("--scale must be one of 1, 0.5, 0.25, got 0.3");
   * console.assert(e.name === "UsageError");
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The run needs more of a machine resource than there is (e.g. the wasm heap's 4 GiB). */
export class ResourceError extends Error {
  /**
   * @example
   * ```ts
   * import { ResourceError } from "./errors.ts";
   * const e = new ResourceError("the wasm heap is full");
   * console.assert(e.name === "ResourceError");
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "ResourceError";
  }
}
