/**
 * Line-oriented text input shared by the Kaggle readers: a streaming line reader over `Deno.open`
 * (memory bounded by the longest line, not the file) and a minimal CSV field splitter.
 *
 * @module
 */
import { InputError } from "../errors.ts";

/** One line of a text file without its terminator (`\n` or `\r\n`); `line` is 1-based. */
export interface TextLine {
  line: number;
  text: string;
}

/**
 * Streams the lines of a UTF-8 text file. A leading byte-order mark is dropped, `\r\n` and `\n`
 * both end a line, and a final line without a terminator is still yielded. The file is closed
 * when the loop ends, also on `break` or an exception.
 *
 * @param path the file, named in errors as given
 * @throws {InputError} `path: no such file`
 *
 * @example
 * ```ts
 * import { readLines } from "./csv.ts";
 * for await (const { line, text } of readLines("fixtures/real/wsi_meta.csv")) {
 *   if (line === 1) console.assert(text.startsWith("source_wsi,"));
 * }
 * ```
 */
export async function* readLines(path: string): AsyncGenerator<TextLine> {
  let file: Deno.FsFile;
  try {
    // Opening a folder succeeds on Linux and fails only at the first read: look first.
    if ((await Deno.stat(path)).isDirectory) {
      throw new InputError(path, undefined, "is a folder, expected a file");
    }
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof InputError) throw e;
    if (e instanceof Deno.errors.NotFound) throw new InputError(path, undefined, "no such file");
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new InputError(path, undefined, "cannot be read (permission denied)");
    }
    throw e;
  }
  const reader = file.readable.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  let line = 0;
  let first = true;
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      let chunk = value;
      if (first) {
        if (chunk.length === 0) continue;
        if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
        first = false;
      }
      pending += chunk;
      let start = 0;
      let nl: number;
      while ((nl = pending.indexOf("\n", start)) >= 0) {
        const end = nl > start && pending.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        yield { line: ++line, text: pending.slice(start, end) };
        start = nl + 1;
      }
      pending = pending.slice(start);
    }
    if (pending.length > 0) {
      yield { line: ++line, text: pending.endsWith("\r") ? pending.slice(0, -1) : pending };
    }
  } finally {
    // Cancelling the stream closes the file (also when the consumer stops early).
    await reader.cancel().catch(() => {});
    try {
      file.close();
    } catch {
      // already closed by the stream
    }
  }
}

/**
 * Splits one CSV line into fields (RFC 4180 quoting within a line: `"a,b"` and `""` inside
 * quotes). Fields are not trimmed. Quoted fields spanning lines are not supported: the Kaggle
 * tables have none.
 *
 * @returns the fields, or a string describing the problem
 *
 * @example
 * ```ts
 * import { splitCsvLine } from "./csv.ts";
 * console.assert(JSON.stringify(splitCsvLine('a,"b,c",""""')) === '["a","b,c","\\""]');
 * ```
 */
export function splitCsvLine(text: string): string[] | string {
  const fields: string[] = [];
  let i = 0;
  const n = text.length;
  while (true) {
    if (text[i] === '"') {
      let value = "";
      i++;
      while (true) {
        const q = text.indexOf('"', i);
        if (q < 0) return `unterminated quoted field ${fields.length + 1}`;
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      if (i < n && text[i] !== ",") {
        return `unexpected character after quoted field ${fields.length + 1}`;
      }
      fields.push(value);
    } else {
      const comma = text.indexOf(",", i);
      const end = comma < 0 ? n : comma;
      fields.push(text.slice(i, end));
      i = end;
    }
    if (i >= n) return fields;
    i++; // skip the comma
    if (i === n) {
      fields.push("");
      return fields;
    }
  }
}
