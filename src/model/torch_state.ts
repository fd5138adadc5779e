/**
 * This project's U-Net as a PyTorch `state_dict` and back: the parameter names, layouts and the
 * checkpoint file of milesial/Pytorch-UNet, so `UNet(n_channels=3, n_classes=1)` (its current
 * layout: `bilinear=False`, 3×3 convolutions without bias, each followed by `BatchNorm2d`) loads
 * an exported model with `load_state_dict(torch.load(FILE))`, and its checkpoints train on here.
 *
 * Names (depth 4 is milesial's; other depths continue the pattern):
 *
 * | this project's layer | `state_dict` key |
 * |---|---|
 * | `enc0_conv{1,2}`, `enc0_bn{1,2}` | `inc.double_conv.{0,3}.weight`, `inc.double_conv.{1,4}.*` |
 * | `down{k}_…` | `down{k}.maxpool_conv.1.double_conv.…` |
 * | `up{k}_tconv` | `up{depth−k}.up.weight`, `.bias` |
 * | `up{k}_conv…`, `up{k}_bn…` | `up{depth−k}.conv.double_conv.…` |
 * | `out_conv` | `outc.conv.weight`, `.bias` |
 *
 * Batch norm: `gamma`, `beta`, `moving_mean`, `moving_variance` ↔ `weight`, `bias`,
 * `running_mean`, `running_var`, plus `num_batches_tracked` (int64; exported as the run's
 * optimizer steps, ignored on import). Kernels: tfjs `Conv2D` `[kh, kw, in, out]` ↔ torch
 * `[out, in, kh, kw]`; tfjs `Conv2DTranspose` `[kh, kw, out, in]` ↔ torch `ConvTranspose2d`
 * `[in, out, kh, kw]` (both are the transposed convolution without a flip). A torch checkpoint with
 * a bias on a 3×3 convolution (milesial's layout before 2023) is imported by moving the bias into
 * the batch norm that follows: `BN(x + b)` with running mean `μ` is `BN(x)` with `μ − b`, and in
 * training mode the batch mean absorbs `b` anyway.
 *
 * The file is PyTorch's ZIP format (`torch.save` since 1.6): `archive/data.pkl` pickles an
 * `OrderedDict` of tensors rebuilt by `torch._utils._rebuild_tensor_v2` from storages
 * `archive/data/{k}` (little-endian, contiguous), `archive/version` = `3`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../errors.ts";
import { isGlobal, PickleWriter, type PyObject, unpickle } from "../interop/pickle.ts";
import { readZip, writeZip } from "../interop/zip.ts";
import type { UNetConfig } from "./unet.ts";

/** A tensor of a `state_dict`. */
export interface TorchTensor {
  dtype: "float32" | "int64";
  shape: number[];
  /** Contiguous, row-major. */
  data: Float32Array | BigInt64Array;
}

/** One entry of the name mapping: a torch key and where its values live here. */
interface KeyMap {
  key: string;
  /** The tfjs layer and the weight's short name (`kernel`, `gamma`, …); none: a counter. */
  layer?: string;
  weight?: string;
  kind: "conv" | "tconv" | "vector" | "count";
}

const BN_NAMES: [string, string][] = [
  ["weight", "gamma"],
  ["bias", "beta"],
  ["running_mean", "moving_mean"],
  ["running_var", "moving_variance"],
];

