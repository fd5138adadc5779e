/**
 * `deno task export` and `train --init-from FILE.pth` against independent readers: an ONNX
 * runtime (npm onnxruntime-web, its WebAssembly build) and Debian's python3-onnx for the ONNX
 * file; Debian's python3-torch (`torch.load`, `load_state_dict(strict=True)`, eval-mode logits)
 * for the PyTorch file, through scripts/torch_unet.py (milesial's module names).
 */
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-web";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readImage } from "../src/data/image.ts";
import { toInput } from "../src/data/input.ts";
import { writeTinyPrepared } from "../src/data/testing.ts";
import { InputError, UsageError } from "../src/errors.ts";
import { describeArtifact, latestCheckpoint, loadCheckpointModel } from "../src/model/artifact.ts";
import { decodePth, loadStateDict } from "../src/model/torch_state.ts";
import { buildUNet } from "../src/model/unet.ts";
import { prerequisite } from "../src/prerequisite.ts";
import { main } from "./export.ts";
import { main as trainMain } from "./train.ts";

tf.enableProdMode();
await tf.setBackend("cpu");
ort.env.wasm.numThreads = 1;

const RUN = "fixtures/web/run"; // depth 2, base 8, trained 12 epochs on synthetic discs
const TILE = "fixtures/web/tile.png"; // 48×48, held out
const silent = { keepBackend: true, log: () => {}, print: () => {} };
const root = await Deno.makeTempDir({ prefix: "vessel-seg-export-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

const python = "/usr/bin/python3";
async function pythonHas(modules: string): Promise<boolean> {
  try {
    const r = await new Deno.Command(python, {
      args: ["-c", `import ${modules}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return r.code === 0;
  } catch {
    return false;
  }
}
const haveTorch = prerequisite(
  "Debian's python3-torch",
  await pythonHas("torch, numpy"),
  "apt-get install python3-torch (.ci/run does)",
);
const haveOnnx = prerequisite(
  "Debian's python3-onnx",
  await pythonHas("onnx"),
  "apt-get install python3-onnx (.ci/run does)",
);

async function py(args: string[]): Promise<string> {
  const r = await new Deno.Command(python, { args }).output();
  const err = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, err);
  return new TextDecoder().decode(r.stdout);
}

/**
 * scripts/torch_unet.py `cmd` on the fixture tile (`check`: load `file`; `make`: write it): what
 * it printed and its logits.
 */
async function torchUnet(
  cmd: "check" | "make",
  file: string,
  extra: string[] = [],
): Promise<{ said: string; logits: Float32Array }> {
  const inFile = join(root, "in.f32"), outFile = join(root, `${cmd}.f32`);
  await Deno.writeFile(inFile, new Uint8Array(input.nchw.buffer));
  const { h, w } = input;
  const said = await py([
    "scripts/torch_unet.py",
    cmd,
    file,
    inFile,
    "1",
    `${h}`,
    `${w}`,
    outFile,
    ...extra,
  ]);
  return { said, logits: new Float32Array((await Deno.readFile(outFile)).buffer) };
}

/** The fixture tile as the network sees it: NHWC for tfjs, NCHW for ONNX and PyTorch. */
async function tileInput(): Promise<
  { nhwc: Float32Array; nchw: Float32Array; h: number; w: number }
> {
  const info = await describeArtifact(RUN);
  const img = await readImage(TILE);
  const { width: w, height: h } = img;
  const n = info.inference.normalize;
  const nhwc = new Float32Array(h * w * 3);
  toInput(img.rgb, n === null ? {} : n, nhwc, 0);
  const nchw = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) nchw[c * h * w + i] = nhwc[i * 3 + c];
  return { nhwc, nchw, h, w };
}

function tfjsLogits(model: tf.LayersModel, x: Float32Array, h: number, w: number): Float32Array {
  return tf.tidy(() =>
    (model.predict(tf.tensor4d(x, [1, h, w, 3])) as tf.Tensor).dataSync() as Float32Array
  );
}

function largestDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const input = await tileInput();
const trained = await loadCheckpointModel((await describeArtifact(RUN)).dir);
const reference = tfjsLogits(trained, input.nhwc, input.h, input.w);
trained.dispose();

// float32 sums in another order (im2col vs direct, fused vs separate batch norm): differences of
// a few 1e-7 relative; the bound leaves two orders of magnitude
const TOLERANCE = 1e-4;

Deno.test("export --format onnx: onnxruntime-web's logits are tfjs's on the fixture tile", async () => {
  const file = join(root, "unet.onnx");
  assert.equal(
    await main(["--model", RUN, "--format", "onnx", "--out", file, "--quiet"], silent),
    0,
  );
  const session = await ort.InferenceSession.create(await Deno.readFile(file));
  try {
    assert.deepEqual([session.inputNames, session.outputNames], [["input"], ["logits"]]);
    const out = await session.run({
      input: new ort.Tensor("float32", input.nchw, [1, 3, input.h, input.w]),
    });
    assert.deepEqual(out.logits.dims, [1, 1, input.h, input.w]);
    const diff = largestDiff(out.logits.data as Float32Array, reference);
    console.log(
      `onnxruntime-web vs tfjs: largest |Δlogit| ${
        diff.toExponential(2)
      } over ${reference.length} pixels`,
    );
    assert.ok(diff <= TOLERANCE, `${diff}`);
    // and a batch of two at another size (dynamic N, H, W): the tile and its flip, 32×32 crop
    const crop = new Float32Array(2 * 3 * 32 * 32);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const v = input.nchw[c * input.h * input.w + y * input.w + x];
          crop[c * 1024 + y * 32 + x] = v;
          crop[3 * 1024 + c * 1024 + y * 32 + (31 - x)] = v;
        }
      }
    }
    const two = await session.run({ input: new ort.Tensor("float32", crop, [2, 3, 32, 32]) });
    assert.deepEqual(two.logits.dims, [2, 1, 32, 32]);
  } finally {
    await session.release();
  }
});

Deno.test({
  name: "export --format onnx: python3-onnx's checker passes it and reads the metadata",
  ignore: !haveOnnx,
  fn: async () => {
    const file = join(root, "checked.onnx");
    assert.equal(
      await main(["--model", RUN, "--format", "onnx", "--out", file, "--quiet"], silent),
      0,
    );
    const r = JSON.parse(await py(["scripts/onnx_check.py", file]));
    const info = await describeArtifact(RUN);
    assert.deepEqual(r.opset, [17]);
    assert.deepEqual(r.inputs, { input: ["N", 3, "H", "W"] });
    assert.deepEqual(r.outputs, { logits: ["N", 1, "H", "W"] });
    // depth 2: 5 double convolutions (10 Conv) + the 1×1 output, 2 pools, 2 transposed
    assert.deepEqual(r.ops, {
      Conv: 11,
      BatchNormalization: 10,
      Relu: 10,
      MaxPool: 2,
      ConvTranspose: 2,
      Concat: 2,
    });
    const m = r.metadata;
    assert.deepEqual(JSON.parse(m["vessel_seg.normalize_mean"]), info.inference.normalize!.mean);
    assert.deepEqual(JSON.parse(m["vessel_seg.normalize_std"]), info.inference.normalize!.std);
    assert.equal(Number(m["vessel_seg.threshold"]), info.inference.threshold);
    assert.equal(Number(m["vessel_seg.scale"]), 1);
    assert.equal(Number(m["vessel_seg.depth"]), 2);
    assert.match(m["vessel_seg.input"], /\(v\/255 - mean\)\/std/);
    assert.equal(JSON.parse(m["vessel_seg.provenance"]).synthetic, true);
  },
});

Deno.test({
  name:
    "export --format pth: torch.load + load_state_dict(strict) in milesial's names gives tfjs's logits",
  ignore: !haveTorch,
  fn: async () => {
    const file = join(root, "unet.pth");
    assert.equal(
      await main(["--model", RUN, "--format", "pth", "--out", file, "--quiet"], silent),
      0,
    );
    const { said, logits: got } = await torchUnet("check", file);
    // depth 2: 5 DoubleConv × 12 keys, 2 × up weight and bias, outc weight and bias
    assert.match(said, /^loaded 66 tensors: base 8, depth 2/);
    const diff = largestDiff(got, reference);
    console.log(`PyTorch ${"1.13"} vs tfjs: largest |Δlogit| ${diff.toExponential(2)}`);
    assert.ok(diff <= TOLERANCE, `${diff}`);
  },
});

Deno.test({
  name:
    "train --init-from FILE.pth: a state_dict saved by PyTorch (with and without conv biases) gives torch's logits here",
  ignore: !haveTorch,
  fn: async () => {
    for (const bias of ["", "bias"]) {
      const file = join(root, `made${bias}.pth`);
      const { logits: want } = await torchUnet("make", file, ["8", "2", "5", bias]);
      const cfg = { depth: 2, baseFilters: 8, batchNorm: true, seed: 1 };
      const model = buildUNet(cfg);
      try {
        loadStateDict(model, cfg, decodePth(await Deno.readFile(file), file), file);
        const diff = largestDiff(tfjsLogits(model, input.nhwc, input.h, input.w), want);
        console.log(
          `PyTorch-made state_dict${bias ? " with conv biases" : ""}: largest |Δlogit| ${
            diff.toExponential(2)
          }`,
        );
        assert.ok(diff <= TOLERANCE, `${diff}`);
      } finally {
        model.dispose();
      }
    }
    // the train task: from the .pth at learning rate 0, the checkpoint holds its kernels
    const prepared = join(root, "prepared");
    await writeTinyPrepared(prepared, { train: 2, val: 1, sizePx: 16, seed: 3 });
    const run = join(root, "from-pth");
    const lines: string[] = [];
    const file = join(root, "made.pth");
    const code = await trainMain([
      "--prepared",
      prepared,
      "--out",
      run,
      "--preset",
      "tiny",
      "--depth",
      "2",
      "--base-filters",
      "8",
      "--epochs",
      "1",
      "--lr",
      "0",
      "--init-from",
      file,
      "--quiet",
    ], { ...silent, log: (l) => lines.push(l) });
    assert.equal(code, 0, lines.join("\n"));
    assert.ok(
      lines.some((l) => l.includes(`weights from ${file} (PyTorch state_dict`)),
      lines.join("\n"),
    );
    const dict = decodePth(await Deno.readFile(file), file);
    const model = await loadCheckpointModel((await latestCheckpoint(run))!);
    try {
      const k = model.getLayer("out_conv").getWeights()[0].dataSync();
      assert.deepEqual(
        Array.from(k),
        Array.from(dict.get("outc.conv.weight")!.data as Float32Array),
      );
    } finally {
      model.dispose();
    }
  },
});

Deno.test("export and --init-from: bad flags, models and files are one error each and write nothing", async () => {
  const out = join(root, "nothing.onnx");
  await assert.rejects(
    main(["--model", RUN, "--format", "tflite", "--out", out], silent),
    (e: unknown) =>
      e instanceof UsageError && e.message === '--format must be one of onnx, pth, got "tflite"',
  );
  await assert.rejects(
    main(["--model", join(root, "no-such-run"), "--format", "pth", "--out", out], silent),
    (e: unknown) => e instanceof InputError && /no-such-run: no such folder$/.test(e.message),
  );
  await assert.rejects(
    main(["--model", RUN, "--format", "onnx", "--out", root], silent),
    (e: unknown) => e instanceof UsageError && /is a folder, expected a file path$/.test(e.message),
  );
  // a model without batch norm is not milesial's layout
  const prepared = join(root, "prepared-plain");
  await writeTinyPrepared(prepared, { train: 2, val: 1, sizePx: 16, seed: 3 });
  const plainRun = join(root, "plain");
  const tiny = ["--preset", "tiny", "--depth", "2", "--epochs", "1", "--quiet"];
  assert.equal(
    await trainMain(
      [
        "--prepared",
        prepared,
        "--out",
        plainRun,
        ...tiny,
        "--base-filters",
        "4",
        "--no-batch-norm",
      ],
      silent,
    ),
    0,
  );
  await assert.rejects(
    main(["--model", plainRun, "--format", "pth", "--out", out], silent),
    (e: unknown) =>
      e instanceof UsageError && /^--format pth: milesial's U-Net has batch norm/.test(e.message),
  );
  await assert.rejects(
    main([
      "--model",
      RUN,
      "--format",
      "onnx",
      "--out",
      join(RUN, "checkpoints", "epoch-0012", "x.onnx"),
    ], silent),
    (e: unknown) => e instanceof UsageError && /would write into the input/.test(e.message),
  );
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
  // --init-from a damaged .pth, a legacy one, one of another width: one InputError naming it
  const good = join(root, "good.pth");
  assert.equal(
    await main(["--model", RUN, "--format", "pth", "--out", good, "--quiet"], silent),
    0,
  );
  const bytes = await Deno.readFile(good);
  const cases: [string, Uint8Array, string[], RegExp][] = [
    ["cut.pth", bytes.subarray(0, bytes.length - 100), [], /cut\.pth: not a ZIP archive/],
    [
      "legacy.pth",
      Uint8Array.of(0x80, 2, 0x8a, 0x0a),
      [],
      /legacy\.pth: a PyTorch file in the legacy format/,
    ],
    [
      "wide.pth",
      bytes,
      ["--base-filters", "6"],
      /wide\.pth: inc\.double_conv\.0\.weight: shape 8×3×3×3, the model \(base filters 6\) needs 6×3×3×3/,
    ],
    ["deep.pth", bytes, ["--base-filters", "8", "--depth", "3"], /deep\.pth: missing key down3\./],
  ];
  for (const [name, data, flags, re] of cases) {
    const file = join(root, name);
    await Deno.writeFile(file, data);
    const run = join(root, `init-${name}`);
    await assert.rejects(
      trainMain(
        ["--prepared", prepared, "--out", run, ...tiny, ...flags, "--init-from", file],
        silent,
      ),
      (e: unknown) => e instanceof InputError && re.test(e.message),
      name,
    );
  }
});
