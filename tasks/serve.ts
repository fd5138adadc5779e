/**
 * `deno task serve` — the browser page (`web/`) and a trained model, served on loopback only.
 *
 * ```
 * deno task serve [--port 8000] [--model RUN|RUN/checkpoints/NAME] [--prepared DIR] [--threshold X]
 * ```
 *
 * Routes (GET/HEAD only; everything else is 404/405):
 * - `/` — `web/index.html`; `/style.css`; `/app.js` — `web/app.ts` bundled for the browser with
 *   `deno bundle` at start-up;
 * - `/vendor/tf.min.js`, `/vendor/tf-backend-webgpu.min.js` — the tfjs browser bundles from
 *   `node_modules` (no CDN);
 * - `/model/model.json` and the weight files its manifest names — the checkpoint's files;
 * - `/model/meta.json` — what the page needs besides the weights: the training tile size and
 *   prepare scale, the normalisation statistics and the threshold ({@linkcode ModelMeta}).
 *
 * `--model RUN` serves the run's latest checkpoint (`RUN/checkpoints/latest.json`). The tile size,
 * scale and statistics come from the prepared manifest the run was trained on (`config.prepared`
 * of the checkpoint's `state.json`, or `--prepared DIR` when it has moved).
 *
 * @module
 */
import { dirname, join, normalize as normalizePath } from "node:path";
import { fileURLToPath } from "node:url";
import { numberFlag, parseFlags, runMain, wantsHelp } from "../src/cli.ts";
import { InputError, UsageError } from "../src/errors.ts";
import { exists } from "../src/io.ts";
import type { Manifest } from "../src/data/prepared.ts";
import { type CheckpointFile, latestCheckpoint } from "../src/train/checkpoint.ts";
import type { ModelMeta } from "../web/pipeline.ts";

export type { ModelMeta };

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const WEB = join(ROOT, "web");

/** Browser bundles of tfjs, served under `/vendor/`. */
export const VENDOR_FILES: Record<string, string> = {
  "tf.min.js": join(ROOT, "node_modules/@tensorflow/tfjs/dist/tf.min.js"),
  "tf-backend-webgpu.min.js": join(
    ROOT,
    "node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js",
  ),
};

const USAGE = `deno task serve [--port 8000] [--model RUN] [flags]

Serves the browser page and a trained model on http://127.0.0.1:PORT/ (loopback only).

  --port N          TCP port, 0 = any free one (default 8000)
  --model PATH      a training run (its latest checkpoint) or one checkpoint folder
                    (RUN/checkpoints/epoch-NNNN); without it the page says there is no model
  --prepared DIR    prepared dataset the run was trained on (default: the run's config.prepared)
  --threshold X     probability threshold of the masks (default: the run's threshold)
  --help            print this text`;

/** A checkpoint ready to serve. */
export interface ServedModel {
  /** The checkpoint folder. */
  dir: string;
  meta: ModelMeta;
  /** Files the browser may fetch under `/model/`: `model.json` and its weight files. */
  files: string[];
}

async function readJson<T>(path: string): Promise<T> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new InputError(path, undefined, "no such file");
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new InputError(path, undefined, `bad JSON: ${(e as Error).message}`);
  }
}

/**
 * Resolves `--model PATH` (a checkpoint folder, or a run whose latest checkpoint is taken) and
 * reads the page's {@linkcode ModelMeta} from the checkpoint's config and the prepared manifest.
 *
 * @example
 * ```ts ignore
 * const m = await resolveModel("runs/demo");
 * console.log(m.meta.tileSizePx);
 * ```
 */
export async function resolveModel(
  path: string,
  opts: { prepared?: string; threshold?: number } = {},
): Promise<ServedModel> {
  let dir = path;
  if (!(await exists(join(path, "model.json")))) {
    const latest = await latestCheckpoint(path);
    if (latest === undefined) {
      throw new InputError(
        path,
        undefined,
        "neither a checkpoint (model.json) nor a run with checkpoints/latest.json",
      );
    }
    dir = latest;
  }
  const modelJsonPath = join(dir, "model.json");
  const modelJson = await readJson<{ weightsManifest?: { paths?: unknown }[] }>(modelJsonPath);
  const files = ["model.json"];
  for (const group of modelJson.weightsManifest ?? []) {
    if (!Array.isArray(group.paths)) {
      throw new InputError(modelJsonPath, undefined, "weightsManifest entry without paths");
    }
    for (const p of group.paths) {
      if (typeof p !== "string" || !/^[\w.-]+$/.test(p) || p.startsWith(".")) {
        throw new InputError(modelJsonPath, undefined, `unsafe weight file name ${String(p)}`);
      }
      files.push(p);
    }
  }
  const statePath = join(dir, "state.json");
  const state = await readJson<CheckpointFile>(statePath);
  if (state?.format !== "vessel-seg-checkpoint" || typeof state.config !== "object") {
    throw new InputError(statePath, undefined, "not a vessel-seg checkpoint (format 1)");
  }
  const config = state.config;
  const manifestPath = join(opts.prepared ?? config.prepared, "manifest.json");
  const manifest = await readJson<Manifest>(manifestPath).catch((e) => {
    throw new InputError(
      manifestPath,
      undefined,
      `cannot read the prepared manifest the run was trained on (${(e as Error).message}); ` +
        "pass --prepared DIR",
    );
  });
  if (!(manifest.tileSizePx > 0) || !(manifest.scale > 0 && manifest.scale <= 1)) {
    throw new InputError(manifestPath, undefined, "expected tileSizePx > 0 and 0 < scale ≤ 1");
  }
  let normalize: ModelMeta["normalize"];
  if (config.normalize === "dataset") {
    const { mean, std } = manifest.stats ?? {};
    if (!Array.isArray(mean) || !Array.isArray(std) || mean.length !== 3 || std.length !== 3) {
      throw new InputError(manifestPath, undefined, "stats.mean/std: expected 3 numbers each");
    }
    normalize = { mean: [...mean], std: [...std] };
  }
  const meta: ModelMeta = {
    tileSizePx: manifest.tileSizePx,
    scale: manifest.scale,
    depth: config.model.depth,
    normalize,
    threshold: opts.threshold ?? config.threshold,
    checkpoint: dir,
    epoch: state.state.epoch,
  };
  return { dir, meta, files };
}

