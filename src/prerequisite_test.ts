import assert from "node:assert/strict";
import { join } from "node:path";

// A test file whose prerequisite is missing, run by a child `deno test` with and without CI=true.
async function runChild(ci: boolean): Promise<{ code: number; out: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "needs_thing_test.ts");
    const mod = new URL("./prerequisite.ts", import.meta.url).href;
    await Deno.writeTextFile(
      file,
      `import { prerequisite } from "${mod}";\n` +
        `const there = prerequisite("the thing", false, "install it");\n` +
        `Deno.test({ name: "uses the thing", ignore: !there, fn: () => {} });\n`,
    );
    const env: Record<string, string> = { NO_COLOR: "1", CI: ci ? "true" : "" };
    const res = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--no-check", "-A", file],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
    return { code: res.code, out };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("prerequisite: a missing one skips locally and fails with CI=true, naming it", async () => {
  const local = await runChild(false);
  assert.equal(local.code, 0, local.out);
  assert.match(local.out, /uses the thing \.\.\. ignored/);
  const ci = await runChild(true);
  assert.notEqual(ci.code, 0, ci.out);
  assert.match(ci.out, /CI=true but the thing is missing: install it/);
});
