/**
 * `deno task predict`'s work: a trained model applied to image files, one tile at a time.
 *
 * Outputs in `out` (every file written atomically, so an interrupted run leaves only complete
 * files):
 * - `masks/{id}.png` — 8-bit grey, 255 where the probability is above the threshold, else 0;
 * - `prob/{id}.png` — 8-bit grey, `round(255 · probability)`;
 * - with `submission`: the competition CSV (`./submission.ts`), written once all tiles are done;
 * - with `geojson`: `geojson/{id}.geojson`, the vessels as polygons for QuPath (`./vectors.ts`);
 * - with `polygons`: the vessels in the competition's `polygons.jsonl` schema (`./vectors.ts`),
 *   which `deno task prepare` reads as labels;
 * - `provenance.json`: the model(s), their epoch, what they were trained on (synthetic demo data
 *   or not, the prepared set, its split) and their validation scores, the threshold and TTA.
 *
 * `{id}` is the file name without its extension (`train/0006ff2aa7cd.tif` → `0006ff2aa7cd`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { basename, dirname, extname, join } from "node:path";
import { readImage, type RgbImage } from "../data/image.ts";
import { encodePngAsync } from "../data/png.ts";
import { InputError, UsageError } from "../errors.ts";
import {
  checkNotOverInputs,
  checkOutputFile,
  claimOutput,
  outputFault,
  writeFileAtomic,
  writeJsonAtomic,
  writeTextFileAtomic,
} from "../io.ts";
import { Progress } from "../progress.ts";
import { type BackendChoice, initBackend } from "../runtime/backends.ts";
import { binarize } from "../metrics/binarize.ts";
import {
  type ArtifactInfo,
  describeArtifact,
  describeProvenance,
  loadCheckpointModel,
  type LoadedArtifact,
} from "../model/artifact.ts";
import { extractInstances } from "./instances.ts";
import { predictManyAsync } from "./predict.ts";
import { SUBMISSION_HEADER, submissionLine } from "./submission.ts";
import { DEFAULT_SIMPLIFY_PX, polygonsJsonLine, tileGeoJson, vesselPolygons } from "./vectors.ts";

/** The file in `--out` saying which model(s) made the outputs and what they were trained on. */
export const PROVENANCE_FILE = "provenance.json";

/** File extensions taken from an input folder (case-insensitive). */
export const IMAGE_EXTENSIONS = [".tif", ".tiff", ".png"] as const;

/** Options of {@linkcode predictFiles}. */
export interface PredictFilesOptions {
  /** A run directory (its best, else last checkpoint) or a checkpoint directory; several,
   * comma-separated, make an ensemble that averages their probabilities. */
  model: string;
  /** Image files and/or folders of images. */
  inputs: readonly string[];
  /** Output directory. */
  out: string;
  /** Vessel when probability > threshold. Default: the run's saved threshold. */
  threshold?: number;
  /** Submission: drop components smaller than this (pixels, before dilation). Default 0. */
  minArea?: number;
  /** Default "none". */
  tta?: "none" | "flips";
  /** Submission: square dilation of each instance, pixels. Default 0. */
  dilate?: number;
  /** Path of the submission CSV to write; none when absent. */
  submission?: string;
  /** Also write `geojson/{id}.geojson`. Default false. */
  geojson?: boolean;
  /** Path of a `polygons.jsonl` to write; none when absent. */
  polygons?: string;
  /** Outline simplification tolerance of the GeoJSON and polygons, pixels. Default 0.5. */
  simplify?: number;
  /** Default "auto". */
  backend?: BackendChoice;
  /** Keep the active tfjs backend (tests). Default false. */
  keepBackend?: boolean;
  /** Model-scale windows per forward pass. Default 4. */
  batchSize?: number;
  /** No progress bar and no informational lines. */
  quiet?: boolean;
  /** Human-readable lines. Default: stderr. */
  log?: (line: string) => void;
}

