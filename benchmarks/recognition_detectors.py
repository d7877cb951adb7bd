"""Face-detector figures of `benchmarks.recognition`: latency per image size, and recall / false boxes on the
hand-boxed faces of ../shared/data/wild/training.xml (optionally beside the `fer` package's detector)."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

WILD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wild"
SIZES = ((320, 240), (640, 480), (1280, 720))


def make_detector(spec: str, threads: int | None):
    """A detector from "name" or "mtcnn@RUNTIME" (MTCNN's networks forced onto onnxruntime or openvino)."""
    from ferkit.faces import get_detector

    name, _, runtime = spec.partition("@")
    if name == "mtcnn":
        from ferkit.faces.mtcnn import MtcnnDetector

        return MtcnnDetector(threads=threads or 2, runtime=runtime or None)
    return get_detector(name)


def _photo() -> np.ndarray:
    from ferkit.imageio import open_image, to_rgb

    path = WILD / "2007_007763.jpg"
    if path.is_file():
        return to_rgb(open_image(path))
    import skimage.data

    return skimage.data.astronaut()


def bench_detectors(detectors: list[str], repeats: int, threads: int | None = None) -> str:
    import cv2

    photo = _photo()
    head = " | ".join(f"{w}×{h} (ms)" for w, h in SIZES)
    rows = [f"| detector | {head} |", "|---|" + "---|" * len(SIZES)]
    for name in detectors:
        det = make_detector(name, threads)
        cells = []
        for size in SIZES:
            img = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
            det.detect(img)
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                det.detect(img)
                times.append(time.perf_counter() - t)
            cells.append(f"{1000 * statistics.median(times):.1f}")
        rows.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(rows)


def boxed_photos() -> dict[str, list[tuple[int, int, int, int]]]:
    """{file name: [(x, y, w, h), ...]} from wild/training.xml."""
    root = ET.parse(WILD / "training.xml").getroot()
    return {
        img.get("file"): [
            tuple(int(b.get(k)) for k in ("left", "top", "width", "height")) for b in img.iter("box")
        ]
        for img in root.iter("image")
    }


def match(truth: list, found: list) -> tuple[int, int]:
    """(hand boxes found, false boxes): greedy one-to-one matching, IoU ≥ 0.5 or centre in the box."""
    from ferkit.faces import iou

    def hit(t, f):
        cx, cy = f[0] + f[2] / 2, f[1] + f[3] / 2
        inside = t[0] <= cx <= t[0] + t[2] and t[1] <= cy <= t[1] + t[3]
        return iou(t, f) >= 0.5 or inside

    pairs = sorted(
        ((iou(t, f), ti, fi) for ti, t in enumerate(truth) for fi, f in enumerate(found)), reverse=True
    )
    used_t, used_f = set(), set()
    for _, ti, fi in pairs:
        if ti not in used_t and fi not in used_f and hit(truth[ti], found[fi]):
            used_t.add(ti)
            used_f.add(fi)
    return len(used_t), len(found) - len(used_f)


def bench_recall(detectors: list[str], fer_python: str | None) -> str:
    from ferkit.faces import get_detector
    from ferkit.imageio import open_image, to_rgb

    photos = boxed_photos()
    total = sum(len(b) for b in photos.values())
    rows = [
        "| detector | faces found | recall | boxes | false boxes | false-box rate |",
        "|---|---|---|---|---|---|",
    ]
    results: dict[str, dict] = {}
    for name in detectors:
        det = get_detector(name)
        per = {p: [f.box for f in det.detect(to_rgb(open_image(WILD / p)))] for p in photos}
        results[name] = per
    if fer_python:
        results["fer (PyPI)"] = _fer_boxes(fer_python, list(photos))
    for name, per in results.items():
        found = sum(match(photos[p], per[p])[0] for p in photos)
        false = sum(match(photos[p], per[p])[1] for p in photos)
        boxes = sum(len(per[p]) for p in photos)
        rows.append(
            f"| {name} | {found}/{total} | {found / total:.0%} | {boxes} | {false} | {false / max(boxes, 1):.0%} |"
        )
    return "\n".join(rows)


FER_CHILD = r"""
import json, sys, cv2
from fer.fer import FER
import fer, os
cascade = os.path.join(os.path.dirname(fer.__file__), "data", "haarcascade_frontalface_default.xml")
det = FER(cascade_file=cascade)
out = {}
for path in sys.argv[1:]:
    out[os.path.basename(path)] = [list(map(int, f["box"])) for f in det.detect_emotions(cv2.imread(path))]
print(json.dumps(out))
"""


def _fer_boxes(python: str, photos: list[str]) -> dict:
    res = subprocess.run(
        [python, "-c", FER_CHILD, *(str(WILD / p) for p in photos)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if res.returncode:
        raise SystemExit(f"fer baseline failed:\n{res.stderr[-2000:]}")
    return {k: [tuple(b) for b in v] for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items()}
