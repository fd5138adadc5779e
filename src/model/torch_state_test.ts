import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import {
  decodePth,
  encodePth,
  loadStateDict,
  stateDictKeys,
  unetStateDict,
} from "./torch_state.ts";
import { buildUNet } from "./unet.ts";

tf.enableProdMode();
await tf.setBackend("cpu");

Deno.test("stateDictKeys: depth 4 has milesial's UNet(3, 1) keys, in its module order", () => {
  const keys = stateDictKeys({ depth: 4, batchNorm: true }).map((k) => k.key);
  // by hand from milesial's modules: 9 DoubleConv (inc, down1–4, up1–4) × (2 conv weights +
  // 2 × 5 batch-norm entries) = 108, 4 ConvTranspose × (weight, bias) = 8, outc weight and bias
  assert.equal(keys.length, 118);
  assert.deepEqual(keys.slice(0, 7), [
    "inc.double_conv.0.weight",
    "inc.double_conv.1.weight",
    "inc.double_conv.1.bias",
    "inc.double_conv.1.running_mean",
    "inc.double_conv.1.running_var",
    "inc.double_conv.1.num_batches_tracked",
    "inc.double_conv.3.weight",
  ]);
  assert.ok(keys.includes("down4.maxpool_conv.1.double_conv.4.running_var"));
  assert.deepEqual(keys.slice(keys.indexOf("up1.up.weight"), keys.indexOf("up1.up.weight") + 3), [
    "up1.up.weight",
    "up1.up.bias",
    "up1.conv.double_conv.0.weight",
  ]);
  assert.deepEqual(keys.slice(-2), ["outc.conv.weight", "outc.conv.bias"]);
  assert.throws(() => stateDictKeys({ depth: 4, batchNorm: false }), /batch norm/);
});

Deno.test("encodePth → decodePth → loadStateDict: another model gets every weight exactly", () => {
  const cfg = { depth: 2, baseFilters: 4, batchNorm: true, seed: 1 };
  const a = buildUNet(cfg), b = buildUNet({ ...cfg, seed: 2 });
  try {
    // non-trivial batch-norm statistics
    for (const w of a.weights) {
      if (/moving_(mean|variance)$/.test(w.originalName)) {
        w.write(tf.randomUniform(w.shape as number[], 0.5, 1.5, "float32", 9));
      }
    }
    const entries = unetStateDict(a, cfg, 42);
    const bytes = encodePth(entries);
    const dict = decodePth(bytes, "a.pth");
    assert.equal(dict.size, entries.length);
    assert.deepEqual(
      dict.get("inc.double_conv.1.num_batches_tracked")!.data,
      BigInt64Array.of(42n),
    );
    // a conv kernel in torch layout: [out, in, kh, kw]
    assert.deepEqual(dict.get("inc.double_conv.0.weight")!.shape, [4, 3, 3, 3]);
    assert.deepEqual(dict.get("up1.up.weight")!.shape, [16, 8, 2, 2]);
    loadStateDict(b, cfg, dict, "a.pth");
    for (let i = 0; i < a.weights.length; i++) {
      assert.deepEqual(
        b.weights[i].read().dataSync(),
        a.weights[i].read().dataSync(),
        a.weights[i].name,
      );
    }
  } finally {
    a.dispose();
    b.dispose();
  }
});
