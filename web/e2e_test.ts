/**
 * End-to-end test of the browser page: `startServer` on 127.0.0.1 with the fixture model
 * (`fixtures/web/`), Debian's headless Chromium driven by playwright-core, the fixture tile picked
 * through the page's file input; the page's mask is compared with the mask `deno task predict`
 * writes for the same tile (CPU backend, same threshold), and its probabilities with predict's
 * float probabilities. The fixture tile is one model window at scale 1, so the page's single
 * forward pass and predict's windows see the same input.
 *
 * Skipped with a message when `/usr/bin/chromium` (or `$VESSEL_SEG_CHROMIUM`) is missing
 * (`apt-get install -y chromium`; `.ci/install-chromium.sh`). `VESSEL_SEG_SCREENSHOT=FILE` saves
 * a screenshot of the page after the prediction.
 *
 * @module
 */
import assert from "node:assert/strict";
import { prerequisite } from "../src/prerequisite.ts";
import * as tf from "@tensorflow/tfjs";
import { chromium } from "playwright-core";
import { resolveModel, startServer } from "../tasks/serve.ts";
import { readImage } from "../src/data/image.ts";
import { loadArtifact } from "../src/model/artifact.ts";
import { predictProbabilities } from "../src/predict/predict.ts";
import { main as predictMain } from "../tasks/predict.ts";
import { binarize, countComponents8 } from "./pipeline.ts";
import type { PageGlobals, PageResult } from "./app.ts";

/** Debian's chromium; `VESSEL_SEG_CHROMIUM` points the test at another binary. */
const CHROMIUM = Deno.env.get("VESSEL_SEG_CHROMIUM") ?? "/usr/bin/chromium";
const RUN = "fixtures/web/run";
const TILE = "fixtures/web/tile.png";
const TILE_MASK = "fixtures/web/tile_mask.png";
/** At most this share of pixels may flip at the threshold between browser and Deno. */
const MAX_FLIPPED_SHARE = 0.005;
/** Largest tolerated probability difference (WebGL float32 vs CPU). */
const MAX_PROB_DIFF = 1e-3;

const haveChromium = prerequisite(
  CHROMIUM,
  await Deno.stat(CHROMIUM).then((s) => s.isFile, () => false),
  "install Debian's chromium (.ci/install-chromium.sh does)",
);
if (!haveChromium) {
  console.log(
    `web/e2e_test.ts: skipped: ${CHROMIUM} not found (install it with apt-get install -y chromium)`,
  );
}

/**
 * The same tile through `deno task predict` (its `main`, CPU backend): the 0/255 mask it writes,
 * and the float probabilities of the same inference path (`predictProbabilities`).
 */
async function predictReference(
  threshold: number,
): Promise<{ mask: Uint8Array; prob: Float32Array; width: number; height: number }> {
  const out = await Deno.makeTempDir({ prefix: "vessel-seg-e2e-predict-" });
  const previous = tf.getBackend();
  try {
    await tf.setBackend("cpu");
    const code = await predictMain(
      ["--model", RUN, "--input", TILE, "--out", out, "--threshold", String(threshold), "--quiet"],
      { keepBackend: true, log: () => {}, print: () => {} },
    );
    assert.equal(code, 0);
    const written = await readImage(`${out}/masks/tile.png`);
    const mask = new Uint8Array(written.width * written.height);
    for (let i = 0; i < mask.length; i++) mask[i] = written.rgb[i * 3] > 127 ? 1 : 0;
    const m = await loadArtifact(RUN);
    try {
      const prob = predictProbabilities(m.model, await readImage(TILE), m.inference);
      return { mask, prob, width: written.width, height: written.height };
    } finally {
      m.model.dispose();
    }
  } finally {
    await Deno.remove(out, { recursive: true });
    if (previous !== undefined && previous !== "cpu") await tf.setBackend(previous);
  }
}

type Context = Awaited<ReturnType<typeof chromium.launchPersistentContext>>;

/**
 * Opens the page at `url + query`, gives it the fixture tile (through the file picker or a drop)
 * and returns the page's result.
 */
/** The page's result and its "trained on" line. */
type PageRun = PageResult & { trained: string; warn: boolean };

