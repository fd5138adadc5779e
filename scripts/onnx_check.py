#!/usr/bin/python3
"""An independent reader for `deno task export --format onnx` files, used by
tasks/export_test.ts: Debian's python3-onnx (1.12) loads the model, runs onnx.checker's full
check (graph, opset 17, shapes inferred) and prints one JSON object with the opset, the graph's
input and output names and dimensions, the operator counts and the metadata_props.

    /usr/bin/python3 scripts/onnx_check.py FILE.onnx
"""
import collections
import json
import sys

import onnx


def dims(v):
    return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]


def main(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    print(json.dumps({
        "ir_version": model.ir_version,
        "opset": [o.version for o in model.opset_import],
        "inputs": {v.name: dims(v) for v in model.graph.input},
        "outputs": {v.name: dims(v) for v in model.graph.output},
        "ops": collections.Counter(n.op_type for n in model.graph.node),
        "metadata": {p.key: p.value for p in model.metadata_props},
    }))


if __name__ == "__main__":
    main(sys.argv[1])
