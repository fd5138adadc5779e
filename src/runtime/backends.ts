/**
 * Backend selection for training: WebGPU on a hardware adapter, otherwise the fastest CPU backend
 * (tfjs-backend-wasm with this project's kernels, one thread per logical CPU, else the pure-JS
 * cpu backend).
 *
 * Why not WebGPU everywhere: on machines without a GPU, Deno's `navigator.gpu` still offers a
 * software adapter (Mesa llvmpipe, `adapter.info.isFallbackAdapter === true`) that trains about
 * 20× slower than wasm (bench/README.md, "Training step"). Why not the stock kernels: tfjs-backend-wasm 4.22 has no
 * `Conv2DBackpropFilter`, the webgpu one silently truncates on Mesa once N·H·W ≥ 65 536, and the
 * cpu one reads element by element through `TensorBuffer.get`. See `./kernels/mod.ts`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { registerProjectKernels, restoreStockKernels } from "./kernels/mod.ts";
import { startWasmOpsHelper } from "./kernels/wasm_ops.ts";
import { type ChoiceFlag, flag } from "../cli.ts";
import { ResourceError } from "../errors.ts";
import { MAX_WASM_THREADS, withThreadedWasm } from "./wasm_threads.ts";

/** What the user asks for (`--backend`). */
export type BackendChoice = "auto" | "webgpu" | "wasm" | "cpu";
/** A tfjs backend this project trains on. */
export type BackendName = "webgpu" | "wasm" | "cpu";

/** The backend chosen by {@linkcode initBackend} and why. */
export interface BackendInfo {
  /** The active tfjs backend. */
  name: BackendName;
  /** One line saying why this backend was chosen. */
  reason: string;
  /** The WebGPU adapter's description (vendor/architecture/device/description), when one exists. */
  adapter?: string;
}

/** Options of {@linkcode initBackend}. */
export interface InitBackendOptions {
  /** Receives the adapter line and the choice line; default: nothing is printed. */
  log?: (line: string) => void;
  /**
   * Keep tfjs's stock kernels instead of this project's replacements (benchmark baseline only;
   * the stock kernels are wrong or missing, see the module doc). Default `false`.
   */
  stockKernels?: boolean;
  /**
   * The WebGPU entry point to probe; default `navigator.gpu`. `null` means "no WebGPU" (tests of
   * the fallback path).
   */
  gpu?: Pick<GPU, "requestAdapter"> | null;
  /**
   * Threads for the wasm backend: `1` is the single-threaded SIMD build, ≥ 2 the threaded SIMD
   * build (XNNPACK on `worker_threads`, see `./wasm_threads.ts`, plus this project's helper
   * thread, see `./kernels/wasm_ops_helper.ts`). Default: the environment variable
   * `VESSEL_SEG_WASM_THREADS` if set, else {@linkcode defaultWasmThreads} (one per logical CPU).
   * Set 1 on a machine busy with other work: there the threads compete for the same cores. The
   * wasm module is built once per process, so only the first wasm initialisation decides.
   */
  wasmThreads?: number;
}

/** Every backend choice, for flag parsing. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "webgpu", "wasm", "cpu"];

/** The `--backend` flag of the tasks that run the model. */
export const BACKEND_FLAG: ChoiceFlag<BackendChoice> & { default: BackendChoice } = flag.choice(
  BACKEND_CHOICES,
  {
    default: "auto",
    help: "tfjs backend: auto = hardware WebGPU, else the fastest CPU backend",
  },
);

interface AdapterProbe {
  /** `null` when `navigator.gpu` is missing or `requestAdapter()` gives none. */
  adapter: GPUAdapter | null;
  /** Adapter description, or why there is none. */
  text: string;
  /** Software adapter (Mesa llvmpipe, SwiftShader, WARP…). */
  fallback: boolean;
}

/** Describes a WebGPU adapter in one line: description, vendor, architecture, device. */
export function describeAdapter(info: GPUAdapterInfo): string {
  const parts = [
    info.description || "(no description)",
    `vendor ${info.vendor || "?"}`,
    `architecture ${info.architecture || "?"}`,
    `device ${info.device || "?"}`,
  ];
  // isFallbackAdapter is in the current WebGPU spec; older type definitions lack it.
  if ((info as { isFallbackAdapter?: boolean }).isFallbackAdapter) parts.push("software fallback");
  return parts.join(", ");
}

