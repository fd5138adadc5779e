/**
 * Hostile input, end to end: each case runs a task's real entry point as a child process on a
 * bad file, a bad flag or a busy folder, and checks what a user sees — the exit code, exactly one
 * stderr line `error: …` naming the file (or the flag), no stack trace — and what is left: no
 * output folder from a failed run, every input byte-identical (sha256), and, for the size bombs,
 * an answer within seconds. The data are copies of `fixtures/` made per case in a temp folder.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeTinyPrepared } from "../src/data/testing.ts";
import { LOCK_FILE } from "../src/io.ts";
import { prerequisite } from "../src/prerequisite.ts";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const MINI = join(ROOT, "fixtures/kaggle-mini");
const WEB = join(ROOT, "fixtures/web");
const tmp = await Deno.makeTempDir({ prefix: "vessel-seg-hostile-" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

interface Outcome {
  code: number;
  stderr: string;
  seconds: number;
}

async function run(task: string, args: string[]): Promise<Outcome> {
  const t0 = performance.now();
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", join(ROOT, "tasks", `${task}.ts`), ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", VESSEL_SEG_WASM_THREADS: "1", XDG_RUNTIME_DIR: tmp },
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000), // a hang (the old coordinate bomb) fails, not blocks
  }).output();
  return {
    code: res.code,
    stderr: new TextDecoder().decode(res.stderr),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** sha256 of every file under `dir` (relative path → hex). */
async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.isFile) {
        out[p.slice(dir.length)] = createHash("sha256").update(await Deno.readFile(p)).digest(
          "hex",
        );
      }
    }
  };
  await walk(dir);
  return out;
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/**
 * Asserts one hostile case: exit code, one `error:` line matching `message` (which names the
 * file), no stack trace, nothing at `absent`, the inputs unchanged, done within `seconds`.
 */
