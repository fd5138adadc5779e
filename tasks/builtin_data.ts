/**
 * The built-in-data stage shared by `deno task demo` and `deno task experiment`: synthetic tiles
 * in the Kaggle layout (`deno task synth`), prepared at the study's scale 0.25
 * (`deno task prepare`), each through its task's `main` so the prepared manifest records the same
 * command a user would type.
 *
 * @module
 */
import { join } from "node:path";
import { exists } from "../src/io.ts";
import { main as synthMain } from "./synth.ts";
import { main as prepareMain } from "./prepare.ts";

/** The built-in data's settings (the demo's defaults). */
export const BUILTIN_DATA = { tiles: 300, seed: 0, scale: 0.25 } as const;

/** Where the stage writes under an output folder. */
export function builtinDirs(out: string): { data: string; prepared: string } {
  return { data: join(out, "data"), prepared: join(out, "prepared") };
}

function check(stage: string, code: number): void {
  if (code !== 0) throw new Error(`${stage} exited with code ${code}`);
}

/** Writes `tiles` synthetic tiles of `seed` into `dir` (replacing what is there). */
export async function synthStage(
  dir: string,
  opts: { tiles: number; seed: number; quiet: boolean },
): Promise<void> {
  const q = opts.quiet ? ["--quiet"] : [];
  const args = ["--out", dir, "--tiles", String(opts.tiles), "--seed", String(opts.seed)];
  check("synth", await synthMain([...args, "--force", ...q]));
}

/** Prepares `data` into `prepared` at scale 0.25 with split seed `seed` (resumes by itself). */
export async function prepareStage(
  data: string,
  prepared: string,
  opts: { seed: number; quiet: boolean },
): Promise<void> {
  const q = opts.quiet ? ["--quiet"] : [];
  const args = ["--data", data, "--out", prepared, "--scale", String(BUILTIN_DATA.scale)];
  check("prepare", await prepareMain([...args, "--seed", String(opts.seed), ...q]));
}

/** True when `dir` already holds a synthetic dataset. */
export async function hasData(dir: string): Promise<boolean> {
  return await exists(join(dir, "tile_meta.csv"));
}
