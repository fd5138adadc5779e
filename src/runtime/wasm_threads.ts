/**
 * Multi-threaded tfjs-backend-wasm in Deno.
 *
 * tfjs-backend-wasm 4.22 ships a threaded SIMD build (`tfjs-backend-wasm-threaded-simd.wasm`,
 * XNNPACK on a pthread pool) but never picks it outside browsers: the `WASM_HAS_MULTITHREAD_SUPPORT`
 * flag is `false` under Node, and forcing it fails in Deno with `ERR_WORKER_PATH`. Why: the
 * Emscripten glue sees `process` and runs in its Node mode, where pthreads are
 * `node:worker_threads` workers, and tfjs hands it the worker script and the main script as
 * `Blob`s / blob URLs, which `worker_threads` cannot start or `importScripts` from a file read.
 *
 * The route taken here: while `tf.setBackend("wasm")` initialises, `Blob` and
 * `URL.createObjectURL` are wrapped so that those two scripts are written to real files in the
 * temp directory (named by content hash, reused across runs) and the worker loads the main script
 * from its file. Deno's `worker_threads` runs the CommonJS worker, and shares the
 * `WebAssembly.Memory` (SharedArrayBuffer) and `WebAssembly.Module` with it. Everything is put
 * back once the backend is up (the Emscripten glue also sets `globalThis.Worker` to
 * `worker_threads.Worker`; it creates its 8 pthread workers during initialisation, so the original
 * `Worker` is restored afterwards).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";

/** Emscripten pre-creates this many pthread workers; more threads would need workers later. */
export const MAX_WASM_THREADS = 8;

/** Prefix of the pthread worker script that tfjs puts in a Blob. */
const WORKER_PREFIX = '"use strict";var Module={};';
/** Prefix of the main script (the threaded Emscripten factory) that tfjs puts in a Blob. */
const MAIN_PREFIX = "var WasmBackendModuleThreadedSimd = ";
/**
 * The worker sets Node-style globals with `Object.assign(global, {self, location, …})`; in a Deno
 * worker some of them (`location`) are getters only, so each is defined on its own and the ones
 * that cannot be replaced are kept.
 */
const WORKER_ASSIGN = "Object.assign(global,";
const WORKER_PRELUDE = "function vesselSegAssign(t,s){for(const k of Object.keys(s)){" +
  "try{Object.defineProperty(t,k,{value:s[k],writable:true,configurable:true})}catch(_){}}}\n";
/**
 * The factory's source refers to names of the tfjs bundle's scope (rollup's `require$$n`,
 * `commonjsGlobal`); the worker evaluates it in its global scope, where `require` is global.
 */
const MAIN_PRELUDE = 'var require$$0=require("fs"),require$$1=require("path"),' +
  'require$$3=require("perf_hooks"),require$$4=require("os"),commonjsGlobal=globalThis,' +
  "_scriptDir;\n";
/** How the worker loads the main script from a Blob; replaced by a file read. */
const WORKER_BLOB_LOAD =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';

/** Writes `text` to `<tmp>/vessel-seg-wasm/<hash><ext>` (atomically, once) and returns the path. */
function scriptFile(text: string, ext: string): string {
  const dir = join(tmpdir(), "vessel-seg-wasm");
  mkdirSync(dir, { recursive: true });
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 16);
  const path = join(dir, `${hash}${ext}`);
  // pid alone is not unique: test files run in parallel as threads of one process.
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  return path;
}

/** A stand-in for the main-script Blob: a plain, cloneable object the patched worker reads. */
interface MainScriptRef {
  vesselSegMainScript: string;
}

/** Minimal view of the Emscripten module's pthread bookkeeping. */
interface PThreadLike {
  runningWorkers: { unref?: () => void }[];
  unusedWorkers: { unref?: () => void }[];
}

/**
 * Emscripten's Node mode `ref()`s a worker while it runs a pthread, and XNNPACK's pool threads run
 * for the life of the process, so the process would never exit on its own; unref them all.
 */