async function expectError(
  o: Outcome,
  want: { code: number; message: RegExp; absent?: string[]; seconds?: number },
): Promise<void> {
  const lines = o.stderr.split("\n").filter((l) =>
    l.trim() !== "" && !l.startsWith("Task ") && !l.startsWith("Hi, looks like") &&
    !/^=+$/.test(l) && !l.includes("tfjs-node")
  );
  assert.equal(o.code, want.code, o.stderr);
  assert.equal(lines.length, 1, `one stderr line, got:\n${o.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], want.message);
  assert.doesNotMatch(o.stderr, /^\s+at /m, "no stack trace");
  for (const p of want.absent ?? []) assert.equal(await exists(p), false, `${p} left behind`);
  assert.ok(o.seconds < (want.seconds ?? 60), `took ${o.seconds.toFixed(1)} s`);
}

/** A fresh copy of kaggle-mini in `tmp/name`, and its hashes. */
async function miniCopy(name: string): Promise<{ dir: string; hashes: Record<string, string> }> {
  const dir = join(tmp, name);
  await Deno.mkdir(dir, { recursive: true });
  await new Deno.Command("cp", { args: ["-r", `${MINI}/.`, dir] }).output();
  return { dir, hashes: await hashTree(dir) };
}

async function unchanged(dir: string, hashes: Record<string, string>, what: string) {
  assert.deepEqual(await hashTree(dir), hashes, `${what}: an input changed`);
}

/** A TIFF header that claims `width × height` RGB (Deflate) with 16 bytes of data. */
function bombTiff(width: number, height: number): Uint8Array {
  const entries: [number, number, number, number][] = [
    [256, 4, 1, width],
    [257, 4, 1, height],
    [258, 3, 1, 8],
    [259, 3, 1, 8],
    [262, 3, 1, 2],
    [273, 4, 1, 8 + 2 + 12 * 10 + 4],
    [277, 3, 1, 3],
    [278, 4, 1, height],
    [279, 4, 1, 16],
    [284, 3, 1, 1],
  ];
  const buf = new Uint8Array(8 + 2 + 12 * entries.length + 4 + 16);
  const v = new DataView(buf.buffer);
  buf.set([0x49, 0x49, 42, 0]);
  v.setUint32(4, 8, true);
  v.setUint16(8, entries.length, true);
  entries.forEach(([tag, type, count, value], i) => {
    const o = 10 + 12 * i;
    v.setUint16(o, tag, true);
    v.setUint16(o + 2, type, true);
    v.setUint32(o + 4, count, true);
    if (type === 3) v.setUint16(o + 8, value, true);
    else v.setUint32(o + 8, value, true);
  });
  return buf;
}

const firstTile = (await Deno.readTextFile(`${MINI}/polygons.jsonl`)).split("\n")
  .map((l) => l.trim() === "" ? undefined : JSON.parse(l).id as string)
  .find((id) => id !== undefined)!;

Deno.test("hostile prepare: files where folders belong and back, bad lines, bombs, busy folders", async (t) => {
  const cases: [string, (d: string) => Promise<void>, RegExp, number?][] = [
    ["polygons.jsonl is a folder", async (d) => {
      await Deno.remove(join(d, "polygons.jsonl"));
      await Deno.mkdir(join(d, "polygons.jsonl"));
    }, /polygons\.jsonl: is a (folder|directory)/],
    ["tile_meta.csv is a folder", async (d) => {
      await Deno.remove(join(d, "tile_meta.csv"));
      await Deno.mkdir(join(d, "tile_meta.csv"));
    }, /tile_meta\.csv: is a (folder|directory)/],
    ["a tile is a folder", async (d) => {
      const tile = join(d, "train", `${firstTile}.tif`);
      await Deno.remove(tile).catch(() => {});
      await Deno.mkdir(tile);
    }, new RegExp(`${firstTile}`)],
    ["huge finite coordinates (used to hang)", async (d) => {
      const p = join(d, "polygons.jsonl");
      const lines = (await Deno.readTextFile(p)).split("\n");
      lines[0] = JSON.stringify({
        id: firstTile,
        annotations: [{
          type: "blood_vessel",
          coordinates: [[[0, 0], [1e308, -1e308], [-1e308, 1e308]]],
        }],
      });
      await Deno.writeTextFile(p, lines.join("\n"));
    }, /polygons\.jsonl:1: .*outside ±1000000/],
    ["a broken JSON line", async (d) => {
      const p = join(d, "polygons.jsonl");
      await Deno.writeTextFile(p, (await Deno.readTextFile(p)).replace("}", ""));
    }, /polygons\.jsonl:1: /],
    ["a truncated tile", async (d) => {
      const tile = join(d, "train", `${firstTile}.tif`);
      await Deno.copyFile(join(ROOT, "fixtures/bad/truncated.tif"), tile);
    }, new RegExp(`${firstTile}\\.tif: truncated TIFF`)],
    [
      "a 285-byte TIFF claiming 10000×10000",
      async (d) => {
        await Deno.writeFile(join(d, "train", `${firstTile}.tif`), bombTiff(10000, 10000));
      },
      /larger than this tool accepts/,
      20,
    ],
  ];
  for (const [name, spoil, message, seconds] of cases) {
    await t.step(name, async () => {
      const { dir, hashes: _ } = await miniCopy(`prep-${name.replace(/\W+/g, "-")}`);
      await spoil(dir);
      const before = await hashTree(dir).catch(() => ({}));
      const out = join(tmp, `prep-out-${name.replace(/\W+/g, "-")}`);
      const o = await run("prepare", ["--data", dir, "--out", out, "--quiet"]);
      await expectError(o, { code: 1, message, absent: [out], seconds });
      await unchanged(dir, before, name);
    });
  }
  await t.step("--out is a file", async () => {
    const { dir, hashes } = await miniCopy("prep-out-file");
    const file = join(tmp, "a-file");
    await Deno.writeTextFile(file, "keep me");
    const o = await run("prepare", ["--data", dir, "--out", file, "--quiet"]);
    await expectError(o, { code: 1, message: /a-file: is a file; --out needs a folder/ });
    assert.equal(await Deno.readTextFile(file), "keep me");
    await unchanged(dir, hashes, "--out is a file");
  });
  await t.step("--out is the data folder", async () => {
    const { dir, hashes } = await miniCopy("prep-out-data");
    const o = await run("prepare", ["--data", dir, "--out", dir, "--quiet"]);
    await expectError(o, { code: 2, message: /--out .* would write over the input/ });
    await unchanged(dir, hashes, "--out = --data");
  });
  await t.step("a --out held by another running process is refused, naming its pid", async () => {
    const { dir } = await miniCopy("prep-held");
    const out = join(tmp, "prep-held-out");
    // another process claims the folder the way every task does, and holds it until killed
    const io = new URL("../src/io.ts", import.meta.url).href;
    const holder = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const { claimOutput } = await import("${io}"); await claimOutput(${
          JSON.stringify(out)
        });` +
        ` console.log("held"); await new Promise((r) => setTimeout(r, 60000));`,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = holder.stdout.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /held/);
    try {
      const o = await run("prepare", ["--data", dir, "--out", out, "--quiet"]);
      await expectError(o, {
        code: 1,
        message: new RegExp(`prep-held-out: in use by process ${holder.pid}`),
      });
      assert.equal(await exists(join(out, "manifest.json")), false);
    } finally {
      holder.kill();
      await holder.status;
      reader.releaseLock();
      await holder.stdout.cancel();
    }
    // its lock is now a dead process's: taken over
    const ok = await run("prepare", ["--data", dir, "--out", out, "--quiet"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(await exists(join(out, LOCK_FILE)), false);
  });
  await t.step("a folder held by a live process, then by a dead one", async () => {
    const { dir } = await miniCopy("prep-locked");
    const out = join(tmp, "prep-locked-out");
    await Deno.mkdir(out);
    await Deno.writeTextFile(join(out, LOCK_FILE), `${Deno.pid}\n`); // this test process: alive
    const o = await run("prepare", ["--data", dir, "--out", out, "--quiet"]);
    await expectError(o, { code: 1, message: new RegExp(`in use by process ${Deno.pid}`) });
    assert.equal(await exists(join(out, "manifest.json")), false);
    await Deno.writeTextFile(join(out, LOCK_FILE), "2147483646\n"); // no such process
    const ok = await run("prepare", ["--data", dir, "--out", out, "--quiet"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(await exists(join(out, "manifest.json")), true);
    assert.equal(await exists(join(out, LOCK_FILE)), false, "lock released");
  });
});

/** A prepared copy of fixtures/web/prepared with its manifest edited. */
async function tamperedPrepared(name: string, edit: (m: Record<string, unknown>) => void) {
  const dir = join(tmp, name);
  await Deno.mkdir(dir, { recursive: true });
  const m = JSON.parse(await Deno.readTextFile(join(WEB, "prepared/manifest.json")));
  edit(m);
  await Deno.writeTextFile(join(dir, "manifest.json"), JSON.stringify(m));
  return dir;
}

Deno.test("hostile baseline and train: tampered prepared manifests are one line naming the field", async (t) => {
  const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ["no shards", (m) => delete m.shards, /manifest\.json: field shards: expected an object/],
    [
      "tile index −1",
      (m) => ((m.tiles as { index: number }[])[0].index = -1),
      /manifest\.json: field tiles\[0\]\.index: expected a distinct integer/,
    ],
    [
      "stride not the tile size's",
      (m) => (m.tileSizePx = 40),
      /manifest\.json: field shards\.imageStride: expected 4800/,
    ],
  ];
  for (const [name, edit, message] of cases) {
    await t.step(name, async () => {
      const prepared = await tamperedPrepared(`tampered-${name.replace(/\W+/g, "-")}`, edit);
      const hashes = await hashTree(prepared);
      const out = join(tmp, `baseline-${name.replace(/\W+/g, "-")}`);
      // the shards were dropped from the fixture: format checks come before any shard is read
      const args = ["--prepared", prepared, "--out", out, "--quiet"];
      await expectError(await run("baseline", args), { code: 1, message, absent: [out] });
      await unchanged(prepared, hashes, name);
    });
  }
  await t.step("train on statistics with a std of 0", async () => {
    const prepared = join(tmp, "std0");
    const m = await writeTinyPrepared(prepared, { train: 2, val: 1, sizePx: 16 });
    m.stats.std = [0, 0.1, 0.1];
    await Deno.writeTextFile(join(prepared, "manifest.json"), JSON.stringify(m));
    const hashes = await hashTree(prepared);
    const out = join(tmp, "std0-run");
    const args = ["--prepared", prepared, "--out", out, "--preset", "tiny", "--backend", "cpu"];
    const o = await run("train", [...args, "--quiet"]);
    await expectError(o, {
      code: 1,
      message: /manifest\.json: stats\.std\[0\] is 0/,
      absent: [out],
    });
    await unchanged(prepared, hashes, "std 0");
  });
  await t.step("garbage JSON: the parser's message on one line", async () => {
    const dir = join(tmp, "garbage-manifest");
    await Deno.mkdir(dir);
    await Deno.writeTextFile(join(dir, "manifest.json"), '{\n  "format": \n');
    const o = await run("baseline", ["--prepared", dir, "--out", join(tmp, "g-out")]);
    await expectError(o, { code: 1, message: /manifest\.json: bad JSON: / });
  });
  await t.step("--epochs -3 names the flag and the range", async () => {
    const o = await run("train", ["--prepared", WEB, "--out", join(tmp, "e"), "--epochs", "-3"]);
    await expectError(o, { code: 2, message: /--epochs must be at least 1, got -3/ });
  });
});

