/**
 * Test prerequisites that may be missing on a developer's machine but not in CI: a WebGPU adapter
 * (Mesa's software Vulkan driver) and Debian's Chromium. Where one is missing, its tests are
 * skipped with a message; with `CI=true` a failing test saying which one is missing is
 * registered instead, so a CI run cannot stay green with those tests silently skipped.
 *
 * @module
 */

/**
 * Returns `present`. When it is false and `CI=true`, registers a failing test naming `what` and
 * how `.ci/run` provides it.
 *
 * @example
 * ```ts
 * import { prerequisite } from "./prerequisite.ts";
 * console.assert(prerequisite("a thing", true, "always there") === true);
 * ```
 */
export function prerequisite(what: string, present: boolean, how: string): boolean {
  if (!present && Deno.env.get("CI") === "true") {
    Deno.test(`CI prerequisite: ${what}`, () => {
      throw new Error(`CI=true but ${what} is missing: ${how}`);
    });
  }
  return present;
}