async function probeAdapter(
  gpu: Pick<GPU, "requestAdapter"> | null | undefined,
): Promise<AdapterProbe> {
  if (gpu === undefined || gpu === null) {
    return { adapter: null, text: "navigator.gpu is missing", fallback: false };
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (err) {
    return { adapter: null, text: `requestAdapter() failed: ${String(err)}`, fallback: false };
  }
  if (adapter === null) {
    return { adapter: null, text: "requestAdapter() gave no adapter", fallback: false };
  }
  const info = adapter.info;
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    /llvmpipe|lavapipe|softpipe|swiftshader|\bwarp\b/i.test(info.description ?? "");
  return { adapter, text: describeAdapter(info), fallback };
}

let wasmPathsSet = false;
/** Why the threaded build was not used, when it was asked for and failed. */
let wasmThreadsFailure: string | undefined;

/** Points tfjs-backend-wasm at its `.wasm` binaries in node_modules (a file URL works in Deno). */
function configureWasm(): void {
  if (wasmPathsSet) return;
  const dir = new URL(
    import.meta.resolve("@tensorflow/tfjs-backend-wasm").replace(/[^/]*$/, ""),
  );
  // Single-threaded unless withThreadedWasm turns it on for the initialisation.
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  // usePlatformFetch: Deno's fetch reads file:// URLs.
  setWasmPaths(dir.href, true);
  wasmPathsSet = true;
}

/**
 * The wasm thread count asked for: `wasmThreads`, else `VESSEL_SEG_WASM_THREADS`, else
 * {@linkcode defaultWasmThreads} (see
 * {@linkcode InitBackendOptions.wasmThreads}); an integer in 1..{@linkcode MAX_WASM_THREADS}.
 *
 * @example
 * ```ts
 * import { wantedWasmThreads } from "./backends.ts";
 * console.assert(wantedWasmThreads(2) === 2);
 * ```
 */
export function wantedWasmThreads(wasmThreads?: number): number {
  let n = wasmThreads;
  let from = "wasmThreads";
  if (n === undefined) {
    const raw = Deno.env.get("VESSEL_SEG_WASM_THREADS");
    if (raw !== undefined && raw !== "") {
      n = Number(raw);
      from = "VESSEL_SEG_WASM_THREADS";
    }
  }
  if (n === undefined) return defaultWasmThreads();
  if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
    throw new RangeError(`${from}: expected an integer in 1..${MAX_WASM_THREADS}, found ${n}`);
  }
  return n;
}

/**
 * One thread per logical CPU (`navigator.hardwareConcurrency`), at most
 * {@linkcode MAX_WASM_THREADS}: on an idle 2-core machine the threaded build with this project's
 * helper thread trains ≈ 1.8× faster than one thread (bench/README.md, "Training step").
 */
export function defaultWasmThreads(): number {
  const cpus = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)
    ?.hardwareConcurrency;
  return Number.isInteger(cpus) && cpus! >= 1 ? Math.min(cpus!, MAX_WASM_THREADS) : 1;
}

/** Initialises the wasm backend: the threaded build when `threads` ≥ 2 and it starts, else SIMD. */
async function setWasmBackend(threads: number): Promise<boolean> {
  configureWasm();
  if (threads >= 2 && tf.findBackend("wasm") === null) {
    try {
      return await withThreadedWasm(threads, () => tf.setBackend("wasm"));
    } catch (err) {
      wasmThreadsFailure = `threaded build failed: ${(err as Error).message ?? String(err)}`;
    }
  }
  return await tf.setBackend("wasm");
}

/** What {@linkcode guardWasmMalloc} uses of tfjs-backend-wasm's Emscripten module. */
interface WasmModuleLike {
  _malloc?: (bytes: number) => number;
  _free?: (p: number) => void;
  HEAPU8?: Uint8Array;
  asm?: { memory?: WebAssembly.Memory };
  wasmMemory?: WebAssembly.Memory;
  vesselSegMallocGuard?: true;
}

/**
 * Makes tfjs-backend-wasm's tensor allocations fail loudly: its `BackendWasm.move` does not check
 * `_malloc`'s result, and near the wasm32 limit (4 GiB) the allocator returns 0, or a block that
 * runs past the end of the heap (the address wraps around 2³²). Either way a tensor then
 * overwrites other data and the run crashes later with "memory access out of bounds", or hangs
 * in the threaded build. The guard throws a {@linkcode ResourceError} at the allocation instead,
 * saying what to change.
 */
export function guardWasmMalloc(backend: unknown): void {
  const wasm = (backend as { wasm?: WasmModuleLike }).wasm;
  if (wasm?._malloc === undefined || wasm.vesselSegMallocGuard) return;
  // Emscripten binds `_malloc` lazily: its first call replaces Module._malloc with the real
  // export, which would drop a guard installed before. Bind it first.
  wasm._free?.(wasm._malloc(16));
  const malloc = wasm._malloc;
  wasm._malloc = (bytes: number): number => {
    const p = malloc(bytes) >>> 0;
    const heapBytes = (wasm.asm?.memory ?? wasm.wasmMemory)?.buffer.byteLength ??
      wasm.HEAPU8?.length ?? Infinity;
    if (bytes > 0 && (p === 0 || p + bytes > heapBytes)) {
      const heapMiB = Math.round(heapBytes / 2 ** 20);
      throw new ResourceError(
        `the wasm heap is full (${heapMiB} MiB in use, 4096 at most; ${
          Math.ceil(bytes / 2 ** 20)
        } MiB more asked for): use a smaller --micro-batch or --memory-budget, tile size or --base-filters (or --preset small)`,
      );
    }
    return p;
  };
  wasm.vesselSegMallocGuard = true;
}