/** A copy of the web fixture's run with one checkpoint file changed. */
async function tamperedRun(name: string, spoil: (ck: string) => Promise<void>) {
  const run = join(tmp, name);
  await new Deno.Command("cp", { args: ["-r", join(WEB, "run"), run] }).output();
  await spoil(join(run, "checkpoints", "epoch-0012"));
  return run;
}

Deno.test("hostile predict and evaluate: tampered checkpoints, inputs never written over, all or nothing", async (t) => {
  const tile = join(WEB, "tile.png");
  const cases: [string, (ck: string) => Promise<void>, RegExp][] = [
    ["truncated weights.bin", async (ck) => {
      const w = await Deno.readFile(join(ck, "weights.bin"));
      await Deno.writeFile(join(ck, "weights.bin"), w.subarray(0, w.length - 100));
    }, /weights\.bin: \d+ bytes of weights, model\.json lists \d+/],
    ["garbage model.json", async (ck) => {
      await Deno.writeTextFile(join(ck, "model.json"), "not json");
    }, /model\.json: bad JSON/],
    ["state.json without config", async (ck) => {
      const s = JSON.parse(await Deno.readTextFile(join(ck, "state.json")));
      delete s.config;
      await Deno.writeTextFile(join(ck, "state.json"), JSON.stringify(s));
    }, /state\.json: config: expected an object/],
  ];
  for (const [name, spoil, message] of cases) {
    await t.step(name, async () => {
      const runDir = await tamperedRun(`run-${name.replace(/\W+/g, "-")}`, spoil);
      const hashes = await hashTree(runDir);
      const out = join(tmp, `pred-${name.replace(/\W+/g, "-")}`);
      const o = await run("predict", ["--model", runDir, "--input", tile, "--out", out, "--quiet"]);
      await expectError(o, { code: 1, message, absent: [out] });
      const evOut = join(tmp, `ev-${name.replace(/\W+/g, "-")}`);
      const ev = await run("evaluate", [
        "--run",
        runDir,
        "--prepared",
        join(WEB, "prepared"),
        "--out",
        evOut,
        "--quiet",
      ]);
      await expectError(ev, { code: 1, message, absent: [evOut] });
      await unchanged(runDir, hashes, name);
    });
  }
  await t.step("--out over the input folder is refused, the PNGs untouched", async () => {
    const d = join(tmp, "pred-over");
    await Deno.mkdir(join(d, "masks"), { recursive: true });
    await Deno.copyFile(tile, join(d, "masks", "tile.png"));
    const hashes = await hashTree(d);
    const o = await run("predict", [
      "--model",
      join(WEB, "run"),
      "--input",
      join(d, "masks"),
      "--out",
      d,
      "--quiet",
    ]);
    await expectError(o, { code: 2, message: /--out .* would write over the input/ });
    await unchanged(d, hashes, "predict over its input");
  });
  await t.step("one bad tile among good ones: nothing is written", async () => {
    const d = join(tmp, "pred-mixed");
    await Deno.mkdir(d);
    await Deno.copyFile(tile, join(d, "a.png"));
    await Deno.copyFile(join(ROOT, "fixtures/bad/truncated.png"), join(d, "b.png"));
    const out = join(tmp, "pred-mixed-out");
    const args = ["--model", join(WEB, "run"), "--input", d, "--out", out, "--quiet"];
    const o = await run("predict", args);
    await expectError(o, { code: 1, message: /b\.png: truncated PNG/, absent: [out] });
  });
});

