"""Faces missed and accuracy per detector on real photos, aligned against detected: RAF-DB's aligned faces as they
are (the face fills the frame) and pasted into a 3× canvas at a random offset, with the detectors' searches after
an empty first pass (in a border, then at 2×: `Detector.pad_retry`) off and on. Validation photos only (`../shared/data/rafdb/train`).

    python -m benchmarks.tight_faces [--data ../shared/data/rafdb/train] [--n 500] [--model default] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.record import record

ROOT = Path(__file__).resolve().parents[1]
CANVAS = 3  # canvas side / face side


def paste(ds, out: Path, seed: int) -> Path:
    """Every photo of `ds` pasted at a random offset into a CANVAS× larger canvas of its mean colour."""
    from PIL import Image

    from ferkit.imageio import open_image, to_rgb

    rng = np.random.default_rng(seed)
    for rel in ds.sources:
        rgb = to_rgb(open_image(Path(ds.root) / str(rel)))
        h, w = rgb.shape[:2]
        canvas = np.empty((CANVAS * h, CANVAS * w, 3), np.uint8)
        canvas[:] = rgb.reshape(-1, 3).mean(0).astype(np.uint8)
        y, x = rng.integers(0, (CANVAS - 1) * h + 1), rng.integers(0, (CANVAS - 1) * w + 1)
        canvas[y : y + h, x : x + w] = rgb
        dst = out / str(rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(canvas).save(dst.with_suffix(".png"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "rafdb" / "train"))
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--model", default="default")
    ap.add_argument("--detectors", default="yunet,mtcnn")
    ap.add_argument(
        "--seed",
        type=int,
        default=0,
        help="the draw of photos (offsets: seed + 1); another seed is a held-out check",
    )
    args = ap.parse_args()
    import ferkit
    from ferkit.backends import load_backend
    from ferkit.data import load_dataset
    from ferkit.faces import get_detector

    full = load_dataset(args.data, quiet=True)
    pick = np.sort(np.random.default_rng(args.seed).choice(len(full), min(args.n, len(full)), replace=False))
    ds = full.subset(pick)
    model = load_backend(args.model, "cpu", None)  # loaded once for every evaluation below
    aligned = ferkit.evaluate(model, ds)
    rows = [
        "| input | detector | searches after an empty first pass | faces missed | accuracy |",
        "|---|---|---|---|---|",
        f"| aligned faces, no detector | — | — | — | {100 * aligned.metrics.accuracy:.1f} % |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        canvas = load_dataset(paste(ds, Path(tmp), args.seed + 1), quiet=True)
        for label, data in (
            ("aligned faces (fill the frame)", ds),
            (f"pasted into a {CANVAS}× canvas", canvas),
        ):
            for name in args.detectors.split(","):
                for pad in (0.0, None):
                    det = get_detector(name)
                    if pad is not None:
                        det.pad_retry = pad
                    r = ferkit.evaluate(model, data, detector=det)
                    missed = 100 * r.no_face / r.metrics.n
                    rows.append(
                        f"| {label} | {name} | {'off' if pad == 0 else 'on'} | {missed:.1f} % | "
                        f"{100 * r.metrics.accuracy:.1f} % |"
                    )
                    print(rows[-1], flush=True)
    note = (
        f"\n{len(ds)} photos drawn at random (seed {args.seed}) from {os.path.relpath(args.data, ROOT)} (RAF-DB train, validation only), model "
        f"`{args.model}` through `ferkit.evaluate`; a photo without a face counts as an error. The canvas is the "
        f"photo's mean colour; offsets are random (seed {args.seed + 1})."
    )
    title = "Tight faces: faces missed and accuracy per detector (RAF-DB train)"
    record(title + (f", draw {args.seed}" if args.seed else ""), "\n".join(rows) + "\n" + note)


if __name__ == "__main__":
    main()
