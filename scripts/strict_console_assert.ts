/**
 * Preloaded by `deno task test` (`--preload`): makes `console.assert` throw, so that the JSDoc
 * examples' `console.assert(…)` lines, run by `deno test --doc`, fail the test when they do not
 * hold (Deno's own `console.assert` only prints).
 *
 * @module
 */
const original = console.assert.bind(console);
console.assert = (condition?: boolean, ...data: unknown[]): void => {
  if (!condition) {
    throw new Error(`Assertion failed${data.length ? `: ${data.map(String).join(" ")}` : ""}`);
  }
  original(condition, ...data);
};