Deno.test("hostile score: a row claiming 60000×60000 is refused at once", async () => {
  const d = join(tmp, "score");
  await Deno.mkdir(d);
  await Deno.writeTextFile(
    join(d, "sub.csv"),
    `id,height,width,prediction_string\n${firstTile},60000,60000,\n`,
  );
  const o = await run("score", ["--submission", join(d, "sub.csv"), "--data", MINI]);
  await expectError(o, {
    code: 1,
    message: /sub\.csv:2: .*larger than this tool accepts/,
    seconds: 20,
  });
});

Deno.test("hostile train: Ctrl-C stops within the current batch, checkpoints, and --resume continues", async () => {
  const prepared = join(tmp, "sigint-p");
  await writeTinyPrepared(prepared, { train: 64, val: 4, sizePx: 32, seed: 1 });
  const runDir = join(tmp, "sigint-run");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      join(ROOT, "tasks/train.ts"),
      ...["--prepared", prepared, "--out", runDir, "--preset", "tiny", "--depth", "2"],
      ...["--batch-size", "2", "--epochs", "2", "--backend", "wasm", "--quiet"],
    ],
    env: { NO_COLOR: "1", XDG_RUNTIME_DIR: tmp },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const batches = async () =>
    (await Deno.readTextFile(join(runDir, "log.jsonl")).catch(() => "")).split("\n")
      .filter((l) => l.includes('"type":"batch"')).length;
  while ((await batches()) < 3) await new Promise((r) => setTimeout(r, 10));
  const atSignal = await batches();
  child.kill("SIGINT");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 130, stderr);
  // when the listener ran, k batches were done; the run stops after batch k + 1 at the latest
  const k = Number(/\((\d+) done in this epoch\)/.exec(stderr)?.[1]);
  const stoppedAt = Number(/interrupted at epoch 1, batch (\d+)/.exec(stderr)?.[1]);
  assert.ok(
    k >= atSignal - 1 && stoppedAt <= k + 1,
    `${stderr}\n(${atSignal} logged at the signal)`,
  );
  assert.equal(await batches(), stoppedAt);
  assert.equal(await exists(join(runDir, "checkpoints", "interrupted", "model.json")), true);
  const resumed = await run("train", ["--resume", runDir, "--quiet"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(await batches(), 64, "every batch of both epochs ran exactly once");
});