/** What {@linkcode predictFiles} did. */
export interface PredictFilesResult {
  tiles: number;
  /** Instances written to the submission (0 without one). */
  instances: number;
  /** Polygons written to the GeoJSON files and/or `polygons.jsonl` (0 without either). */
  polygons: number;
  /** The checkpoint used, or the ensemble's, comma-separated. */
  checkpoint: string;
  /** The threshold used (the run's, or the one given). */
  threshold: number;
  backend: string;
  out: string;
  submission?: string;
  /** The `polygons.jsonl` written, when asked for. */
  polygonsFile?: string;
}

/**
 * Expands files and folders into `{ id, path }` in a stable order: a folder's image files sorted
 * by name, files as given.
 *
 * @throws {InputError} for a missing path, a folder without images, or two inputs with the same id
 */
export async function resolveInputs(
  inputs: readonly string[],
): Promise<{ id: string; path: string }[]> {
  const out: { id: string; path: string }[] = [];
  const ids = new Map<string, string>();
  const add = (path: string) => {
    const id = basename(path, extname(path));
    const first = ids.get(id);
    if (first !== undefined) {
      throw new InputError(path, undefined, `tile id "${id}" also comes from ${first}`);
    }
    ids.set(id, path);
    out.push({ id, path });
  };
  for (const input of inputs) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(input);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new InputError(input, undefined, "no such file or folder");
      }
      throw e;
    }
    if (!info.isDirectory) {
      add(input);
      continue;
    }
    const names: string[] = [];
    for await (const entry of Deno.readDir(input)) {
      const ext = extname(entry.name).toLowerCase();
      if (entry.isFile && (IMAGE_EXTENSIONS as readonly string[]).includes(ext)) {
        names.push(entry.name);
      }
    }
    if (names.length === 0) {
      throw new InputError(
        input,
        undefined,
        `no ${IMAGE_EXTENSIONS.join("/")} files in this folder`,
      );
    }
    names.sort();
    for (const name of names) add(join(input, name));
  }
  if (out.length === 0) throw new UsageError("--input is required");
  return out;
}

/**
 * Runs the model on every input tile and writes the outputs described in the module doc.
 *
 * @example
 * ```ts ignore
 * import { predictFiles } from "./run.ts";
 * await predictFiles({ model: "out/demo/run", inputs: ["out/demo/data/test"], out: "out/demo/predict", submission: "out/demo/predict/submission.csv" });
 * ```
 */
