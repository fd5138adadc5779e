import assert from "node:assert/strict";
import { unetForwardFlops } from "./gpu_check.ts";

Deno.test("unetForwardFlops: a hand count and the benchmark U-Net's 24.26 GFLOP", () => {
  // depth 1, base 1, one 2² image: enc0 3×3 convs 3→1 and 1→1 on 4 px: 9·(3 + 1)·4 = 144 MACs;
  // level 1 (2 channels, 1 px): 9·(1·2 + 2·2) = 54; up: 2×2 transposed 2→1 on 4 output px: 2·4
  // = 8, then 3×3 convs 2→1 and 1→1 on 4 px: 9·(2 + 1)·4 = 108; output 1×1 1→1 on 4 px: 4.
  // 318 MACs = 636 FLOPs.
  assert.equal(unetForwardFlops({ depth: 1, base: 1, batch: 1, size: 2 }), 636);
  // bench/train_step_bench.ts counts 24.26 GFLOP from the tfjs model's layers (bench/README.md).
  const g = unetForwardFlops({ depth: 4, base: 16, batch: 4, size: 256 }) / 1e9;
  assert.equal(g.toFixed(2), "24.26");
});
