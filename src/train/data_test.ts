import assert from "node:assert/strict";
import { join } from "node:path";
import { openPrepared } from "../data/prepared_io.ts";
import { Rng } from "../rng.ts";
import { normalizationFor, toInput } from "../data/input.ts";
import { batches, epochOrder } from "./data.ts";
import { writeTinyPrepared } from "../data/testing.ts";

Deno.test("data: toInput scales to 0–1 and normalises per channel", () => {
  const out = new Float32Array(4);
  toInput(new Uint8Array([255, 0, 51]), {}, out, 1);
  assert.deepEqual([...out], [0, 1, 0, Math.fround(0.2)]);
  toInput(new Uint8Array([255, 0, 51]), { mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1] }, out, 0);
  // (1 − 0.5)/0.25 = 2; (0 − 0.5)/0.5 = −1; (0.2 − 0.5)/1 = −0.3
  assert.ok(
    Math.abs(out[0] - 2) < 1e-6 && Math.abs(out[1] + 1) < 1e-6 && Math.abs(out[2] + 0.3) < 1e-6,
    `${out}`,
  );
});

Deno.test("data: batches stream in order, resume mid-epoch with the same augmented samples", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeTinyPrepared(join(dir, "p"), { train: 5, val: 1, sizePx: 8, seed: 2 });
    const ds = await openPrepared(join(dir, "p"));
    const tiles = ds.tiles("train");
    const norm = normalizationFor("dataset", ds.manifest.stats);
    const order = epochOrder(tiles, new Rng(4));
    assert.deepEqual(order.map((t) => t.index).sort(), [0, 1, 2, 3, 4]);
    assert.deepEqual(order, epochOrder(tiles, new Rng(4)));
    const opts = { batchSize: 2, norm, augment: "all" as const, seed: 9, epoch: 3 };
    const full = [];
    for await (const b of batches(ds, order, opts)) full.push(b);
    assert.deepEqual(full.map((b) => b.tiles.length), [2, 2, 1]);
    assert.deepEqual(full.flatMap((b) => b.tiles), order);
    for (const b of full) {
      assert.equal(b.x.length, b.tiles.length * 8 * 8 * 3);
      assert.ok(b.y.every((v, i) => v === b.maskU8[i]), "y must equal the mask bytes");
    }
    const resumed = [];
    for await (const b of batches(ds, order, { ...opts, startBatch: 1 })) resumed.push(b);
    assert.deepEqual(resumed, full.slice(1));
    // unaugmented masks are the shard's bytes
    const plain = [];
    for await (const b of batches(ds, order, { batchSize: 5, norm })) plain.push(b);
    const raw = await ds.readBatch(order);
    assert.deepEqual(plain[0].maskU8, raw.maskU8);
    ds.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