/** Mounts a 256 KiB tmpfs (needs root) and returns its folder. */
async function tinyDisk(): Promise<string> {
  const dir = join(tmp, "tinyfs");
  await Deno.mkdir(dir, { recursive: true });
  const res = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(res.success, `mount: ${new TextDecoder().decode(res.stderr)}`);
  return dir;
}

const root = Deno.uid() === 0;

Deno.test({
  name: `hostile prepare: a full disk is one line naming the folder, nothing left${
    root ? "" : " — skipped: mounting a small tmpfs needs root"
  }`,
  ignore: !prerequisite("root (to mount a full disk)", root, "run the tests as root (CI does)"),
  fn: async () => {
    const disk = await tinyDisk();
    try {
      const { dir, hashes } = await miniCopy("full-disk");
      const out = join(disk, "prepared");
      const o = await run("prepare", ["--data", dir, "--out", out, "--quiet"]);
      await expectError(o, {
        code: 1,
        message: /prepared: no space left on device/,
        absent: [out],
      });
      await unchanged(dir, hashes, "full disk");
      assert.deepEqual([...Deno.readDirSync(disk)], [], "the disk is empty again");
    } finally {
      await new Deno.Command("umount", { args: [disk] }).output();
    }
  },
});

Deno.test({
  name: `hostile predict: a disk filling up while tile PNGs are written is one line, nothing left${
    root ? "" : " — skipped: mounting a small tmpfs needs root"
  }`,
  ignore: !prerequisite("root (to mount a full disk)", root, "run the tests as root (CI does)"),
  fn: async () => {
    // 12 tiles = three groups of 4: PNGs are compressed and written in the background while the
    // next group runs, so the write that fails is one of an earlier group's.
    const disk = await tinyDisk();
    try {
      const d = join(tmp, "pred-full-in");
      await Deno.mkdir(d, { recursive: true });
      for (let i = 0; i < 12; i++) {
        await Deno.copyFile(join(WEB, "tile.png"), join(d, `t${String(i).padStart(2, "0")}.png`));
      }
      const hashes = await hashTree(d);
      // 40 KiB left: ten 4 KiB tmpfs pages for 24 PNGs plus the run's own files.
      await Deno.writeFile(join(disk, "filler"), new Uint8Array(216 * 1024));
      const out = join(disk, "pred");
      const o = await run("predict", [
        "--model",
        join(WEB, "run"),
        "--input",
        d,
        "--out",
        out,
        "--quiet",
      ]);
      await expectError(o, { code: 1, message: /no space left on device/, absent: [out] });
      await unchanged(d, hashes, "full disk");
      await Deno.remove(join(disk, "filler"));
      assert.deepEqual([...Deno.readDirSync(disk)], [], "the disk is empty again");
    } finally {
      await new Deno.Command("umount", { args: [disk] }).output();
    }
  },
});

/**
 * More cases, one row each: `{D}` is a read-only copy of kaggle-mini, `{W}` the web fixture,
 * `{T}` a scratch folder per row (its `out` must not exist afterwards). Every input is hashed
 * before and after the whole table.
 */
