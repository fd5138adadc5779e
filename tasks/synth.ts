/**
 * `deno task synth` — not implemented yet.
 *
 * @module
 */
import { runMain } from "../src/cli.ts";

/** Entry point; returns the exit code. */
export function main(_args: string[]): Promise<number> {
  console.error("synth: not implemented yet");
  return Promise.resolve(2);
}

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
