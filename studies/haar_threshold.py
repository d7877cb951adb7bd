"""Haar cascade score threshold on the real photos of ../shared/data/wild, with YuNet's boxes as reference.

    python -m studies.haar_threshold [--thresholds 0,0.5,0.7,0.8,0.9]

For each threshold: haar boxes that match a YuNet face (IoU > 0.3), haar boxes that match none (false boxes:
dogs, clothing, backdrops, or a second box on one face) and YuNet faces haar misses. YuNet finds every hand-boxed
face of wild/training.xml (benchmarks/recognition.py --only recall), so it stands in for boxes on every photo.
Prints a markdown table; nothing is recorded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ferkit.faces import get_detector, iou
from ferkit.imageio import read_rgb

WILD = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "wild"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--thresholds", default="0,0.5,0.7,0.8,0.9")
    ap.add_argument("--wild", default=str(WILD))
    args = ap.parse_args()
    photos = sorted(p for p in Path(args.wild).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    images = {p.name: read_rgb(p)[0] for p in photos}
    yunet = get_detector("yunet")
    reference = {name: [f.box for f in yunet.detect(rgb)] for name, rgb in images.items()}
    print(f"{len(images)} photos, {sum(map(len, reference.values()))} YuNet faces\n")
    print("| haar threshold | boxes on a face | false boxes | faces missed |\n|---|---|---|---|")
    for th in (float(t) for t in args.thresholds.split(",")):
        haar = get_detector("haar", threshold=th)
        hit = false = missed = 0
        for name, rgb in images.items():
            boxes, ref = [f.box for f in haar.detect(rgb)], reference[name]
            matched = sum(any(iou(b, r) > 0.3 for r in ref) for b in boxes)
            hit, false = hit + matched, false + len(boxes) - matched
            missed += sum(not any(iou(r, b) > 0.3 for b in boxes) for r in ref)
        print(f"| {th:g} | {hit} | {false} | {missed} |")


if __name__ == "__main__":
    main()
