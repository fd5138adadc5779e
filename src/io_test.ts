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

Deno.test("writeFileAtomic: a failed write leaves the old file intact", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/x.txt`;
    await writeFileAtomic(path, new Uint8Array([9]));
    // Renaming onto a directory fails: the original must survive and no temp file remain.
    await Deno.mkdir(`${dir}/d`);
    await assert.rejects(() => writeFileAtomic(`${dir}/d`, new Uint8Array([1])));
    assert.deepEqual(await Deno.readFile(path), new Uint8Array([9]));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["d", "x.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
