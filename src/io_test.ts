import assert from "node:assert/strict";
import { exists, writeFileAtomic, writeJsonAtomic } from "./io.ts";

Deno.test("writeFileAtomic: creates parents, replaces content, leaves no temp files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a/b/c.bin`;
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path, new Uint8Array([4, 5]));
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([4, 5]));
    const names = [...Deno.readDirSync(`${dir}/a/b`)].map((e) => e.name);
    assert.deepEqual(names, ["c.bin"]);
    await writeJsonAtomic(`${dir}/m.json`, { x: 1 });
    assert.equal(await Deno.readTextFile(`${dir}/m.json`), '{\n  "x": 1\n}\n');
    assert.equal(await exists(`${dir}/m.json`), true);
    assert.equal(await exists(`${dir}/nope`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic: a write that fails half-way (full disk) leaves the old file intact", async () => {
  const dir = await Deno.makeTempDir();
  const realWrite = Deno.writeFile;
  try {
    const path = `${dir}/x.txt`;
    await writeFileAtomic(path, new Uint8Array([9, 9, 9]));
    // Every write now stores the first half of its bytes, then fails like a full disk. A
    // non-atomic write to `path` would leave it holding the half.
    // deno-lint-ignore no-explicit-any
    (Deno as any).writeFile = async (p: string | URL, data: Uint8Array) => {
      await realWrite(p, data.subarray(0, data.length >> 1));
      throw new Deno.errors.WriteZero("no space left on device");
    };
    await assert.rejects(() => writeFileAtomic(path, new Uint8Array([1, 2, 3, 4])), /no space/);
    // deno-lint-ignore no-explicit-any
    (Deno as any).writeFile = realWrite;
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([9, 9, 9]));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["x.txt"], "no temp file left");
  } finally {
    // deno-lint-ignore no-explicit-any
    (Deno as any).writeFile = realWrite;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic: a rename that fails (a folder in the way) removes the temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/d`);
    await assert.rejects(() => writeFileAtomic(`${dir}/d`, new Uint8Array([1])));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["d"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
