/**
 * The server behind `deno task serve`: the browser page (`web/`) and a trained model, served on
 * loopback only.
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
 * A run resolves to its best checkpoint when training kept one, else its latest
 * (`src/model/artifact.ts`). The tile size, scale, statistics and threshold come from the
 * checkpoint's inference metadata (older checkpoints: the prepared manifest their config names,
 * or `prepared` when it has moved).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError, ResourceError } from "../errors.ts";
import { exists } from "../io.ts";
import { describeArtifact, describeProvenance } from "../model/artifact.ts";
import type { ModelMeta } from "./model_meta.ts";

export type { ModelMeta };

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const WEB = join(ROOT, "web");

/** Browser bundles of tfjs, served under `/vendor/`. */
export const VENDOR_FILES: Record<string, string> = {
  "tf.min.js": join(ROOT, "node_modules/@tensorflow/tfjs/dist/tf.min.js"),
  "tf-backend-webgpu.min.js": join(
    ROOT,
    "node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js",
  ),
};

/** A checkpoint ready to serve. */
export interface ServedModel {
  /** The checkpoint folder. */
  dir: string;
  meta: ModelMeta;
  /** Files the browser may fetch under `/model/`: `model.json` and its weight files. */
  files: string[];
}

/**
 * Resolves a run or checkpoint folder (`src/model/artifact.ts`) and makes the page's
 * {@linkcode ModelMeta} from the checkpoint's inference metadata.
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
  const a = await describeArtifact(path, { prepared: opts.prepared });
  const { inference } = a;
  const meta: ModelMeta = {
    tileSizePx: inference.tileSizePx,
    scale: inference.scale,
    depth: a.config.model.depth,
    ...(inference.normalize ? { normalize: inference.normalize } : {}),
    threshold: opts.threshold ?? inference.threshold,
    checkpoint: a.dir,
    epoch: a.epoch,
    trainedOn: describeProvenance(a),
    synthetic: a.provenance?.synthetic ?? null,
  };
  return { dir: a.dir, meta, files: ["model.json", ...a.weightFiles] };
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
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      {
        hostname: "127.0.0.1",
        port: opts.port,
        signal: opts.signal,
        onListen: (addr) => listening.resolve(addr),
      },
      handler,
    );
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new ResourceError(
        `port ${opts.port} on 127.0.0.1 is in use; choose another --port (0 = any free one)`,
      );
    }
    throw e;
  }
  const addr = await listening.promise;
  return { url: `http://127.0.0.1:${addr.port}/`, server };
}