async function runPage(
  context: Context,
  url: string,
  query: string,
  how: "pick" | "drop",
): Promise<PageRun> {
  const page = await context.newPage();
  try {
    page.setDefaultTimeout(30_000);
    const consoleLines: string[] = [];
    page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
    // Nothing but the loopback server may be asked for anything.
    const foreign: string[] = [];
    await page.route("**/*", (route) => {
      const u = route.request().url();
      if (u.startsWith(url)) return route.continue();
      foreign.push(u);
      return route.abort();
    });
    await page.goto(url + query);
    await page.waitForFunction(() => {
      const g = globalThis as unknown as PageGlobals;
      return g.__ready === true || g.__error !== undefined;
    });
    const startError = await page.evaluate(() => (globalThis as unknown as PageGlobals).__error);
    assert.equal(startError, undefined, consoleLines.join("\n"));
    if (how === "pick") {
      await page.setInputFiles("#file", TILE);
    } else {
      // A drop of the tile's bytes on the drop zone, as a person dragging the file would.
      const bytes = Array.from(await Deno.readFile(TILE));
      await page.evaluate((b) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(b)], "tile.png", { type: "image/png" }));
        const ev = new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true });
        document.getElementById("drop")!.dispatchEvent(ev);
      }, bytes);
    }
    await page.waitForFunction(() => {
      const g = globalThis as unknown as PageGlobals;
      return g.__result !== undefined || g.__error !== undefined;
    });
    const got = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      const trained = document.getElementById("trained");
      return {
        r: g.__result,
        e: g.__error,
        trained: trained?.textContent ?? "",
        warn: trained?.classList.contains("warn") ?? false,
      };
    });
    assert.equal(got.e, undefined, consoleLines.join("\n"));
    const shot = Deno.env.get("VESSEL_SEG_SCREENSHOT");
    if (shot !== undefined && query === "") await page.screenshot({ path: shot, fullPage: true });
    assert.deepEqual(foreign, []);
    return { ...(got.r as PageResult), trained: got.trained, warn: got.warn };
  } finally {
    await page.close();
  }
}

Deno.test({
  name: "browser page: Chromium's mask matches deno task predict's on the fixture tile",
  ignore: !haveChromium,
  // playwright keeps a pipe to Chromium open until its process has been reaped.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const model = await resolveModel(RUN);
    const ac = new AbortController();
    const { url, server } = await startServer({ port: 0, model, signal: ac.signal });
    const userDataDir = await Deno.makeTempDir({ prefix: "vessel-seg-chromium-" });
    let context: Context | undefined;
    try {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        timeout: 30_000,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      const ref = await predictReference(model.meta.threshold);
      // predict's file agrees with its own float probabilities.
      assert.deepEqual(ref.mask, binarize(ref.prob, model.meta.threshold));
      const refCount = countComponents8(ref.mask, ref.width, ref.height);
      const truth = await readImage(TILE_MASK);
      const ctx = context;

      // The page's own backend choice (WebGPU → WebGL → CPU) with the file picked, then the CPU
      // fallback forced with the file dropped.
      const runs = [{ query: "", how: "pick" }, { query: "?backend=cpu", how: "drop" }] as const;
      for (const { query, how } of runs) {
        const r = await runPage(ctx, url, query, how);
        assert.deepEqual([r.width, r.height], [ref.width, ref.height]);
        let flipped = 0, maxDiff = 0;
        for (let i = 0; i < ref.mask.length; i++) {
          if (r.mask[i] !== ref.mask[i]) flipped++;
          maxDiff = Math.max(maxDiff, Math.abs(r.prob[i] - ref.prob[i]));
        }
        // The page's mask against the tile's truth: the fixture model has learnt the discs.
        let inter = 0, sum = 0;
        for (let i = 0; i < r.mask.length; i++) {
          const t = truth.rgb[i * 3] > 127 ? 1 : 0;
          inter += r.mask[i] & t;
          sum += r.mask[i] + t;
        }
        const dice = (2 * inter) / sum;
        console.log(
          `page${query} (${how}) on ${r.backend}: ${r.count} vessels (deno task predict, cpu: ${refCount}); ` +
            `${flipped}/${ref.mask.length} mask pixels differ; ` +
            `largest |Δp| ${maxDiff.toExponential(2)}; Dice vs tile truth ${dice.toFixed(3)}; ` +
            `forward ${r.inferenceMs.toFixed(0)} ms`,
        );
        // the fixture model was trained on synthetic discs, and the page says so
        assert.match(r.trained, /SYNTHETIC demo data .* does not transfer to real tissue/);
        assert.match(r.trained, /epoch 12/);
        assert.ok(r.warn, "the synthetic-data line is marked as a warning");
        if (query === "") assert.ok(["webgpu", "webgl", "cpu"].includes(r.backend), r.backend);
        else assert.equal(r.backend, "cpu");
        assert.ok(maxDiff <= MAX_PROB_DIFF, `largest |Δp| ${maxDiff}`);
        assert.ok(flipped <= MAX_FLIPPED_SHARE * ref.mask.length, `${flipped} pixels differ`);
        if (flipped === 0) assert.equal(r.count, refCount);
        assert.equal(r.count, countComponents8(Uint8Array.from(r.mask), r.width, r.height));
        assert.ok(dice > 0.7, `Dice ${dice}`);
      }
    } finally {
      await context?.close();
      ac.abort();
      await server.finished;
      await Deno.remove(userDataDir, { recursive: true });
    }
  },
});
