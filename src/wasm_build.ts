/**
 * Development-time helpers of the scripts that turn this project's `.wat` sources into generated
 * `*_bytes.ts` modules (`src/baseline/otsu_wasm_build.ts`, `src/runtime/kernels/wasm_ops_build.ts`):
 * compiling with wabt (npm `wabt`, never loaded when the tool runs) and writing — or, with
 * `--check`, verifying — the generated file.
 *
 * @module
 */
import wabtInit from "wabt";
import { writeTextFileAtomic } from "./io.ts";

/** wabt features a source may use. */
export interface WatFeatures {
  simd?: boolean;
  threads?: boolean;
  relaxed_simd?: boolean;
}

/** Compiles WebAssembly text `source` (`name` labels errors) to module bytes. */
export async function compileWat(
  name: string,
  source: string,
  features: WatFeatures,
): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat(name, source, features);
  try {
    // wabt's typings omit validate's features argument; without it shared memory is rejected.
    (mod as unknown as { validate(f: WatFeatures): void }).validate(features);
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

/**
 * Writes the generated module `target`, or with `check` compares it with `text` and exits 1
 * (naming `script`, which rebuilds it) when they differ.
 */
export async function writeGenerated(
  target: URL,
  text: string,
  script: string,
  check: boolean,
): Promise<void> {
  const name = target.pathname.split("/").pop();
  if (!check) {
    await writeTextFileAtomic(target.pathname, text);
    console.log(`wrote ${target.pathname}`);
    return;
  }
  if ((await Deno.readTextFile(target)) !== text) {
    console.error(`${name} is out of date: run deno run -A ${script}`);
    Deno.exit(1);
  }
  console.log(`${name} is up to date`);
}
