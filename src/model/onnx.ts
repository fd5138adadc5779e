/**
 * This project's U-Net as an ONNX model (onnx.ai, IR version 8, opset 17), written from the
 * trained weights with the protobuf encoder of `src/interop/protobuf.ts`.
 *
 * Input `input`: `[N, 3, H, W]` float32, the tile **exactly as the network sees it in training**:
 * RGB `v/255`, then `(v/255 − mean)/std` per channel when the run normalised (the statistics are
 * in `metadata_props`), at the model's scale, `H` and `W` multiples of `2^depth`. Output `logits`:
 * `[N, 1, H, W]`; a pixel is vessel when `sigmoid(logit) > threshold`.
 *
 * The graph is the U-Net of `./unet.ts` in NCHW: `Conv` (3×3, pads 1) → `BatchNormalization`
 * (inference: running statistics, ε 1e-5) → `Relu`, twice per level; `MaxPool` 2×2;
 * `ConvTranspose` 2×2 stride 2 with bias; `Concat` of skip then upsampled on the channel axis;
 * a final 1×1 `Conv` with bias. Kernels go from tfjs's `[kh, kw, in, out]` to ONNX's
 * `[out, in, kh, kw]` (`ConvTranspose`: `[in, out, kh, kw]`), through `./torch_state.ts`, whose
 * layouts are PyTorch's and therefore ONNX's.
 *
 * `metadata_props` (strings): `vessel_seg.normalize_mean`, `vessel_seg.normalize_std` (JSON
 * arrays, absent for a run without normalisation), `vessel_seg.scale`, `vessel_seg.tile_size_px`,
 * `vessel_seg.threshold`, `vessel_seg.depth`, `vessel_seg.input` (the preprocessing in words),
 * `vessel_seg.provenance` (JSON: what the model was trained on, when known).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { Message } from "../interop/protobuf.ts";
import type { TorchTensor } from "./torch_state.ts";
import { unetStateDict } from "./torch_state.ts";
import type { UNetConfig } from "./unet.ts";

/** ONNX `TensorProto.DataType.FLOAT`. */
const FLOAT = 1;
/** `AttributeProto.AttributeType`. */
const ATTR_FLOAT = 1, ATTR_INTS = 7;

/** What goes into `metadata_props` besides the architecture. */
export interface OnnxMetadata {
  scale: number;
  tileSizePx: number;
  threshold: number;
  normalize: { mean: number[]; std: number[] } | null;
  provenance?: unknown;
}

