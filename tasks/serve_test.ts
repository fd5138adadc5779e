import assert from "node:assert/strict";
import { join } from "node:path";
import { InputError, ResourceError, UsageError } from "../src/errors.ts";
import { main, resolveModel, startServer } from "./serve.ts";

const RUN = "fixtures/web/run";
const CKPT = join(RUN, "checkpoints", "epoch-0012");

Deno.test("resolveModel: a run resolves to its latest checkpoint with the manifest's meta", async () => {
  const m = await resolveModel(RUN);
  assert.equal(m.dir, CKPT);
  assert.deepEqual(m.files, ["model.json", "weights.bin"]);
  const manifest = JSON.parse(await Deno.readTextFile("fixtures/web/prepared/manifest.json"));
  assert.equal(m.meta.tileSizePx, 48);
  assert.equal(m.meta.scale, 1);
  assert.equal(m.meta.depth, 2);
  assert.equal(m.meta.threshold, 0.5);
  assert.equal(m.meta.epoch, 12);
  assert.deepEqual(m.meta.normalize, { mean: manifest.stats.mean, std: manifest.stats.std });
  const direct = await resolveModel(CKPT, { threshold: 0.3 });
  assert.equal(direct.dir, CKPT);
  assert.equal(direct.meta.threshold, 0.3);
});

Deno.test("resolveModel: clear errors for a missing run or manifest", async () => {
  await assert.rejects(() => resolveModel("fixtures/web/nope"), (e: Error) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /^fixtures\/web\/nope: no such folder$/);
    return true;
  });
  await assert.rejects(
    () => resolveModel("fixtures/web"),
    /fixtures\/web: neither a checkpoint \(no model\.json\) nor a training run/,
  );
  await assert.rejects(
    () => resolveModel(RUN, { prepared: "fixtures/web/missing" }),
    /fixtures\/web\/missing\/manifest\.json: no such file/,
  );
});

Deno.test("startServer: serves the page, the bundles and only the model's files, on loopback", async () => {
  const model = await resolveModel(RUN);
  const ac = new AbortController();
  const { url, server } = await startServer({ port: 0, model, signal: ac.signal });
  try {
    assert.equal(server.addr.hostname, "127.0.0.1");
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const get = async (path: string, init?: RequestInit) => {
      const res = await fetch(new URL(path, url), init);
      return { status: res.status, type: res.headers.get("content-type"), body: await res.bytes() };
    };
    const text = (b: Uint8Array) => new TextDecoder().decode(b);

    const index = await get("/");
    assert.equal(index.status, 200);
    assert.match(index.type!, /text\/html/);
    assert.match(text(index.body), /<script type="module" src="\/app.js">/);
    const app = await get("/app.js");
    assert.equal(app.status, 200);
    assert.match(app.type!, /javascript/);
    // The bundle carries the project's own resize and normalisation code.
    assert.match(text(app.body), /function downscaleArea\(/);
    assert.match(text(app.body), /function toInput\(/);
    assert.doesNotMatch(text(app.body), /^import /m);
    assert.equal((await get("/style.css")).status, 200);
    for (const name of ["tf.min.js", "tf-backend-webgpu.min.js"]) {
      const v = await get(`/vendor/${name}`);
      assert.equal(v.status, 200, name);
      assert.ok(v.body.length > 100_000, name);
    }
    const meta = await get("/model/meta.json");
    assert.deepEqual(JSON.parse(text(meta.body)), JSON.parse(JSON.stringify(model.meta)));
    const weights = await get("/model/weights.bin");
    assert.deepEqual(weights.body, await Deno.readFile(join(CKPT, "weights.bin")));
    assert.equal((await get("/model/model.json")).status, 200);
    // Files beside the model that model.json does not name, and escapes, are not served.
    assert.equal((await get("/model/state.json")).status, 404);
    assert.equal((await get("/model/%2e%2e/%2e%2e/config.json")).status, 404);
    assert.equal((await get("/vendor/..%2Fdeno.json")).status, 404);
    assert.equal((await get("/model/weights.bin", { method: "POST" })).status, 405);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("startServer: without a model the page's /model/ requests are 404 with a hint", async () => {
  const ac = new AbortController();
  const { url, server } = await startServer({ port: 0, signal: ac.signal });
  try {
    const res = await fetch(new URL("/model/meta.json", url));
    assert.equal(res.status, 404);
    assert.match(await res.text(), /--model RUN/);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("main: --help, and flag errors", async () => {
  const log = console.log;
  let printed = "";
  console.log = (s: string) => printed += s;
  try {
    assert.equal(await main(["--help"]), 0);
  } finally {
    console.log = log;
  }
  assert.match(printed, /127\.0\.0\.1/);
  await assert.rejects(() => main(["--port", "70000"]), UsageError);
  await assert.rejects(() => main(["--bogus"]), UsageError);
  await assert.rejects(() => main(["--model", "fixtures/web/nope"]), InputError);
});

Deno.test("startServer: a port in use is one ResourceError line naming it", async () => {
  const ac = new AbortController();
  const first = await startServer({ port: 0, signal: ac.signal });
  const port = Number(new URL(first.url).port);
  try {
    await assert.rejects(
      () => startServer({ port, signal: ac.signal }),
      (e: unknown) =>
        e instanceof ResourceError &&
        e.message ===
          `port ${port} on 127.0.0.1 is in use; choose another --port (0 = any free one)`,
    );
  } finally {
    ac.abort();
    await first.server.finished;
  }
});