function unrefWorkers(): void {
  const be = tf.findBackend("wasm") as unknown as { wasm?: { PThread?: PThreadLike } } | null;
  const p = be?.wasm?.PThread;
  if (p === undefined) return;
  for (const w of [...p.runningWorkers, ...p.unusedWorkers]) w.unref?.();
}

/**
 * Runs `init` (which must call `tf.setBackend("wasm")`) with the threaded SIMD wasm build enabled
 * and `threads` XNNPACK threads, patching the globals described in the module doc for its
 * duration only. Returns `init`'s result.
 *
 * Throws when the worker script tfjs produces is not the one this patch knows (another tfjs
 * version); the caller falls back to the single-threaded build.
 *
 * @example
 * ```ts ignore
 * const ok = await withThreadedWasm(2, () => tf.setBackend("wasm"));
 * ```
 */
export async function withThreadedWasm<T>(threads: number, init: () => Promise<T>): Promise<T> {
  if (!Number.isInteger(threads) || threads < 2 || threads > MAX_WASM_THREADS) {
    throw new RangeError(
      `threads: expected an integer in 2..${MAX_WASM_THREADS}, found ${threads}`,
    );
  }
  const g = globalThis as unknown as {
    Blob: typeof Blob;
    Worker: unknown;
  };
  const OrigBlob = g.Blob;
  const origWorker = g.Worker;
  const origCreate = URL.createObjectURL;
  let mainPath: string | undefined;
  let patchError: Error | undefined;
  const workerTexts = new WeakMap<object, string>();

  // A constructor returning an object replaces `this`: the main script becomes a cloneable ref.
  const PatchedBlob = function (parts?: BlobPart[], options?: BlobPropertyBag): object {
    const text = parts?.length === 1 && typeof parts[0] === "string" ? parts[0] : undefined;
    if (text?.startsWith(MAIN_PREFIX)) {
      mainPath = scriptFile(MAIN_PRELUDE + text, ".js");
      const ref: MainScriptRef = { vesselSegMainScript: mainPath };
      return ref;
    }
    const blob = new OrigBlob(parts, options);
    if (text?.startsWith(WORKER_PREFIX)) workerTexts.set(blob, text);
    return blob;
  } as unknown as typeof Blob;
  // `instanceof Blob` keeps working for real Blobs made while the patch is on.
  Object.defineProperty(PatchedBlob, "prototype", { value: OrigBlob.prototype });

  URL.createObjectURL = (obj: Blob): string => {
    const text = workerTexts.get(obj);
    if (text === undefined) return origCreate(obj);
    if (!text.includes(WORKER_BLOB_LOAD) || !text.includes(WORKER_ASSIGN)) {
      patchError = new Error("unknown tfjs-backend-wasm worker script (not 4.22?)");
      throw patchError;
    }
    const src = WORKER_PRELUDE + text
      .replace(WORKER_BLOB_LOAD, "importScripts(e.data.urlOrBlob.vesselSegMainScript);")
      .replace(WORKER_ASSIGN, "vesselSegAssign(global,");
    return scriptFile(src, ".cjs");
  };
  g.Blob = PatchedBlob;
  const env = tf.env();
  const flagBefore = env.getFlags()["WASM_HAS_MULTITHREAD_SUPPORT"];
  env.set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  setThreadsCount(threads);
  // The C side caps the pool at emscripten_num_logical_cores() / 2 (it assumes two hyperthreads
  // per core), read once while the module instantiates; under Node that is `os.cpus().length`.
  // Report 2·threads logical cores for that moment so that `threads` is not capped to 1 on a
  // 2-core machine.
  const origCpus = os.cpus;
  const cpus = origCpus();
  os.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cpus[i % Math.max(cpus.length, 1)]);
  try {
    const result = await init();
    if (patchError !== undefined) throw patchError;
    if (mainPath === undefined) {
      throw new Error("tfjs-backend-wasm did not load its threaded build");
    }
    unrefWorkers();
    return result;
  } finally {
    os.cpus = origCpus;
    g.Blob = OrigBlob;
    URL.createObjectURL = origCreate;
    g.Worker = origWorker;
    if (flagBefore === undefined) env.set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    else env.set("WASM_HAS_MULTITHREAD_SUPPORT", flagBefore);
  }
}