/** The keys of milesial's `state_dict` for `cfg`, in its module order. */
export function stateDictKeys(cfg: Pick<UNetConfig, "depth" | "batchNorm">): KeyMap[] {
  if (!cfg.batchNorm) {
    throw new RangeError(
      "milesial's U-Net has batch norm after every 3×3 convolution; this model was trained " +
        "with --no-batch-norm",
    );
  }
  const out: KeyMap[] = [];
  const doubleConv = (prefix: string, ours: string) => {
    for (const [k, seq] of [[1, 0], [2, 3]] as const) {
      out.push({
        key: `${prefix}.${seq}.weight`,
        layer: `${ours}_conv${k}`,
        weight: "kernel",
        kind: "conv",
      });
      for (const [t, f] of BN_NAMES) {
        out.push({
          key: `${prefix}.${seq + 1}.${t}`,
          layer: `${ours}_bn${k}`,
          weight: f,
          kind: "vector",
        });
      }
      out.push({ key: `${prefix}.${seq + 1}.num_batches_tracked`, kind: "count" });
    }
  };
  doubleConv("inc.double_conv", "enc0");
  for (let k = 1; k <= cfg.depth; k++) {
    doubleConv(`down${k}.maxpool_conv.1.double_conv`, `down${k}`);
  }
  for (let m = 1; m <= cfg.depth; m++) {
    const k = cfg.depth - m;
    out.push({ key: `up${m}.up.weight`, layer: `up${k}_tconv`, weight: "kernel", kind: "tconv" });
    out.push({ key: `up${m}.up.bias`, layer: `up${k}_tconv`, weight: "bias", kind: "vector" });
    doubleConv(`up${m}.conv.double_conv`, `up${k}`);
  }
  out.push({ key: "outc.conv.weight", layer: "out_conv", weight: "kernel", kind: "conv" });
  out.push({ key: "outc.conv.bias", layer: "out_conv", weight: "bias", kind: "vector" });
  return out;
}

function weightOf(model: tf.LayersModel, layer: string, weight: string): tf.LayerVariable {
  // originalName: tfjs suffixes variable names (`_1`) when a process builds a second model
  const w = model.getLayer(layer).weights.find((v) => v.originalName.split("/").pop() === weight);
  if (w === undefined) throw new RangeError(`layer ${layer} has no weight ${weight}`);
  return w;
}

/** `[a, b, c, d]` row-major → the axes in `order` (a permutation of 0..3). */
function permute4(src: Float32Array, shape: number[], order: number[]): Float32Array {
  const out = new Float32Array(src.length);
  const dims = order.map((o) => shape[o]);
  const strides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const s = order.map((o) => strides[o]);
  let i = 0;
  for (let a = 0; a < dims[0]; a++) {
    for (let b = 0; b < dims[1]; b++) {
      for (let c = 0; c < dims[2]; c++) {
        for (let d = 0; d < dims[3]; d++) out[i++] = src[a * s[0] + b * s[1] + c * s[2] + d * s[3]];
      }
    }
  }
  return out;
}

/**
 * The model's `state_dict` in milesial's names and layouts (see the module doc).
 *
 * @param batchesTracked the value of every `num_batches_tracked` (the run's optimizer steps)
 */
export function unetStateDict(
  model: tf.LayersModel,
  cfg: Pick<UNetConfig, "depth" | "batchNorm">,
  batchesTracked: number,
): [string, TorchTensor][] {
  return stateDictKeys(cfg).map((m): [string, TorchTensor] => {
    if (m.kind === "count") {
      return [m.key, { dtype: "int64", shape: [], data: BigInt64Array.of(BigInt(batchesTracked)) }];
    }
    const w = weightOf(model, m.layer!, m.weight!);
    const shape = w.shape as number[];
    const values = w.read().dataSync() as Float32Array;
    if (m.kind === "vector") return [m.key, { dtype: "float32", shape, data: values.slice() }];
    // conv [kh, kw, in, out] → [out, in, kh, kw]; tconv [kh, kw, out, in] → [in, out, kh, kw]
    const order = [3, 2, 0, 1];
    return [m.key, {
      dtype: "float32",
      shape: order.map((o) => shape[o]),
      data: permute4(values, shape, order),
    }];
  });
}

/**
 * A `state_dict` as the bytes of a PyTorch checkpoint file (what `torch.save` writes).
 *
 * @example
 * ```ts
 * import { decodePth, encodePth } from "./torch_state.ts";
 * const bytes = encodePth([["w", { dtype: "float32", shape: [2], data: Float32Array.of(1, 2) }]]);
 * console.assert(decodePth(bytes, "x.pth").get("w")!.data[1] === 2);
 * ```
 */
