import assert from "node:assert/strict";
import { InputError } from "../errors.ts";
import { readPolygons, readTileMeta, readWsiMeta, type TileAnnotations } from "./kaggle.ts";

const REAL = new URL("../../fixtures/real/", import.meta.url);

/** Writes `content` to `DIR/name` and runs `fn` with the path; the directory is removed after. */
async function withFile<T>(
  name: string,
  content: string,
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/${name}`;
    await Deno.writeTextFile(path, content);
    return await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function collect(
  path: string,
  onInvalid?: (e: InputError) => void,
): Promise<TileAnnotations[]> {
  const out: TileAnnotations[] = [];
  for await (const t of readPolygons(path, { onInvalid })) out.push(t);
  return out;
}

const tri = "[[[0,0],[10,0],[10,10]]]";
const ok = (id: string, type = "blood_vessel", coords = tri) =>
  `{"id":"${id}","annotations":[{"type":"${type}","coordinates":${coords}}]}`;

/**
 * Asserts that reading `lines` (joined by \n) throws exactly `message`, where the message's leading
 * `polygons.jsonl` stands for the path given to the reader (a temporary file; tests must not
 * chdir, as test files may share the process).
 */
async function assertPolygonsError(lines: string[], message: string): Promise<void> {
  await withFile("polygons.jsonl", lines.join("\n") + "\n", async (path) => {
    await assert.rejects(() => collect(path), (e: unknown) => {
      assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
      assert.equal(e.message, path + message.slice("polygons.jsonl".length));
      assert.equal(e.file, path);
      return true;
    });
  });
}

Deno.test("readPolygons: parses rings, holes, all three types, line numbers; skips blank lines; CRLF", async () => {
  const holed = "[[[0,0],[20,0],[20,20],[0,20]],[[5,5],[6,5],[6,6]]]";
  const content = [
    ok("0006ff2aa7cd"),
    "",
    `{"id":"00168d1b7522","annotations":[{"type":"glomerulus","coordinates":${holed}},` +
    `{"type":"unsure","coordinates":${tri}}],"extra":1}`,
    "   ",
    `{"id":"no_vessels","annotations":[]}`,
  ].join("\r\n");
  const tiles = await withFile("polygons.jsonl", content, (p) => collect(p));
  assert.deepEqual(tiles.map((t) => [t.id, t.line]), [["0006ff2aa7cd", 1], ["00168d1b7522", 3], [
    "no_vessels",
    5,
  ]]);
  assert.deepEqual(tiles[0].annotations, [{
    type: "blood_vessel",
    rings: [[[0, 0], [10, 0], [10, 10]]],
  }]);
  assert.equal(tiles[1].annotations[0].type, "glomerulus");
  assert.deepEqual(tiles[1].annotations[0].rings[1], [[5, 5], [6, 5], [6, 6]]);
  assert.equal(tiles[1].annotations[1].type, "unsure");
  assert.deepEqual(tiles[2].annotations, []);
});

Deno.test("readPolygons: non-integer and out-of-tile coordinates are accepted as given", async () => {
  const tiles = await withFile(
    "p.jsonl",
    ok("a", "blood_vessel", "[[[-3.5,0.25],[600,0],[511.75,1e2]]]"),
    (p) => collect(p),
  );
  assert.deepEqual(tiles[0].annotations[0].rings[0], [[-3.5, 0.25], [600, 0], [511.75, 100]]);
});

Deno.test("readPolygons: bad JSON", async () => {
  await assertPolygonsError(
    [ok("a"), '{"id":"b","annotations":[', ok("c")],
    // The JSON detail is V8's; the prefix is ours.
    (jsonError('{"id":"b","annotations":[')).replace(/^/, "polygons.jsonl:2: bad JSON: "),
  );
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message.split("\n")[0];
  }
  throw new Error("valid JSON");
}

Deno.test("readPolygons: missing, non-string and unsafe ids", async () => {
  await assertPolygonsError([`{"annotations":[]}`], `polygons.jsonl:1: missing "id"`);
  await assertPolygonsError(
    [ok("a"), `{"id":17,"annotations":[]}`],
    `polygons.jsonl:2: "id" must be a string, found number 17`,
  );
  await assertPolygonsError(
    [`{"id":"../etc","annotations":[]}`],
    `polygons.jsonl:1: "id" "../etc" is not a valid tile id (letters, digits, "_", "-", "." only, not starting with ".")`,
  );
  await assertPolygonsError(
    [`{"id":"","annotations":[]}`],
    `polygons.jsonl:1: "id" "" is not a valid tile id (letters, digits, "_", "-", "." only, not starting with ".")`,
  );
});

Deno.test("readPolygons: duplicate id names both lines", async () => {
  await assertPolygonsError(
    [ok("aaa"), ok("bbb"), "", ok("aaa")],
    `polygons.jsonl:4: duplicate id "aaa", first at line 1`,
  );
});

Deno.test("readPolygons: annotations not a list, annotation not an object, missing fields", async () => {
  await assertPolygonsError(
    [`{"id":"a","annotations":{}}`],
    `polygons.jsonl:1: "annotations" must be a list, found an object`,
  );
  await assertPolygonsError([`{"id":"a"}`], `polygons.jsonl:1: missing "annotations"`);
  await assertPolygonsError(
    [`[1,2]`],
    `polygons.jsonl:1: expected a JSON object {"id", "annotations"}, found a list`,
  );
  await assertPolygonsError(
    [`{"id":"a","annotations":[5]}`],
    `polygons.jsonl:1: annotation 0: expected an object {"type", "coordinates"}, found number 5`,
  );
  await assertPolygonsError(
    [`{"id":"a","annotations":[{"coordinates":${tri}}]}`],
    `polygons.jsonl:1: annotation 0: missing "type"`,
  );
  await assertPolygonsError(
    [`{"id":"a","annotations":[{"type":"glomerulus"}]}`],
    `polygons.jsonl:1: annotation 0: missing "coordinates"`,
  );
});

Deno.test("readPolygons: unknown type", async () => {
  await assertPolygonsError(
    [`{"id":"a","annotations":[{"type":"glomerulus","coordinates":${tri}},{"type":"artery","coordinates":${tri}}]}`],
    `polygons.jsonl:1: annotation 1: unknown type "artery" (expected blood_vessel, glomerulus, unsure)`,
  );
});

Deno.test("readPolygons: wrong nesting of coordinates", async () => {
  await assertPolygonsError(
    [ok("a", "blood_vessel", "[[0,0],[10,0],[10,10]]")],
    `polygons.jsonl:1: annotation 0: wrong nesting: "coordinates" must be a list of rings [[[x, y], ...]], found a list of points [[x, y], ...]`,
  );
  await assertPolygonsError(
    [ok("a", "blood_vessel", "[[[[0,0],[10,0],[10,10]]]]")],
    `polygons.jsonl:1: annotation 0: wrong nesting: ring 0 point 0 must be [x, y], found a list of lists`,
  );
  await assertPolygonsError(
    [ok("a", "blood_vessel", "[[[0,0],5,[10,10]]]")],
    `polygons.jsonl:1: annotation 0: wrong nesting: ring 0 point 1 must be [x, y], found number 5`,
  );
  await assertPolygonsError(
    [ok("a", "blood_vessel", "[5]")],
    `polygons.jsonl:1: annotation 0: wrong nesting: ring 0 must be a list of [x, y] points, found number 5`,
  );
  await assertPolygonsError(
    [ok("a", "blood_vessel", '{"x":1}')],
    `polygons.jsonl:1: annotation 0: "coordinates" must be a list of rings [[[x, y], ...]], found an object`,
  );
  await assertPolygonsError(
    [ok("a", "blood_vessel", "[]")],
    `polygons.jsonl:1: annotation 0: "coordinates" has no rings`,
  );
  await assertPolygonsError(
    [ok("a", "blood_vessel", "[[[0,0],[10,0,3],[10,10]]]")],
    `polygons.jsonl:1: annotation 0: ring 0 point 1 must be [x, y], found 3 values`,
  );
});

Deno.test("readPolygons: non-numeric and non-finite coordinates", async () => {
  await assertPolygonsError(
    [ok("a", "blood_vessel", '[[[0,0],["10",0],[10,10]]]')],
    `polygons.jsonl:1: annotation 0: ring 0 point 1: x must be a number, found string "10"`,
  );
  await assertPolygonsError(
    [ok("a", "blood_vessel", "[[[0,0],[10,null],[10,10]]]")],
    `polygons.jsonl:1: annotation 0: ring 0 point 1: y must be a number, found null`,
  );
  // JSON has no Infinity, but 1e999 parses to it.
  await assertPolygonsError(
    [ok("a", "blood_vessel", "[[[0,0],[10,0],[10,-1e999]]]")],
    `polygons.jsonl:1: annotation 0: ring 0 point 2: y is not finite (-Infinity)`,
  );
});

Deno.test("readPolygons: a ring with too few points, in the issue's exact wording", async () => {
  const lines = Array.from({ length: 16 }, (_, k) => ok(`t${k}`));
  const four = Array.from({ length: 3 }, () => `{"type":"glomerulus","coordinates":${tri}}`);
  lines.push(
    `{"id":"t16","annotations":[${
      four.join(",")
    },{"type":"blood_vessel","coordinates":[[[1,1],[2,2]]]}]}`,
  );
  await assertPolygonsError(
    lines,
    "polygons.jsonl:17: annotation 3: ring 0 has 2 points, need at least 3",
  );
  await assertPolygonsError(
    [ok("a", "blood_vessel", "[[[0,0],[9,0],[9,9]],[]]")],
    "polygons.jsonl:1: annotation 0: ring 1 has 0 points, need at least 3",
  );
});

Deno.test("readPolygons: an empty or blank-only file is an error, even with onInvalid", async () => {
  for (const content of ["", "\n\n  \r\n"]) {
    await withFile("polygons.jsonl", content, async (p) => {
      await assert.rejects(
        () => collect(p, () => {}),
        (e: unknown) =>
          e instanceof InputError && e.message === `${p}: no annotations: the file is empty`,
      );
    });
  }
});

Deno.test("readPolygons: a missing file names the path", async () => {
  await assert.rejects(
    () => collect("/nonexistent/polygons.jsonl"),
    /^InputError: \/nonexistent\/polygons\.jsonl: no such file$/,
  );
});

Deno.test("readPolygons: with onInvalid, bad lines are skipped and bad annotations dropped", async () => {
  const content = [
    ok("a"),
    "not json",
    ok("a"), // duplicate: skipped, "a" keeps line 1
    `{"id":"b","annotations":[{"type":"artery","coordinates":${tri}},{"type":"unsure","coordinates":${tri}}]}`,
    `{"id":"c","annotations":7}`,
    ok("d"),
  ].join("\n");
  const errors: string[] = [];
  const tiles = await withFile(
    "p.jsonl",
    content,
    (p) => collect(p, (e) => errors.push(e.message.replace(/^.*p\.jsonl/, "p.jsonl"))),
  );
  assert.deepEqual(tiles.map((t) => `${t.id}@${t.line}:${t.annotations.map((a) => a.type)}`), [
    "a@1:blood_vessel",
    "b@4:unsure",
    "d@6:blood_vessel",
  ]);
  assert.equal(errors.length, 4);
  assert.match(errors[0], /^p\.jsonl:2: bad JSON: /);
  assert.equal(errors[1], `p.jsonl:3: duplicate id "a", first at line 1`);
  assert.equal(
    errors[2],
    `p.jsonl:4: annotation 0: unknown type "artery" (expected blood_vessel, glomerulus, unsure)`,
  );
  assert.equal(errors[3], `p.jsonl:5: "annotations" must be a list, found number 7`);
});

Deno.test("readTileMeta: the real tile_meta.csv (7033 rows)", async () => {
  const meta = await readTileMeta(new URL("tile_meta.csv", REAL).pathname);
  assert.equal(meta.size, 7033);
  assert.deepEqual(meta.get("0006ff2aa7cd"), {
    id: "0006ff2aa7cd",
    sourceWsi: 2,
    dataset: 2,
    i: 16896,
    j: 16420,
  });
  assert.deepEqual(meta.get("000e79e206b7"), {
    id: "000e79e206b7",
    sourceWsi: 6,
    dataset: 3,
    i: 10240,
    j: 29184,
  });
  // The dataset sizes stated in ../shared/data/README.md: 422 / 1211 / 5400.
  const counts = [0, 0, 0, 0];
  for (const m of meta.values()) counts[m.dataset]++;
  assert.deepEqual(counts.slice(1), [422, 1211, 5400]);
});

Deno.test("readWsiMeta: the real wsi_meta.csv", async () => {
  const wsi = await readWsiMeta(new URL("wsi_meta.csv", REAL).pathname);
  assert.deepEqual([...wsi.keys()], [1, 2, 3, 4]);
  assert.deepEqual(wsi.get(2), {
    sourceWsi: 2,
    age: 56,
    sex: "F",
    race: "W",
    height: 175.2,
    weight: 139.6,
    bmi: 45.5,
  });
});

Deno.test("readTileMeta / readWsiMeta: malformed CSV rows name file, line and field", async () => {
  const header = "id,source_wsi,dataset,i,j";
  const cases: [string, string][] = [
    [
      `${header}\na,1,1,0,0\nb,1,1,0,0\nc,1,1,0,0\nd,1,1,0`,
      "tile_meta.csv:5: row has 4 fields, expected 5 (id,source_wsi,dataset,i,j)",
    ],
    [`${header}\na,x,1,0,0`, `tile_meta.csv:2: field "source_wsi": expected an integer, found "x"`],
    [
      `${header}\na,1,1.5,0,0`,
      `tile_meta.csv:2: field "dataset": expected an integer, found "1.5"`,
    ],
    [`${header}\na,1,1,,0`, `tile_meta.csv:2: field "i": expected an integer, found ""`],
    [`${header}\na,1,1,0,0\na,2,1,0,0`, `tile_meta.csv:3: duplicate id "a", first at line 2`],
    [
      "id,source_wsi,i,j\na,1,0,0",
      `tile_meta.csv:1: header lacks column "dataset" (expected id,source_wsi,dataset,i,j, found id,source_wsi,i,j)`,
    ],
    ["", "tile_meta.csv: empty file, expected a header id,source_wsi,dataset,i,j"],
    [`${header}\n"a,1,1,0,0`, "tile_meta.csv:2: unterminated quoted field 1"],
  ];
  const dir = await Deno.makeTempDir();
  try {
    const tile = `${dir}/tile_meta.csv`;
    for (const [content, message] of cases) {
      await Deno.writeTextFile(tile, content);
      await assert.rejects(() => readTileMeta(tile), (e: unknown) => {
        assert.ok(e instanceof InputError);
        assert.equal(e.message, `${dir}/${message}`);
        return true;
      });
    }
    const wsi = `${dir}/wsi_meta.csv`;
    const head = "source_wsi,age,sex,race,height,weight,bmi\n1,58,F,W,160.0,59.0,23.0\n";
    await Deno.writeTextFile(wsi, head + "2,old,F,W,1,1,1\n");
    await assert.rejects(
      () => readWsiMeta(wsi),
      (e: unknown) =>
        e instanceof InputError &&
        e.message === `${wsi}:3: field "age": expected a number, found "old"`,
    );
    await Deno.writeTextFile(wsi, head + "1,5,F,W,1,1,1\n");
    await assert.rejects(
      () => readWsiMeta(wsi),
      (e: unknown) =>
        e instanceof InputError &&
        e.message === `${wsi}:3: duplicate source_wsi 1, first at line 2`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTileMeta: quoted fields, reordered and extra columns, CRLF, header only", async () => {
  const content = 'dataset,j,note,id,i,source_wsi\r\n1,5,"x, y",abc,7,3\r\n"2",6,,"q""",8,4\r\n';
  await withFile("t.csv", content, async (p) => {
    await assert.rejects(() => readTileMeta(p), /field "id": "q\\"" is not a valid tile id/);
  });
  await withFile("t.csv", content.replace('"q"""', "def"), async (p) => {
    const meta = await readTileMeta(p);
    assert.deepEqual(meta.get("abc"), { id: "abc", sourceWsi: 3, dataset: 1, i: 7, j: 5 });
    assert.deepEqual(meta.get("def"), { id: "def", sourceWsi: 4, dataset: 2, i: 8, j: 6 });
  });
  await withFile("t.csv", "id,source_wsi,dataset,i,j\n", async (p) => {
    assert.equal((await readTileMeta(p)).size, 0);
  });
});
