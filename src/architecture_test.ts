/**
 * The import graph's rules, as the README's "Architecture" section states them: folders are
 * layered (a module imports only from its own folder or a lower layer), nothing imports in a
 * circle, and only the training stage's own entry points import `src/train/`. Every relative
 * `import … from "…"`, `import "…"`, `export … from "…"` and `import("…")` of the tree's
 * TypeScript is read.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));

/** Layer of each folder, lowest first (the README's table). */
export const LAYERS: Record<string, number> = {
  "src": 0,
  "src/data": 1,
  "src/metrics": 1,
  "src/interop": 1,
  "src/report": 2,
  "src/runtime": 2,
  "src/runtime/kernels": 2,
  "src/model": 3,
  "src/baseline": 4,
  "src/train": 5,
  "src/evaluate": 6,
  "src/predict": 6,
  "src/experiment": 7,
  "src/serve": 7,
  "src/mosaic": 7,
  "tasks": 8,
  "web": 8,
  "bench": 8,
  "scripts": 8,
  ".": 8,
};

/** Modules outside `src/train/` that may import it: the train task, the demo, the experiment runner. */
const TRAIN_IMPORTERS = [
  "tasks/train.ts",
  "tasks/demo.ts",
  "tasks/experiment.ts",
  "src/experiment/",
];

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const path = dir === "." ? e.name : `${dir}/${e.name}`;
    if (e.isDirectory && dir !== ".") yield* tsFiles(path);
    else if (e.isFile && e.name.endsWith(".ts")) yield path;
  }
}

const SPEC =
  /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*"(\.{1,2}\/[^"]+)"|(?:^|\n)\s*import\s*"(\.{1,2}\/[^"]+)"|\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g;
/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*"(\.{1,2}\/[^"]+)"|\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g;

async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const dir of [".", "src", "tasks", "web", "bench", "scripts"]) {
    for await (const file of tsFiles(dir)) {
      // Block comments hold JSDoc examples, whose imports are not the module's.
      const text = (await Deno.readTextFile(join(ROOT, file))).replace(/\/\*[\s\S]*?\*\//g, "");
      const targets: string[] = [];
      for (const m of text.matchAll(SPEC)) {
        const spec = m[1] ?? m[2] ?? m[3];
        targets.push(relative(ROOT, join(ROOT, dirname(file), spec)).replaceAll("\\", "/"));
      }
      graph.set(file, targets);
    }
  }
  return graph;
}

const isTest = (f: string) => /_test\.ts$|\/testing\.ts$/.test(f);
const folderOf = (f: string) => (f.includes("/") ? dirname(f) : ".");

const graph = await importGraph();

Deno.test("architecture: the graph was read (sanity)", () => {
  assert.ok(graph.size > 150, `${graph.size} files`);
  assert.ok(graph.get("tasks/train.ts")!.includes("src/train/config.ts"));
});

Deno.test("architecture: every folder has a layer, and no module imports from a higher layer or a sibling folder", () => {
  const bad: string[] = [];
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    assert.ok(from in LAYERS, `${file}: folder ${from} has no layer`);
    if (isTest(file)) continue;
    for (const t of targets) {
      if (!t.endsWith(".ts")) continue; // deno.json and other data
      const to = folderOf(t);
      assert.ok(to in LAYERS, `${file} → ${t}: folder ${to} has no layer`);
      const same = to === from || to.startsWith(`${from}/`) || from.startsWith(`${to}/`);
      if (!same && LAYERS[to] >= LAYERS[from]) bad.push(`${file} → ${t}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("architecture: no import circle", () => {
  const state = new Map<string, "open" | "done">();
  const circles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") {
      circles.push([...path.slice(path.indexOf(f)), f].join(" → "));
      return;
    }
    state.set(f, "open");
    for (const t of graph.get(f) ?? []) if (!isTest(t)) visit(t, [...path, f]);
    state.set(f, "done");
  };
  for (const f of graph.keys()) if (!isTest(f)) visit(f, []);
  assert.deepEqual(circles, []);
});

Deno.test("architecture: only the train task, the demo and the experiment runner import src/train/; benchmarks only its public API", () => {
  const bad: string[] = [];
  for (const [file, targets] of graph) {
    if (file.startsWith("src/train/") || TRAIN_IMPORTERS.some((p) => file.startsWith(p))) continue;
    for (const t of targets) {
      const api = file.startsWith("bench/") && t === "src/train/mod.ts";
      if (t.startsWith("src/train/") && !api) bad.push(`${file} → ${t}`);
    }
  }
  assert.deepEqual(bad, []);
});