function tensorProto(name: string, t: TorchTensor): Message {
  const data = t.data as Float32Array;
  return new Message()
    .packedInts(1, t.shape)
    .int(2, FLOAT)
    .bytes(8, name)
    .bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function valueInfo(name: string, dims: (number | string)[]): Message {
  const shape = new Message();
  for (const d of dims) {
    shape.bytes(1, typeof d === "number" ? new Message().int(1, d) : new Message().bytes(2, d));
  }
  const tensorType = new Message().int(1, FLOAT).bytes(2, shape);
  return new Message().bytes(1, name).bytes(2, new Message().bytes(1, tensorType));
}

function intsAttr(name: string, values: number[]): Message {
  return new Message().bytes(1, name).packedInts(8, values).int(20, ATTR_INTS);
}

function floatAttr(name: string, value: number): Message {
  return new Message().bytes(1, name).float(2, value).int(20, ATTR_FLOAT);
}

/**
 * The ONNX model bytes of a trained U-Net.
 *
 * @param cfg the architecture the model was built with
 */
export function unetOnnx(
  model: tf.LayersModel,
  cfg: Pick<UNetConfig, "depth" | "batchNorm">,
  meta: OnnxMetadata,
): Uint8Array {
  if (!cfg.batchNorm) {
    throw new RangeError(
      "ONNX export covers the U-Net with batch norm (the default and milesial's)",
    );
  }
  const weights = new Map(unetStateDict(model, cfg, 0));
  const graph = new Message();
  const nodes: Message[] = [];
  const inits = new Set<string>();
  let counter = 0;
  const init = (key: string) => {
    if (!inits.has(key)) {
      graph.bytes(5, tensorProto(key, weights.get(key)!));
      inits.add(key);
    }
    return key;
  };
  const node = (op: string, inputs: string[], attrs: Message[] = [], output?: string) => {
    const out = output ?? `${op.toLowerCase()}_${counter++}`;
    const n = new Message();
    for (const i of inputs) n.bytes(1, i);
    n.bytes(2, out).bytes(3, out).bytes(4, op);
    for (const a of attrs) n.bytes(5, a);
    nodes.push(n);
    return out;
  };
  const doubleConv = (x: string, prefix: string) => {
    for (const seq of [0, 3]) {
      x = node("Conv", [x, init(`${prefix}.${seq}.weight`)], [
        intsAttr("kernel_shape", [3, 3]),
        intsAttr("pads", [1, 1, 1, 1]),
      ]);
      const bn = `${prefix}.${seq + 1}`;
      x = node("BatchNormalization", [
        x,
        init(`${bn}.weight`),
        init(`${bn}.bias`),
        init(`${bn}.running_mean`),
        init(`${bn}.running_var`),
      ], [floatAttr("epsilon", 1e-5)]);
      x = node("Relu", [x]);
    }
    return x;
  };
  let x = doubleConv("input", "inc.double_conv");
  const skips: string[] = [];
  for (let k = 1; k <= cfg.depth; k++) {
    skips.push(x);
    x = node("MaxPool", [x], [intsAttr("kernel_shape", [2, 2]), intsAttr("strides", [2, 2])]);
    x = doubleConv(x, `down${k}.maxpool_conv.1.double_conv`);
  }
  for (let m = 1; m <= cfg.depth; m++) {
    const up = node("ConvTranspose", [x, init(`up${m}.up.weight`), init(`up${m}.up.bias`)], [
      intsAttr("kernel_shape", [2, 2]),
      intsAttr("strides", [2, 2]),
    ]);
    x = node("Concat", [skips[cfg.depth - m], up], [
      new Message().bytes(1, "axis").int(3, 1).int(20, 2),
    ]);
    x = doubleConv(x, `up${m}.conv.double_conv`);
  }
  node("Conv", [x, init("outc.conv.weight"), init("outc.conv.bias")], [
    intsAttr("kernel_shape", [1, 1]),
  ], "logits");
  for (const n of nodes) graph.bytes(1, n);
  graph.bytes(2, "vessel_seg_unet");
  graph.bytes(11, valueInfo("input", ["N", 3, "H", "W"]));
  graph.bytes(12, valueInfo("logits", ["N", 1, "H", "W"]));

  const props: [string, string][] = [
    ["vessel_seg.scale", String(meta.scale)],
    ["vessel_seg.tile_size_px", String(meta.tileSizePx)],
    ["vessel_seg.threshold", String(meta.threshold)],
    ["vessel_seg.depth", String(cfg.depth)],
    [
      "vessel_seg.input",
      `[N, 3, H, W] float32 RGB, v/255${
        meta.normalize === null ? "" : ", then (v/255 - mean)/std per channel"
      }, at scale ${meta.scale} of the 512-px tile; H and W multiples of ${2 ** cfg.depth}; ` +
      `output logits [N, 1, H, W], vessel where sigmoid(logit) > ${meta.threshold}`,
    ],
  ];
  if (meta.normalize !== null) {
    props.push(["vessel_seg.normalize_mean", JSON.stringify(meta.normalize.mean)]);
    props.push(["vessel_seg.normalize_std", JSON.stringify(meta.normalize.std)]);
  }
  if (meta.provenance !== undefined) {
    props.push(["vessel_seg.provenance", JSON.stringify(meta.provenance)]);
  }
  const modelProto = new Message()
    .int(1, 8) // ir_version
    .bytes(2, "vessel-seg")
    .bytes(3, "0.1.0")
    .bytes(7, graph)
    .bytes(8, new Message().bytes(1, "").int(2, 17));
  for (const [k, v] of props) modelProto.bytes(14, new Message().bytes(1, k).bytes(2, v));
  return modelProto.finish();
}