export function encodePth(entries: readonly [string, TorchTensor][]): Uint8Array {
  const p = new PickleWriter().proto();
  p.global("collections", "OrderedDict").tuple(true).reduce().mark();
  const files = entries.map(([key, t], i) => {
    const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    p.str(key);
    p.global("torch._utils", "_rebuild_tensor_v2").mark();
    // persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
    p.mark().str("storage").global("torch", t.dtype === "float32" ? "FloatStorage" : "LongStorage")
      .str(String(i)).str("cpu").int(t.data.length).tuple().persid();
    p.int(0).ints(t.shape).ints(strides).bool(false);
    p.global("collections", "OrderedDict").tuple(true).reduce();
    p.tuple().reduce();
    return {
      name: `archive/data/${i}`,
      data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    };
  });
  p.setitems();
  const enc = new TextEncoder();
  return writeZip([
    { name: "archive/data.pkl", data: p.stop() },
    { name: "archive/byteorder", data: enc.encode("little") },
    ...files,
    { name: "archive/version", data: enc.encode("3\n") },
  ]);
}

const STORAGE_DTYPES: Record<string, { dtype: "float32" | "int64" | "float64"; bytes: number }> = {
  "torch.FloatStorage": { dtype: "float32", bytes: 4 },
  "torch.LongStorage": { dtype: "int64", bytes: 8 },
  "torch.DoubleStorage": { dtype: "float64", bytes: 8 },
};

/**
 * The tensors of a PyTorch checkpoint file: a `state_dict`, or a dict holding one under
 * `state_dict`, `model_state_dict` or `model`. Entries that are not tensors (milesial's
 * `mask_values`) are left out; float64 tensors become float32.
 *
 * @throws {InputError} naming the file for anything else: the legacy (pre-1.6) format, a
 *   damaged archive, a storage type other than float32/float64/int64
 */
export function decodePth(bytes: Uint8Array, file: string): Map<string, TorchTensor> {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] === 0x02) {
    throw new InputError(
      file,
      undefined,
      "a PyTorch file in the legacy format (before 1.6); re-save it with torch.save(…) " +
        "from PyTorch ≥ 1.6",
    );
  }
  const zip = readZip(bytes, file);
  const pklName = [...zip.keys()].find((n) => n.endsWith("/data.pkl") && n.split("/").length === 2);
  if (pklName === undefined) {
    throw new InputError(file, undefined, "no data.pkl: not a PyTorch checkpoint");
  }
  const prefix = pklName.slice(0, -"data.pkl".length);
  const bad = (what: string) => new InputError(file, undefined, what);
  const storages = new Map<string, Float32Array | BigInt64Array>();
  const storage = (pid: unknown) => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || !isGlobal(pid[1])) {
      throw bad(`unexpected persistent id ${JSON.stringify(pid)}`);
    }
    const kind = STORAGE_DTYPES[pid[1].global];
    if (kind === undefined) {
      throw bad(`tensor storage ${pid[1].global}: only float32, float64 and int64 are read`);
    }
    const key = String(pid[2]);
    let s = storages.get(key);
    if (s === undefined) {
      const raw = zip.get(`${prefix}data/${key}`);
      if (raw === undefined) throw bad(`storage ${key} is missing from the archive`);
      const copy = raw.slice();
      if (copy.length % kind.bytes !== 0) throw bad(`storage ${key}: ${copy.length} bytes`);
      s = kind.dtype === "float32"
        ? new Float32Array(copy.buffer)
        : kind.dtype === "int64"
        ? new BigInt64Array(copy.buffer)
        : Float32Array.from(new Float64Array(copy.buffer));
      storages.set(key, s);
    }
    return { storage: s, dtype: kind.dtype === "int64" ? "int64" : "float32" };
  };
  const reduce = (callable: string, args: unknown[]): unknown => {
    if (callable === "collections.OrderedDict") return new Map();
    if (callable === "torch._utils._rebuild_parameter") return args[0];
    if (callable !== "torch._utils._rebuild_tensor_v2") return undefined;
    const [st, offset, size, stride] = args as [
      { storage: Float32Array | BigInt64Array; dtype: "float32" | "int64" },
      number,
      number[],
      number[],
    ];
    const n = size.reduce((a, b) => a * b, 1);
    const data = st.dtype === "float32" ? new Float32Array(n) : new BigInt64Array(n);
    // strided gather into row-major order
    const idx = new Array(size.length).fill(0);
    for (let i = 0; i < n; i++) {
      let src = offset;
      for (let d = 0; d < size.length; d++) src += idx[d] * stride[d];
      if (src >= st.storage.length) throw bad("a tensor reaches past its storage");
      data[i] = st.storage[src] as never;
      for (let d = size.length - 1; d >= 0; d--) {
        if (++idx[d] < size[d]) break;
        idx[d] = 0;
      }
    }
    return { dtype: st.dtype, shape: [...size], data } satisfies TorchTensor;
  };
  const root = unpickle(zip.get(pklName)!, file, { reduce, persistentLoad: storage });
  let dict = root;
  for (const k of ["state_dict", "model_state_dict", "model"]) {
    if (dict instanceof Map && dict.get(k) instanceof Map) dict = dict.get(k);
  }
  if (!(dict instanceof Map)) throw bad("the pickle holds no dict of tensors (a state_dict)");
  const out = new Map<string, TorchTensor>();
  for (const [k, v] of dict) {
    if (typeof k === "string" && isTensor(v)) out.set(k, v);
  }
  if (out.size === 0) throw bad("no tensors in the state_dict");
  return out;
}