/** Bundles `web/app.ts` (and the project modules it imports) for the browser. */
export async function bundleApp(): Promise<string> {
  const tmp = await Deno.makeTempDir({ prefix: "vessel-seg-web-" });
  try {
    const out = join(tmp, "app.js");
    const res = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "browser", "-o", out, join(WEB, "app.ts")],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!res.success) {
      throw new Error(`deno bundle web/app.ts failed:\n${new TextDecoder().decode(res.stderr)}`);
    }
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** Options of {@linkcode startServer}. */
export interface ServeOptions {
  /** TCP port on 127.0.0.1; 0 = any free one. */
  port: number;
  /** The model to serve, if any. */
  model?: ServedModel;
  /** Stops the server when aborted. */
  signal?: AbortSignal;
}

/** A running server. */
export interface RunningServer {
  /** `http://127.0.0.1:PORT/` */
  url: string;
  server: Deno.HttpServer<Deno.NetAddr>;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  json: "application/json; charset=utf-8",
  bin: "application/octet-stream",
};

function contentType(name: string): string {
  return TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream";
}

/**
 * Starts the HTTP server on 127.0.0.1 (never another address). The page's script is bundled
 * first, so a broken bundle fails here rather than in the browser.
 *
 * @example
 * ```ts ignore
 * const ac = new AbortController();
 * const { url, server } = await startServer({ port: 0, signal: ac.signal });
 * ac.abort();
 * await server.finished;
 * ```
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  for (const [name, path] of Object.entries(VENDOR_FILES)) {
    if (!(await exists(path))) {
      throw new InputError(path, undefined, `missing (${name}); run deno install`);
    }
  }
  const appJs = await bundleApp();
  const { model } = opts;
  const fileResponse = async (path: string, name: string): Promise<Response> =>
    new Response(await Deno.readFile(path), {
      headers: { "content-type": contentType(name), "cache-control": "no-store" },
    });
  const handler = async (req: Request): Promise<Response> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405 });
    }
    const { pathname } = new URL(req.url);
    if (pathname === "/" || pathname === "/index.html") {
      return await fileResponse(join(WEB, "index.html"), "index.html");
    }
    if (pathname === "/style.css") return await fileResponse(join(WEB, "style.css"), "style.css");
    if (pathname === "/app.js") {
      return new Response(appJs, {
        headers: { "content-type": TYPES.js, "cache-control": "no-store" },
      });
    }
    if (pathname.startsWith("/vendor/")) {
      const name = pathname.slice("/vendor/".length);
      const path = VENDOR_FILES[name];
      if (path !== undefined) return await fileResponse(path, name);
    }
    if (pathname.startsWith("/model/")) {
      if (model === undefined) {
        return new Response("start deno task serve with --model RUN\n", { status: 404 });
      }
      const name = pathname.slice("/model/".length);
      if (name === "meta.json") return Response.json(model.meta);
      // Only the files model.json names; never a path built from the request.
      if (model.files.includes(name)) return await fileResponse(join(model.dir, name), name);
    }
    return new Response("not found\n", { status: 404 });
  };
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: opts.port,
      signal: opts.signal,
      onListen: (addr) => listening.resolve(addr),
    },
    handler,
  );
  const addr = await listening.promise;
  return { url: `http://127.0.0.1:${addr.port}/`, server };
}

/** Entry point; returns the exit code. Serves until interrupted (Ctrl-C). */
export async function main(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    console.log(USAGE);
    return 0;
  }
  const f = parseFlags(args, {
    port: { type: "string" },
    model: { type: "string" },
    prepared: { type: "string" },
    threshold: { type: "string" },
  });
  const port = numberFlag(f.port, "port", 8000, { min: 0, max: 65535, integer: true });
  const threshold = f.threshold === undefined
    ? undefined
    : numberFlag(f.threshold, "threshold", 0.5, { min: 0, max: 1 });
  if (f.model === "" || f.prepared === "") throw new UsageError("--model/--prepared: empty path");
  const model = typeof f.model === "string"
    ? await resolveModel(normalizePath(f.model), {
      prepared: f.prepared as string | undefined,
      threshold,
    })
    : undefined;
  const ac = new AbortController();
  const stop = () => ac.abort();
  Deno.addSignalListener("SIGINT", stop);
  try {
    const { url, server } = await startServer({ port, model, signal: ac.signal });
    console.log(
      model === undefined
        ? `serve: ${url} (no model: pass --model RUN)`
        : `serve: ${url} — ${model.dir}, tiles ${model.meta.tileSizePx} px at scale ` +
          `${model.meta.scale}, threshold ${model.meta.threshold}`,
    );
    await server.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await runMain(main, Deno.args));