export async function predictFiles(opts: PredictFilesOptions): Promise<PredictFilesResult> {
  const say = opts.log ?? (opts.quiet ? () => {} : (line: string) => console.error(line));
  const files = { submission: opts.submission, polygons: opts.polygons };
  for (const [flag, path] of Object.entries(files)) {
    if (path !== undefined) await checkOutputFile(path, `--${flag}`);
  }
  const inputs = await resolveInputs(opts.inputs);
  for (const [flag, path] of Object.entries(files)) {
    if (path !== undefined) await checkNotOverInputs(dirname(path), opts.inputs, `--${flag}`);
  }
  // Every input file and the output folder are checked before a backend is chosen.
  const described = await describeEnsemble(opts.model);
  const claim = await claimOutput(opts.out, {
    inputs: [...opts.inputs, ...described.map((d) => d.dir)],
  });
  const members: LoadedArtifact[] = [];
  let backend: string;
  try {
    tf.enableProdMode();
    backend = tf.getBackend();
    if (!opts.keepBackend) backend = (await initBackend(opts.backend ?? "auto", { log: say })).name;
    for (const d of described) members.push({ ...d, model: await loadCheckpointModel(d.dir) });
  } catch (e) {
    members.forEach((m) => m.model.dispose());
    await claim.abandon();
    throw e;
  }
  const loaded = members[0];
  const { inference } = loaded;
  const threshold = opts.threshold ?? inference.threshold;
  for (const m of members) {
    say(
      `model: ${m.dir} (epoch ${m.epoch}; scale ${m.inference.scale}, windows ` +
        `${m.inference.tileSizePx} px, normalise ${
          m.inference.normalize === null ? "none" : "dataset"
        }, tta ${opts.tta ?? "none"})`,
    );
    say(`  ${describeProvenance(m)}`);
  }
  say(
    (members.length > 1 ? `ensemble of ${members.length}: mean probability; ` : "") +
      `threshold ${threshold} (${
        opts.threshold === undefined
          ? members.length > 1 ? "the first model's" : "the run's"
          : "--threshold"
      })`,
  );
  const lines: string[] = [SUBMISSION_HEADER];
  const polygonLines: string[] = [];
  let instances = 0, polygons = 0;
  // PNG writes in flight. Each is caught as it is queued (a write failing while the next group
  // is in the network must not be an unhandled rejection); the first failure is rethrown by
  // `flushWrites`, which waits for all of them.
  const writes: Promise<void>[] = [];
  let writeError: { error: unknown } | undefined;
  const queueWrite = (p: Promise<void>) =>
    writes.push(p.catch((error) => {
      writeError ??= { error };
    }));
  const flushWrites = async () => {
    await Promise.all(writes.splice(0));
    if (writeError !== undefined) throw writeError.error;
  };
  const vectors = opts.geojson === true || opts.polygons !== undefined;
  // Outputs go to a staging folder inside --out and are moved into place only once every tile
  // has been read and predicted: a bad tile among good ones leaves no new file behind.
  const stage = join(opts.out, `.predict-${Deno.pid}`);
  try {
    await Deno.mkdir(join(stage, "masks"), { recursive: true });
    await Deno.mkdir(join(stage, "prob"), { recursive: true });
    if (opts.geojson) await Deno.mkdir(join(stage, "geojson"), { recursive: true });
    const progress = new Progress("predict", inputs.length, { unit: "tiles", quiet: opts.quiet });
    // Tiles go through the network `batchSize` at a time (one window each at scale 0.25).
    const group = Math.max(1, opts.batchSize ?? 4);
    for (let g = 0; g < inputs.length; g += group) {
      const batch = inputs.slice(g, g + group);
      const images: RgbImage[] = [];
      for (const { path } of batch) images.push(await readImage(path));
      const probs = await ensembleProbabilities(members, images, opts);
      await flushWrites(); // the previous group's files
      for (let k = 0; k < batch.length; k++) {
        const { id } = batch[k];
        const { width, height } = images[k];
        const prob = probs[k];
        const maskU8 = binarize(prob, threshold, new Uint8Array(width * height), 255);
        const probU8 = new Uint8Array(width * height);
        for (let i = 0; i < prob.length; i++) {
          probU8[i] = Math.round(Math.min(1, Math.max(0, prob[i])) * 255);
        }
        // Compressed on libuv's threads while the next group runs through the network; 0/255
        // masks need no row filters, the smooth probabilities take "up" (a fifth of the work).
        const png = (sub: string, pixels: Uint8Array, filter: "none" | "up") =>
          encodePngAsync(pixels, width, height, 1, { filter }).then((bytes) =>
            writeFileAtomic(join(stage, sub, `${id}.png`), bytes)
          );
        queueWrite(png("masks", maskU8, "none"));
        queueWrite(png("prob", probU8, "up"));
        if (opts.submission !== undefined) {
          const found = extractInstances(prob, width, height, {
            threshold,
            minArea: opts.minArea ?? 0,
            dilate: opts.dilate ?? 0,
          });
          instances += found.length;
          lines.push(submissionLine(id, width, height, found));
        }
        if (vectors) {
          const vessels = vesselPolygons(prob, width, height, {
            threshold,
            minArea: opts.minArea ?? 0,
            simplifyPx: opts.simplify ?? DEFAULT_SIMPLIFY_PX,
          });
          polygons += vessels.length;
          if (opts.geojson) {
            await writeTextFileAtomic(
              join(stage, "geojson", `${id}.geojson`),
              JSON.stringify(tileGeoJson(vessels)) + "\n",
            );
          }
          if (opts.polygons !== undefined) polygonLines.push(polygonsJsonLine(id, vessels));
        }
        progress.tick();
      }
    }
    await flushWrites();
    progress.done();
    const moves: [string, string][] = [["masks", ".png"], ["prob", ".png"]];
    if (opts.geojson) moves.push(["geojson", ".geojson"]);
    for (const [sub, ext] of moves) {
      await Deno.mkdir(join(opts.out, sub), { recursive: true });
      for (const { id } of inputs) {
        await Deno.rename(join(stage, sub, `${id}${ext}`), join(opts.out, sub, `${id}${ext}`));
      }
    }
    if (opts.submission !== undefined) {
      await Deno.mkdir(dirname(opts.submission), { recursive: true });
      await writeTextFileAtomic(opts.submission, lines.join("\n") + "\n");
    }
    await writeJsonAtomic(join(opts.out, PROVENANCE_FILE), {
      tool: "vessel-seg predict",
      tiles: inputs.length,
      threshold,
      tta: opts.tta ?? "none",
      models: members.map((m) => ({
        checkpoint: m.dir,
        epoch: m.epoch,
        summary: describeProvenance(m),
        provenance: m.provenance ?? null,
        validation: m.validation ?? null,
      })),
    });
    if (opts.polygons !== undefined) {
      await Deno.mkdir(dirname(opts.polygons), { recursive: true });
      await writeTextFileAtomic(opts.polygons, polygonLines.map((l) => l + "\n").join(""));
    }
    await claim.release();
  } catch (e) {
    await Promise.all(writes); // none rejects: each was caught when queued
    await claim.abandon();
    throw outputFault(e, opts.out);
  } finally {
    members.forEach((m) => m.model.dispose());
    await Deno.remove(stage, { recursive: true }).catch(() => {});
  }
  return {
    tiles: inputs.length,
    instances,
    polygons,
    checkpoint: members.map((m) => m.dir).join(","),
    threshold,
    backend,
    out: opts.out,
    ...(opts.submission === undefined ? {} : { submission: opts.submission }),
    ...(opts.polygons === undefined ? {} : { polygonsFile: opts.polygons }),
  };
}

