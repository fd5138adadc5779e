#!/usr/bin/python3
"""An independent reader for `deno task predict --geojson` files, used by
tasks/predict_vectors_test.ts: Python's json and shapely (Debian's python3-shapely, 1.8).

    /usr/bin/python3 scripts/geojson_check.py FILE.geojson MASK.u8 WIDTH HEIGHT

MASK.u8 is the tile's predicted mask, one byte per pixel (0 or not), row-major. Prints one JSON
object: the number of features, the problems found (a feature that is not a Polygon, a ring not
closed, a polygon shapely calls invalid with its reason, an outer ring not counter-clockwise or a
hole not clockwise as RFC 7946 wants, properties missing), and the IoU between the mask and the
polygons rasterised by shapely with QuPath's pixel convention: pixel (x, y) is set when its centre
(x + 0.5, y + 0.5) lies in a polygon.
"""
import json
import sys

import numpy as np
from shapely import vectorized
from shapely.geometry import shape
from shapely.ops import unary_union
from shapely.validation import explain_validity


def main(path, mask_path, width, height):
    with open(path, encoding="utf-8") as f:
        fc = json.load(f)
    problems = []
    if fc.get("type") != "FeatureCollection":
        problems.append("not a FeatureCollection")
    polygons = []
    for k, feat in enumerate(fc.get("features", [])):
        geom = feat.get("geometry", {})
        if geom.get("type") != "Polygon":
            problems.append(f"feature {k}: geometry {geom.get('type')}")
            continue
        for r, ring in enumerate(geom["coordinates"]):
            if ring[0] != ring[-1]:
                problems.append(f"feature {k} ring {r}: not closed")
        poly = shape(geom)
        if not poly.is_valid:
            problems.append(f"feature {k}: {explain_validity(poly)}")
        if not poly.exterior.is_ccw:
            problems.append(f"feature {k}: outer ring clockwise")
        for r, hole in enumerate(poly.interiors):
            if hole.is_ccw:
                problems.append(f"feature {k} hole {r}: counter-clockwise")
        props = feat.get("properties", {})
        if props.get("objectType") != "annotation":
            problems.append(f"feature {k}: objectType {props.get('objectType')}")
        if props.get("classification", {}).get("name") != "blood_vessel":
            problems.append(f"feature {k}: classification {props.get('classification')}")
        if not 0 <= props.get("meanProbability", -1) <= 1 or props.get("areaPx", 0) < 1:
            problems.append(f"feature {k}: meanProbability/areaPx {props}")
        polygons.append(poly)
    mask = np.fromfile(mask_path, dtype=np.uint8).reshape(height, width) != 0
    ys, xs = np.mgrid[0:height, 0:width]
    if polygons:
        drawn = vectorized.contains(unary_union(polygons), xs + 0.5, ys + 0.5)
    else:
        drawn = np.zeros_like(mask)
    union = int(np.logical_or(mask, drawn).sum())
    inter = int(np.logical_and(mask, drawn).sum())
    print(json.dumps({
        "features": len(fc.get("features", [])),
        "problems": problems,
        "inter": inter,
        "union": union,
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