/** "SIMD, 2 threads" / "SIMD, 1 thread" / "no SIMD, 1 thread" for the active wasm backend. */
async function wasmFlavour(): Promise<string> {
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  let threads = 1;
  try {
    threads = getThreadsCount();
  } catch {
    // not initialised: keep 1
  }
  const t = threads === 1 ? "1 thread" : `${threads} threads`;
  const note = wasmThreadsFailure === undefined ? "" : ` (${wasmThreadsFailure})`;
  return `${simd ? "SIMD" : "no SIMD"}, ${t}${note}`;
}

/** Why the last activation failed (tfjs's own message), for the error line. */
let lastActivationError = "";

async function activate(
  name: BackendName,
  stockKernels: boolean,
  wasmThreads: number,
): Promise<boolean> {
  let ok = false;
  try {
    ok = name === "wasm" ? await setWasmBackend(wasmThreads) : await tf.setBackend(name);
    if (ok) await tf.ready();
  } catch (e) {
    lastActivationError = e instanceof Error ? e.message.replace(/\s+/g, " ") : String(e);
    ok = false;
  }
  if (!ok) return false;
  if (stockKernels) restoreStockKernels(name);
  else registerProjectKernels(name);
  // The threaded build's shared heap lets this project's wasm kernels use a second thread too.
  if (name === "wasm" && !stockKernels) await startWasmOpsHelper(tf.backend());
  if (name === "wasm") guardWasmMalloc(tf.backend());
  return true;
}

/**
 * Chooses, initialises and activates the tfjs backend for training, registering this project's
 * kernels for it (see `./kernels/mod.ts`).
 *
 * `auto`: webgpu when `navigator.gpu` gives a hardware adapter; otherwise wasm (SIMD, one
 * thread per logical CPU unless `wasmThreads` / `VESSEL_SEG_WASM_THREADS` says otherwise) when it
 * initialises, else cpu. An explicit choice that cannot initialise is an
 * error.
 *
 * @example
 * ```ts ignore
 * import { initBackend } from "./backends.ts";
 * const b = await initBackend("auto", { log: console.log });
 * // "backend: wasm (no hardware GPU: the adapter is a software fallback, slower than wasm; …)"
 * ```
 */
export async function initBackend(
  choice: BackendChoice,
  opts: InitBackendOptions = {},
): Promise<BackendInfo> {
  const log = opts.log ?? (() => {});
  const stock = opts.stockKernels ?? false;
  const threads = wantedWasmThreads(opts.wasmThreads);
  const probe = choice === "auto" || choice === "webgpu"
    ? await probeAdapter(
      opts.gpu === undefined ? (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu : opts.gpu,
    )
    : undefined;
  if (probe !== undefined) log(`webgpu adapter: ${probe.text}`);
  const adapter = probe?.adapter ? probe.text : undefined;
  const done = (name: BackendName, reason: string): BackendInfo => {
    log(`backend: ${name} (${reason})`);
    return adapter === undefined ? { name, reason } : { name, reason, adapter };
  };

  if (choice !== "auto") {
    if (choice === "webgpu" && probe?.adapter === null) {
      throw new Error(`Cannot use backend webgpu: ${probe.text}`);
    }
    if (!(await activate(choice, stock, threads))) {
      throw new Error(
        `Cannot use backend ${choice}: tf.setBackend("${choice}") failed` +
          (lastActivationError ? ` (${lastActivationError})` : ""),
      );
    }
    const note = choice === "webgpu" && probe?.fallback
      ? "requested; the adapter is a software fallback and is slow"
      : choice === "wasm"
      ? `requested; ${await wasmFlavour()}`
      : "requested";
    return done(choice, note);
  }

  // auto
  const p = probe as AdapterProbe;
  let why: string;
  if (p.adapter !== null && !p.fallback) {
    if (await activate("webgpu", stock, threads)) return done("webgpu", "hardware GPU adapter");
    why = "webgpu failed to initialise";
  } else if (p.adapter !== null) {
    why = "no hardware GPU: the adapter is a software fallback, slower than wasm";
  } else {
    why = `no WebGPU adapter: ${p.text}`;
  }
  if (await activate("wasm", stock, threads)) {
    return done("wasm", `${why}; wasm (${await wasmFlavour()}) is the fastest CPU backend`);
  }
  if (await activate("cpu", stock, threads)) {
    return done("cpu", `${why}; wasm failed to initialise`);
  }
  throw new Error(`No tfjs backend could be initialised (${why}; wasm and cpu failed)`);
}