function isTensor(v: unknown): v is TorchTensor {
  return v !== null && typeof v === "object" && !("reduce" in (v as PyObject)) &&
    "shape" in (v as TorchTensor) && "data" in (v as TorchTensor);
}

/**
 * Loads a `state_dict` in milesial's names into `model` (built with `cfg`). Every key the
 * architecture needs must be there with its shape; a key it does not have is refused, naming it.
 *
 * @throws {InputError} naming `file` and the key
 */
export function loadStateDict(
  model: tf.LayersModel,
  cfg: Pick<UNetConfig, "depth" | "batchNorm" | "baseFilters">,
  dict: Map<string, TorchTensor>,
  file: string,
): void {
  const keys = stateDictKeys(cfg);
  const known = new Set(keys.map((k) => k.key));
  const bad = (what: string) => new InputError(file, undefined, what);
  // conv biases of the pre-2023 layout: folded into the following batch norm's running mean
  const convBias = new Map<string, Float32Array>();
  for (const k of dict.keys()) {
    if (known.has(k)) continue;
    const m = /^(.*\.)(0|3)\.bias$/.exec(k);
    if (m && known.has(`${m[1]}${Number(m[2]) + 1}.running_mean`)) {
      convBias.set(`${m[1]}${Number(m[2]) + 1}.running_mean`, dict.get(k)!.data as Float32Array);
      continue;
    }
    throw bad(
      `unexpected key ${k}: not a parameter of a depth-${cfg.depth} U-Net in milesial's layout`,
    );
  }
  const writes: [tf.LayerVariable, tf.Tensor][] = [];
  try {
    for (const m of keys) {
      const t = dict.get(m.key);
      if (t === undefined && m.kind === "count") continue; // PyTorch < 0.4.1 had no counter
      if (t === undefined) {
        throw bad(
          `missing key ${m.key} (a depth-${cfg.depth} U-Net in milesial's layout needs it)`,
        );
      }
      if (m.kind === "count") continue;
      if (t.dtype !== "float32") throw bad(`${m.key}: ${t.dtype}, expected float`);
      const w = weightOf(model, m.layer!, m.weight!);
      const shape = w.shape as number[];
      let values = t.data as Float32Array;
      let torchShape = shape;
      if (m.kind !== "vector") {
        // torch [a, b, kh, kw] → tfjs [kh, kw, b, a]
        torchShape = [shape[3], shape[2], shape[0], shape[1]];
      }
      if (t.shape.join("×") !== torchShape.join("×")) {
        throw bad(
          `${m.key}: shape ${t.shape.join("×")}, the model (base filters ${cfg.baseFilters}) ` +
            `needs ${torchShape.join("×")}`,
        );
      }
      if (m.kind !== "vector") values = permute4(values, torchShape, [2, 3, 1, 0]);
      const bias = convBias.get(m.key);
      if (bias !== undefined) values = values.map((v, i) => v - bias[i]);
      writes.push([w, tf.tensor(values, shape, "float32")]);
    }
    for (const [w, t] of writes) w.write(t);
  } finally {
    for (const [, t] of writes) t.dispose();
  }
}