/**
 * The checkpoints of `--model A[,B,…]`, described (not loaded). Members of an ensemble must share
 * the tile size and the scale they were trained at; each keeps its own normalisation.
 */
export async function describeEnsemble(model: string): Promise<ArtifactInfo[]> {
  const names = model.split(",").map((m) => m.trim());
  if (names.some((m) => m === "")) {
    throw new UsageError(`--model ${model}: an empty name in the list`);
  }
  const out: ArtifactInfo[] = [];
  for (const name of names) out.push(await describeArtifact(name));
  const first = out[0].inference;
  for (const d of out.slice(1)) {
    const i = d.inference;
    if (i.tileSizePx !== first.tileSizePx || i.scale !== first.scale) {
      throw new UsageError(
        `--model: ${d.dir} was trained on ${i.tileSizePx}-px tiles at scale ${i.scale}, ` +
          `${out[0].dir} on ${first.tileSizePx}-px tiles at scale ${first.scale}; an ensemble's ` +
          "models must share both",
      );
    }
  }
  return out;
}

/** Per image, the mean of the members' probability maps (one member: its own maps). */
async function ensembleProbabilities(
  members: LoadedArtifact[],
  images: RgbImage[],
  opts: PredictFilesOptions,
): Promise<Float32Array[]> {
  let sums: Float32Array[] | undefined;
  for (const m of members) {
    const probs = await predictManyAsync(m.model, images, {
      tileSizePx: m.inference.tileSizePx,
      scale: m.inference.scale,
      normalize: m.inference.normalize,
      tta: opts.tta ?? "none",
      batchSize: opts.batchSize,
    });
    if (members.length === 1) return probs;
    if (sums === undefined) sums = probs;
    else {
      sums.forEach((sum, k) => {
        for (let i = 0; i < sum.length; i++) sum[i] += probs[k][i];
      });
    }
  }
  for (const sum of sums!) for (let i = 0; i < sum.length; i++) sum[i] /= members.length;
  return sums!;
}