const TABLE: [string, string, string[], number, RegExp][] = [
  [
    "prepare: empty polygons.jsonl",
    "prepare",
    ["--data", "{E}", "--out", "{T}/out"],
    1,
    /polygons\.jsonl: .*empty/,
  ],
  [
    "prepare: a ring of 2 points",
    "prepare",
    ["--data", "{R}", "--out", "{T}/out"],
    1,
    /polygons\.jsonl:1: .*2 points, need at least 3/,
  ],
  [
    "prepare: an id with a slash",
    "prepare",
    ["--data", "{S}", "--out", "{T}/out"],
    1,
    /polygons\.jsonl:1: .*id/,
  ],
  [
    "prepare: a 16-bit tile",
    "prepare",
    ["--data", "{B16}", "--out", "{T}/out"],
    1,
    /\.tif: BitsPerSample is 16/,
  ],
  [
    "prepare: a header-only tile",
    "prepare",
    ["--data", "{BH}", "--out", "{T}/out"],
    1,
    /\.tif: truncated TIFF/,
  ],
  [
    "prepare: --data missing",
    "prepare",
    ["--data", "{T}/nope", "--out", "{T}/out"],
    1,
    /nope.*(no such|missing)/,
  ],
  [
    "prepare: --scale 0.3",
    "prepare",
    ["--data", "{D}", "--out", "{T}/out", "--scale", "0.3"],
    2,
    /--scale must be one of 1, 0\.5, 0\.25/,
  ],
  [
    "prepare: --val-fraction 1.5",
    "prepare",
    ["--data", "{D}", "--out", "{T}/out", "--val-fraction", "1.5"],
    2,
    /--val-fraction must be at most 1/,
  ],
  [
    "baseline: --prepared missing",
    "baseline",
    ["--prepared", "{T}/nope", "--out", "{T}/out"],
    1,
    /nope\/manifest\.json: no such file/,
  ],
  [
    "baseline: --mode macro",
    "baseline",
    ["--prepared", "{W}/prepared", "--out", "{T}/out", "--mode", "macro"],
    2,
    /--mode must be one of/,
  ],
  [
    "train: --resume of a folder without checkpoints",
    "train",
    ["--resume", "{T}"],
    1,
    /latest\.json: no checkpoint to resume from/,
  ],
  [
    "train: --lr abc",
    "train",
    ["--prepared", "{W}/prepared", "--out", "{T}/out", "--lr", "abc"],
    2,
    /--lr must be a number, got "abc"/,
  ],
  [
    "evaluate: --run without checkpoints",
    "evaluate",
    ["--run", "{T}", "--prepared", "{W}/prepared", "--out", "{T}/out"],
    1,
    /checkpoints: no such folder/,
  ],
  [
    "evaluate: --baseline without table1.md",
    "evaluate",
    ["--run", "{W}/run", "--prepared", "{W}/prepared", "--out", "{T}/out", "--baseline", "{T}"],
    1,
    /table1\.md: no such file/,
  ],
  [
    "predict: a folder without images",
    "predict",
    ["--model", "{W}/run", "--input", "{T}", "--out", "{T}/out"],
    1,
    /no \.tif\/\.tiff\/\.png files in this folder/,
  ],
  [
    "predict: --submission is a folder",
    "predict",
    ["--model", "{W}/run", "--input", "{W}/tile.png", "--out", "{T}/out", "--submission", "{T}"],
    2,
    /--submission .* is a folder/,
  ],
  [
    "predict: --submission into the input folder",
    "predict",
    [
      "--model",
      "{W}/run",
      "--input",
      "{D}/train",
      "--out",
      "{T}/out",
      "--submission",
      "{D}/train/sub.csv",
    ],
    2,
    /--submission .* would write over the input/,
  ],
  [
    "predict: --threshold 2",
    "predict",
    ["--model", "{W}/run", "--input", "{W}/tile.png", "--out", "{T}/out", "--threshold", "2"],
    2,
    /--threshold must be at most 1/,
  ],
  [
    "score: wrong header",
    "score",
    ["--submission", "{D}/tile_meta.csv", "--data", "{D}"],
    1,
    /tile_meta\.csv:1: expected the header/,
  ],
  [
    "score: a bad RLE",
    "score",
    ["--submission", "{BADRLE}", "--data", "{D}"],
    1,
    /sub\.csv:2: instance 0: mask/,
  ],
  ["serve: --port 70000", "serve", ["--port", "70000"], 2, /--port must be at most 65535/],
  [
    "serve: --model missing",
    "serve",
    ["--model", "{T}/nope", "--port", "0"],
    1,
    /nope: no such folder/,
  ],
  [
    "synth: a non-empty --out without --force",
    "synth",
    ["--out", "{D}", "--tiles", "2"],
    2,
    /exists and is not empty \(add --force/,
  ],
  [
    "synth: --tiles 0",
    "synth",
    ["--out", "{T}/out", "--tiles", "0"],
    2,
    /--tiles must be at least 1/,
  ],
  [
    "prepare: --classes vein",
    "prepare",
    ["--data", "{D}", "--out", "{T}/out", "--classes", "vein"],
    2,
    /--classes must be one of/,
  ],
  [
    "prepare: a tile_meta.csv row without its id",
    "prepare",
    ["--data", "{M}", "--out", "{T}/out"],
    1,
    /tile_meta\.csv:2: /,
  ],
  [
    "baseline: --out is a file",
    "baseline",
    ["--prepared", "{W}/prepared", "--out", "{D}/tile_meta.csv"],
    1,
    /tile_meta\.csv: is a file; --out needs a folder/,
  ],
  [
    "train: --out is a file",
    "train",
    ["--prepared", "{W}/prepared", "--out", "{D}/tile_meta.csv", "--backend", "cpu"],
    1,
    /tile_meta\.csv: is a file; --out needs a folder/,
  ],
  [
    "evaluate: --out is a file",
    "evaluate",
    ["--run", "{W}/run", "--prepared", "{W}/prepared", "--out", "{D}/tile_meta.csv"],
    1,
    /tile_meta\.csv: is a file; --out needs a folder/,
  ],
  [
    "evaluate: --split test",
    "evaluate",
    ["--run", "{W}/run", "--prepared", "{W}/prepared", "--split", "test"],
    2,
    /--split must be one of val, train, all/,
  ],
  [
    "predict: --out is a file",
    "predict",
    ["--model", "{W}/run", "--input", "{W}/tile.png", "--out", "{D}/tile_meta.csv"],
    1,
    /tile_meta\.csv: is a file; --out needs a folder/,
  ],
  [
    "predict: two inputs with one id",
    "predict",
    [
      "--model",
      "{W}/run",
      "--input",
      "{W}/tile.png",
      "--input",
      "{DUP}/tile.png",
      "--out",
      "{T}/out",
    ],
    1,
    /tile id "tile" also comes from/,
  ],
  [
    "predict: --model is a prepared folder",
    "predict",
    ["--model", "{W}/prepared", "--input", "{W}/tile.png", "--out", "{T}/out"],
    1,
    /neither a checkpoint/,
  ],
  [
    "score: a duplicate id",
    "score",
    ["--submission", "{DUPSUB}", "--data", "{D}"],
    1,
    /sub\.csv:3: duplicate id/,
  ],
  [
    "score: --iou 0",
    "score",
    ["--submission", "{DUPSUB}", "--data", "{D}", "--iou", "0"],
    2,
    /--iou must be at least 0\.01/,
  ],
  [
    "predict: --polygons is a folder",
    "predict",
    ["--model", "{W}/run", "--input", "{W}/tile.png", "--out", "{T}/out", "--polygons", "{D}"],
    2,
    /--polygons .* is a folder, expected a file path/,
  ],
  [
    "predict: --simplify -1",
    "predict",
    ["--model", "{W}/run", "--input", "{W}/tile.png", "--out", "{T}/out", "--simplify", "-1"],
    2,
    /--simplify must be at least 0/,
  ],
  [
    "export: --format tflite",
    "export",
    ["--model", "{W}/run", "--format", "tflite", "--out", "{T}/out.onnx"],
    2,
    /--format must be one of onnx, pth/,
  ],
  [
    "export: --out inside the checkpoint",
    "export",
    ["--model", "{W}/run", "--format", "onnx", "--out", "{W}/run/checkpoints/epoch-0012/m.onnx"],
    2,
    /would write into the input/,
  ],
  [
    "export: --model is a prepared folder",
    "export",
    ["--model", "{W}/prepared", "--format", "pth", "--out", "{T}/out.pth"],
    1,
    /neither a checkpoint/,
  ],
  [
    "mosaic: --wsi 99",
    "mosaic",
    ["--data", "{D}", "--wsi", "99", "--out", "{T}/out.png"],
    2,
    /--wsi 99: no tile of that slide/,
  ],
  [
    "mosaic: --out is a folder",
    "mosaic",
    ["--data", "{D}", "--wsi", "2", "--out", "{DUP}"],
    2,
    /--out .* is a folder, expected a file path/,
  ],
  [
    "mosaic: a tile_meta.csv row without an id",
    "mosaic",
    ["--data", "{M}", "--wsi", "2", "--out", "{T}/out.png"],
    1,
    /tile_meta\.csv:2: /,
  ],
  ["serve: --threshold 2", "serve", ["--threshold", "2"], 2, /--threshold must be at most 1/],
  [
    "experiment: --questions colour",
    "experiment",
    ["--questions", "colour", "--out", "{T}/out"],
    2,
    /--questions must be one of normalization, batch, loss/,
  ],
  [
    "demo: --tiles 5",
    "demo",
    ["--tiles", "5", "--out", "{T}/out"],
    2,
    /--tiles must be at least 10/,
  ],
];

Deno.test("hostile table: every task, one line each, nothing left, inputs unchanged", async (t) => {
  const { dir: D } = await miniCopy("table-mini");
  const variant = async (name: string, edit: (d: string) => Promise<void>) => {
    const { dir } = await miniCopy(`table-${name}`);
    await edit(dir);
    return dir;
  };
  const firstLine = async (d: string, line: string) => {
    const p = join(d, "polygons.jsonl");
    const lines = (await Deno.readTextFile(p)).split("\n");
    lines[0] = line;
    await Deno.writeTextFile(p, lines.join("\n"));
  };
  const tile = (d: string) => join(d, "train", `${firstTile}.tif`);
  const subs: Record<string, string> = {
    D,
    W: WEB,
    E: await variant("empty", (d) => Deno.writeTextFile(join(d, "polygons.jsonl"), "")),
    R: await variant("ring2", (d) =>
      firstLine(
        d,
        JSON.stringify({
          id: firstTile,
          annotations: [{ type: "blood_vessel", coordinates: [[[0, 0], [5, 5]]] }],
        }),
      )),
    S: await variant("slash", (d) =>
      firstLine(
        d,
        JSON.stringify({
          id: "../x",
          annotations: [{ type: "blood_vessel", coordinates: [[[0, 0], [5, 5], [0, 5]]] }],
        }),
      )),
    B16: await variant(
      "rgb16",
      (d) => Deno.copyFile(join(ROOT, "fixtures/bad/rgb16.tif"), tile(d)),
    ),
    BH: await variant(
      "header",
      (d) => Deno.copyFile(join(ROOT, "fixtures/bad/header_only.tif"), tile(d)),
    ),
    BADRLE: join(tmp, "table-badrle", "sub.csv"),
    DUPSUB: join(tmp, "table-dupsub", "sub.csv"),
    DUP: join(tmp, "table-dup"),
    M: await variant("meta-row", async (d) => {
      const p = join(d, "tile_meta.csv");
      const lines = (await Deno.readTextFile(p)).split("\n");
      lines[1] = lines[1].replace(/^[^,]*/, "");
      await Deno.writeTextFile(p, lines.join("\n"));
    }),
  };
  await Deno.mkdir(dirname(subs.DUPSUB), { recursive: true });
  await Deno.writeTextFile(
    subs.DUPSUB,
    `id,height,width,prediction_string\n${firstTile},512,512,\n${firstTile},512,512,\n`,
  );
  await Deno.mkdir(subs.DUP, { recursive: true });
  await Deno.copyFile(join(WEB, "tile.png"), join(subs.DUP, "tile.png"));
  await Deno.mkdir(dirname(subs.BADRLE), { recursive: true });
  await Deno.writeTextFile(
    subs.BADRLE,
    `id,height,width,prediction_string\n${firstTile},512,512,0 0.5 !!notbase64!!\n`,
  );
  const inputs = [D, WEB, subs.E, subs.R, subs.S, subs.B16, subs.BH, subs.M, subs.DUP];
  const before = await Promise.all(inputs.map(hashTree));
  let row = 0;
  for (const [name, task, args, code, message] of TABLE) {
    const T = join(tmp, `table-row-${row++}`);
    await Deno.mkdir(T);
    const filled = args.map((a) =>
      a.replace(/\{(\w+)\}/g, (_, k: string) => (k === "T" ? T : subs[k]))
    );
    await t.step(name, async () => {
      const o = await run(
        task,
        [...filled, ...(task === "serve" ? [] : ["--quiet"])].filter(
          (a) =>
            !(task === "score" && a === "--quiet") &&
            !(task === "synth" && a === "--quiet" && false),
        ),
      );
      await expectError(o, { code, message, absent: [join(T, "out")] });
    });
  }
  const after = await Promise.all(inputs.map(hashTree));
  assert.deepEqual(after, before, "an input changed");
});
