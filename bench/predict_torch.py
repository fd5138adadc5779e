#!/usr/bin/python3
"""The predict pipeline in PyTorch + OpenCV, for bench/predict_side_by_side.ts.

For every tile of a folder (sorted by name), in batches of --batch tiles: cv2.imread (TIFF or
PNG), BGR -> RGB, cv2.resize to --scale with INTER_AREA, normalise (x / 255 - mean) / std, the U-Net
of bench/train_step_torch.py in eval mode under torch.inference_mode() (with --tta flips: the
batch, its horizontal, vertical and both flips in one forward pass, flipped back and averaged),
sigmoid, cv2.resize back to the tile's size with INTER_LINEAR, then masks/{id}.png (0/255 at
probability > 0.5) and prob/{id}.png (round(255 p)) with cv2.imwrite. The weights are
PyTorch's default initialisation (seed 0): speed does not depend on them.

Needs Debian's python3-torch and python3-opencv; run with /usr/bin/python3. Not part of the tests.

    /usr/bin/python3 bench/predict_torch.py TILES OUT [--base 16] [--depth 4] [--scale 0.25]
        [--tta none|flips] [--batch 4] [--threads 2]

Prints `| pytorch predict | TILES | SECONDS | TILES_PER_S |` (time from the first read to the last
write, model built beforehand).
"""
import argparse
import os
import sys
import time

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step_torch import UNet  # noqa: E402

MEAN = np.array([0.5, 0.5, 0.5], np.float32)
STD = np.array([0.25, 0.25, 0.25], np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tiles")
    ap.add_argument("out")
    ap.add_argument("--base", type=int, default=16)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--tta", choices=["none", "flips"], default="none")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    cv2.setNumThreads(max(1, a.threads))
    torch.manual_seed(0)
    model = UNet(a.depth, a.base).eval()
    names = sorted(n for n in os.listdir(a.tiles) if n.lower().endswith((".tif", ".tiff", ".png")))
    for sub in ("masks", "prob"):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(names), a.batch):
            group = names[start:start + a.batch]
            images = [cv2.cvtColor(cv2.imread(os.path.join(a.tiles, n), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                      for n in group]
            h, w = images[0].shape[:2]
            small = [cv2.resize(im, (round(w * a.scale), round(h * a.scale)), interpolation=cv2.INTER_AREA)
                     for im in images]
            x = torch.from_numpy((np.stack(small).astype(np.float32) / 255 - MEAN) / STD).permute(0, 3, 1, 2)
            if a.tta == "flips":
                n = x.shape[0]
                p = torch.sigmoid(model(torch.cat([x, x.flip(3), x.flip(2), x.flip(2, 3)])))
                p = (p[:n] + p[n:2 * n].flip(3) + p[2 * n:3 * n].flip(2) + p[3 * n:].flip(2, 3)) / 4
            else:
                p = torch.sigmoid(model(x))
            probs = p[:, 0].numpy()
            for name, im, pr in zip(group, images, probs):
                full = cv2.resize(pr, (im.shape[1], im.shape[0]), interpolation=cv2.INTER_LINEAR)
                stem = os.path.splitext(name)[0]
                cv2.imwrite(os.path.join(a.out, "masks", stem + ".png"), ((full > 0.5) * 255).astype(np.uint8))
                cv2.imwrite(os.path.join(a.out, "prob", stem + ".png"),
                            np.round(np.clip(full, 0, 1) * 255).astype(np.uint8))
    s = time.perf_counter() - t0
    print(f"pytorch {torch.__version__}, opencv {cv2.__version__}, {torch.get_num_threads()} threads: "
          f"depth {a.depth}, base {a.base}, scale {a.scale}, tta {a.tta}, batch {a.batch}")
    print(f"| pytorch predict | {len(names)} | {s:.2f} | {len(names) / s:.2f} |")


if __name__ == "__main__":
    main()
