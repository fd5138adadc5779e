import assert from "node:assert/strict";
import { InputError } from "../errors.ts";
import { readLines, splitCsvLine } from "./csv.ts";

async function lines(content: string | Uint8Array): Promise<[number, string][]> {
  const path = await Deno.makeTempFile();
  try {
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
    const out: [number, string][] = [];
    for await (const { line, text } of readLines(path)) out.push([line, text]);
    return out;
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("readLines: LF, CRLF, no final newline, BOM, blank lines keep their numbers", async () => {
  assert.deepEqual(await lines("a\nb\n"), [[1, "a"], [2, "b"]]);
  assert.deepEqual(await lines("a\r\nb\r\n\r\nc"), [[1, "a"], [2, "b"], [3, ""], [4, "c"]]);
  assert.deepEqual(await lines("\ufeffx,y\n1,2"), [[1, "x,y"], [2, "1,2"]]);
  assert.deepEqual(await lines(""), []);
});

Deno.test("readLines: lines longer than a read chunk and multi-byte UTF-8 across chunks", async () => {
  const long = "é".repeat(200_000); // 400 000 bytes: spans several reads
  const got = await lines(`${long}\nshort\n`);
  assert.equal(got.length, 2);
  assert.equal(got[0][1], long);
  assert.deepEqual(got[1], [2, "short"]);
});

Deno.test("readLines: stopping early closes the file; a missing file is an InputError", async () => {
  const path = await Deno.makeTempFile();
  await Deno.writeTextFile(path, "1\n2\n3\n".repeat(100_000)); // larger than one read
  // Deno's resource sanitizer does not see a stream left half-read, so look for a descriptor on
  // the file in /proc (other tests may open files meanwhile, so count only this one).
  const openOnPath = () => {
    let n = 0;
    try {
      for (const e of Deno.readDirSync("/proc/self/fd")) {
        try {
          if (Deno.readLinkSync(`/proc/self/fd/${e.name}`) === path) n++;
        } catch { /* closed meanwhile */ }
      }
    } catch { /* no /proc on this system: nothing to check */ }
    return n;
  };
  const seen: number[] = [];
  for await (const { line } of readLines(path)) {
    seen.push(line);
    if (line === 1) {
      if (Deno.build.os === "linux") assert.ok(openOnPath() >= 1, "the check sees the open file");
      break;
    }
  }
  assert.deepEqual(seen, [1]);
  // The descriptor is released when the in-flight read finishes: allow it up to a second.
  for (let k = 0; k < 100 && openOnPath() > 0; k++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(openOnPath(), 0, "the file is still open after break");
  await Deno.remove(path);
  await assert.rejects(async () => {
    for await (const _ of readLines(path)) { /* nothing */ }
  }, (e: unknown) => e instanceof InputError && e.message === `${path}: no such file`);
});

Deno.test("splitCsvLine: plain, quoted, escaped quotes, empty fields, errors", () => {
  assert.deepEqual(splitCsvLine("a,b,c"), ["a", "b", "c"]);
  assert.deepEqual(splitCsvLine(""), [""]);
  assert.deepEqual(splitCsvLine("a,,"), ["a", "", ""]);
  assert.deepEqual(splitCsvLine('"a,b",c'), ["a,b", "c"]);
  assert.deepEqual(splitCsvLine('x,"say ""hi""",""'), ["x", 'say "hi"', ""]);
  assert.equal(splitCsvLine('a,"open'), "unterminated quoted field 2");
  assert.equal(splitCsvLine('"a"b,c'), "unexpected character after quoted field 1");
});
