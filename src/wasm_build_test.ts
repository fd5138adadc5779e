// The committed WebAssembly bytes are generated from `.wat` sources at development time; these
// tests fail when a source was edited without rebuilding (each build script's `--check`).
import assert from "node:assert/strict";

for (const script of ["baseline/otsu_wasm_build.ts", "runtime/kernels/wasm_ops_build.ts"]) {
  Deno.test(`${script} --check: the committed wasm bytes match their .wat source`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(script, import.meta.url).pathname, "--check"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  });
}
