#!/usr/bin/python3
"""OpenCV side of bench/metrics_bench.ts: cv2.cvtColor(RGB2GRAY) + cv2.threshold(THRESH_OTSU) per
tile on the real tile (512²) and its every-4th-pixel 128² version, single-threaded and default.

Run from the repository root: /usr/bin/python3 bench/otsu_opencv.py
"""
import time

import cv2

rgb512 = cv2.cvtColor(cv2.imread("fixtures/real/0006ff2aa7cd.png", cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
rgb128 = rgb512[::4, ::4].copy()


def otsu(rgb):
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)


def bench(rgb, seconds=2.0):
    for _ in range(20):
        otsu(rgb)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(50):
            otsu(rgb)
        n += 50
    dt = (time.perf_counter() - t0) / n
    return dt


for threads in (1, 0):
    cv2.setNumThreads(threads)
    label = "1 thread" if threads == 1 else f"default threads ({cv2.getNumThreads()})"
    for name, rgb in (("512²", rgb512), ("128²", rgb128)):
        dt = bench(rgb)
        print(f"opencv {cv2.__version__} {label}: otsu {name}: {dt * 1e6:.1f} µs/tile, {1 / dt:.0f} tiles/s")
