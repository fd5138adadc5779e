import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { listCheckpoints } from "./checkpoints.ts";

async function fakeCheckpoint(run: string, name: string, epoch: number, model = true) {
  const dir = join(run, "checkpoints", name);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "state.json"),
    JSON.stringify({
      format: "vessel-seg-checkpoint",
      formatVersion: 1,
      state: { epoch, step: epoch * 3, elapsedS: epoch * 1.5 },
      config: { batchSize: 4 },
      optimizer: { name: "adam", step: epoch * 3, slots: {} },
    }),
  );
  if (model) await Deno.writeTextFile(join(dir, "model.json"), "{}");
}

Deno.test("checkpoints: epoch folders sorted by epoch; interrupted and other entries ignored", async () => {
  const run = await Deno.makeTempDir();
  await fakeCheckpoint(run, "epoch-0010", 10);
  await fakeCheckpoint(run, "epoch-0002", 2);
  await fakeCheckpoint(run, "interrupted", 3);
  await Deno.writeTextFile(join(run, "checkpoints", "latest.json"), "{}");
  const list = await listCheckpoints(run);
  assert.deepEqual(list.map((c) => [c.name, c.epoch, c.step, c.elapsedS]), [
    ["epoch-0002", 2, 6, 3],
    ["epoch-0010", 10, 30, 15],
  ]);
  assert.equal(list[0].dir, join(run, "checkpoints", "epoch-0002"));
  assert.equal(list[0].config.batchSize, 4);
});

Deno.test("checkpoints: missing or inconsistent checkpoints are InputErrors naming the file", async () => {
  const run = await Deno.makeTempDir();
  const rejects = (re: RegExp) =>
    assert.rejects(
      listCheckpoints(run),
      (e: unknown) => e instanceof InputError && re.test(e.message),
    );
  await rejects(/checkpoints: no such folder/);
  await Deno.mkdir(join(run, "checkpoints"));
  await rejects(/checkpoints: no epoch-NNNN checkpoint in it/);
  await fakeCheckpoint(run, "epoch-0004", 5);
  await rejects(/epoch-0004\/state\.json: state\.epoch is 5, folder says 4/);
  await fakeCheckpoint(run, "epoch-0004", 4, false);
  await Deno.remove(join(run, "checkpoints", "epoch-0004", "model.json"));
  await rejects(/epoch-0004\/model\.json: no such file/);
  await Deno.writeTextFile(join(run, "checkpoints", "epoch-0004", "state.json"), "{");
  await rejects(/epoch-0004\/state\.json: bad JSON/);
  await Deno.writeTextFile(join(run, "checkpoints", "epoch-0004", "state.json"), '{"format":"x"}');
  await rejects(/not a vessel-seg checkpoint/);
});
