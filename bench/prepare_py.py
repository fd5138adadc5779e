"""Python side-by-side for bench/prepare_bench.ts: the same prepare work with Pillow + OpenCV.

    /usr/bin/python3 bench/prepare_py.py DATA [OUT]

For every tile with a line in DATA/polygons.jsonl: Pillow decodes DATA/train/{id}.tif, the
blood_vessel annotations are filled with cv2.fillPoly (outline 1, holes 0), the mask is written
as OUT/masks/{id}.png (cv2.imwrite, 0/255) and image and mask are appended to OUT/images.u8 and
OUT/masks.u8. Prints tiles/s for the whole loop (mean of 3 timed runs after a warm-up) and polygons/s for cv2.fillPoly alone (same
polygons, 512x512 masks, like the Deno bench).
"""
import json
import os
import sys
import tempfile
import time

import cv2
import numpy as np
from PIL import Image

data = sys.argv[1]
out = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp()
os.makedirs(os.path.join(out, "masks"), exist_ok=True)

tiles = []
with open(os.path.join(data, "polygons.jsonl")) as f:
    for line in f:
        if line.strip():
            d = json.loads(line)
            rings = [a["coordinates"] for a in d["annotations"] if a["type"] == "blood_vessel"]
            tiles.append((d["id"], rings))
n_poly = sum(len(r) for _, r in tiles)


def fill(mask, annotations):
    for rings in annotations:
        if len(rings) == 1:
            cv2.fillPoly(mask, [np.array(rings[0], np.int32)], 1)
        else:
            m = np.zeros_like(mask)
            cv2.fillPoly(m, [np.array(rings[0], np.int32)], 1)
            for hole in rings[1:]:
                cv2.fillPoly(m, [np.array(hole, np.int32)], 0)
            mask |= m


def find(tid):
    for ext in (".tif", ".tiff", ".png"):
        p = os.path.join(data, "train", tid + ext)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(tid)


def run_once():
    with open(os.path.join(out, "images.u8"), "wb") as fi, open(os.path.join(out, "masks.u8"), "wb") as fm:
        for tid, ann in tiles:
            img = np.asarray(Image.open(find(tid)).convert("RGB"))
            mask = np.zeros(img.shape[:2], np.uint8)
            fill(mask, ann)
            cv2.imwrite(os.path.join(out, "masks", tid + ".png"), mask * 255)
            fi.write(img.tobytes())
            fm.write(mask.tobytes())


times = []
for _ in range(4):  # one warm-up, three timed, like the Deno bench (n 3, warmup 1)
    t0 = time.perf_counter()
    run_once()
    times.append(time.perf_counter() - t0)
times = times[1:]
best, avg = min(times), sum(times) / len(times)
print(
    f"python prepare: {len(tiles)} tiles, avg {avg * 1000:.1f} ms (min {best * 1000:.1f} ms) "
    f"= {len(tiles) / avg:.1f} tiles/s (best {len(tiles) / best:.1f})"
)

reps = 20
mask = np.zeros((512, 512), np.uint8)
t0 = time.perf_counter()
for _ in range(reps):
    for _, ann in tiles:
        mask[:] = 0
        fill(mask, ann)
t1 = time.perf_counter()
per = (t1 - t0) / reps
print(f"cv2.fillPoly: {n_poly} polygons in {per * 1000:.2f} ms = {n_poly / per:.0f} polygons/s")
