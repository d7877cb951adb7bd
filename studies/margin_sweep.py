"""Accuracy of a trained model against the crop margin (0–30 %), to choose `ferkit.faces.align.DEFAULT_MARGIN`.

    python -m studies.margin_sweep --model runs/x/best.safetensors [--folder LABELLED_PHOTOS]
        [--fer ../shared/data/fer2013] [--n 700] [--wild ../shared/data/wild] [--margins 0,0.05,...,0.3]
        [--detector yunet] [--no-record]

Margin m widens the FER2013-framed square by m of its side on every side (see ferkit/faces/align.py; m = 0
reproduces FER2013's framing). Three measurements, each where its data exists:

1. `--folder DIR` — labelled real photos, `DIR/<class>/<image>` (class names through ferkit's aliases): the
   largest detected face of each photo is classified at every margin → accuracy per margin. This is the figure
   that should pick the default; photos without a detected face are counted and left out.
2. `--fer DIR` — FER2013 PublicTest faces (`DIR/test/<class>/PublicTest_*.jpg`, a class-stratified sample of
   `--n`), each upscaled 4× and surrounded by a mirrored border of its own size, then detected and re-cropped at
   every margin → accuracy per margin, beside the accuracy on the original 48×48 crops. It measures how well
   detector + margin reproduce the framing the model was trained on; context beyond the FER crop is mirrored,
   not real, so large margins are penalised more than in real photos.
3. `--wild DIR` — unlabelled photos: for every face, the share of margins whose label agrees with margin 0 and
   the mean top-1 probability per margin (stability only, no accuracy).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from benchmarks.record import record

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def faces_and_images(rec, images: list[np.ndarray]) -> list[tuple[np.ndarray, object] | None]:
    """(image, largest face) for each image, None where no face was found."""
    out = []
    for img in images:
        faces = rec.detect(img)
        out.append((img, max(faces, key=lambda f: f.area)) if faces else None)
    return out


def predictions(rec, found: list, margin: float) -> np.ndarray:
    """Predicted class index of every found face at one margin (one forward pass)."""
    from ferkit.faces import crop_face

    dc = rec.backend.data_config
    crops = np.stack([crop_face(img, face, dc, margin) for img, face in found])
    return rec.classify(crops)


def labelled_folder(folder: Path, labels) -> tuple[list[np.ndarray], list[int]]:
    from ferkit.imageio import is_image_file, open_image, to_rgb

    images, targets = [], []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        idx = labels.index(class_dir.name)  # raises naming the label space for an unknown class
        for path in sorted(class_dir.iterdir()):
            if is_image_file(path):
                images.append(to_rgb(open_image(path)))
                targets.append(idx)
    return images, targets


def canvas_folder(photos: Path, n: int, out: Path) -> Path:
    """`n` labelled photos of `photos` (drawn at random, seed 0) pasted at random offsets (seed 1) into canvases
    three times their side, as `benchmarks.tight_faces` makes them: a class folder tree under `out`."""
    from benchmarks.tight_faces import paste

    from ferkit.data import load_dataset

    full = load_dataset(photos, quiet=True)
    pick = np.sort(np.random.default_rng(0).choice(len(full), min(n, len(full)), replace=False))
    return paste(full.subset(pick), out, 1)


def fer_sample(root: Path, labels, n: int, seed: int = 0) -> tuple[list[np.ndarray], list[int], np.ndarray]:
    """(framed RGB photos, targets, original 48×48 crops) for a class-stratified PublicTest sample."""
    import cv2

    from ferkit.imageio import read_gray

    files = sorted((root / "test").glob("*/PublicTest_*.jpg")) or sorted((root / "test").glob("*/*.jpg"))
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(files))[:n]
    images, targets, crops = [], [], []
    for i in sorted(pick):
        gray, _, _ = read_gray(files[i], None)
        big = cv2.resize(gray, (gray.shape[1] * 4, gray.shape[0] * 4), interpolation=cv2.INTER_CUBIC)
        pad = big.shape[0]
        framed = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REFLECT)
        images.append(np.repeat(framed[:, :, None], 3, axis=2))
        targets.append(labels.index(files[i].parent.name))
        crops.append(gray)
    return images, targets, np.stack(crops)


def accuracy_table(rec, images, targets, margins, reference: float | None = None) -> str:
    found = faces_and_images(rec, images)
    keep = [i for i, f in enumerate(found) if f is not None]
    y = np.array(targets)[keep]
    rows = ["| margin | accuracy | faces |", "|---|---|---|"]
    if reference is not None:
        rows.append(f"| original 48×48 crops | {reference:.2%} | {len(images)} |")
    for m in margins:
        acc = float((predictions(rec, [found[i] for i in keep], m).argmax(1) == y).mean()) if keep else 0.0
        rows.append(f"| {m:.0%} | {acc:.2%} | {len(keep)} |")
    missed = len(images) - len(keep)
    return "\n".join(rows) + f"\n\n{missed} of {len(images)} images had no detected face (left out)."


def wild_table(rec, folder: Path, margins) -> str:
    from ferkit.imageio import is_image_file, open_image, to_rgb

    images = [to_rgb(open_image(p)) for p in sorted(folder.iterdir()) if is_image_file(p)]
    found = [(img, f) for img in images for f in rec.detect(img)]
    if not found:
        return "no faces found"
    base = predictions(rec, found, margins[0]).argmax(1)
    rows = [f"| margin | agreement with {margins[0]:.0%} | mean top-1 probability |", "|---|---|---|"]
    for m in margins:
        p = predictions(rec, found, m)
        rows.append(f"| {m:.0%} | {(p.argmax(1) == base).mean():.0%} | {p.max(1).mean():.3f} |")
    return "\n".join(rows) + f"\n\n{len(found)} faces in {len(images)} photos."


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="default", help="trained checkpoint, ONNX file or shipped model name")
    p.add_argument("--detector", help="face detector (default: the best available)")
    p.add_argument("--folder", type=Path, help="labelled photos DIR/<class>/<image>")
    p.add_argument(
        "--canvas", type=int, default=0, metavar="N", help="use N photos of --folder pasted into 3x canvases"
    )
    p.add_argument(
        "--fer",
        type=lambda v: None if v == "none" else Path(v),
        default=SHARED / "fer2013",
        help="FER2013 image-folder root (none: skip)",
    )
    p.add_argument("--n", type=int, default=700, help="FER2013 PublicTest faces to sample")
    p.add_argument(
        "--wild",
        type=lambda v: None if v == "none" else Path(v),
        default=SHARED / "wild",
        help="unlabelled photos (none: skip)",
    )
    p.add_argument("--margins", default="0,0.05,0.1,0.15,0.2,0.25,0.3")
    p.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    args = p.parse_args()
    import ferkit

    rec = ferkit.load(args.model, args.detector)
    labels = rec.backend.data_config.labels
    margins = [float(m) for m in args.margins.split(",")]
    out = print if args.no_record else record
    head = f"model: {rec.backend.name}; detector: {rec.detector.name}"
    which = f", detector {rec.detector.name}" if args.detector else ""
    if args.folder:
        import tempfile

        folder, name = args.folder, f"{args.folder.parent.name}/{args.folder.name}"
        if args.canvas:
            folder = canvas_folder(args.folder, args.canvas, Path(tempfile.mkdtemp()))
            name = f"{args.folder.name} ({args.canvas} in 3× canvases)"
        images, targets = labelled_folder(folder, labels)
        out(
            f"Margin sweep: labelled photos {name}{which}",
            f"{head}\n\n{accuracy_table(rec, images, targets, margins)}",
        )
    if args.fer and (args.fer / "test").is_dir():
        images, targets, crops = fer_sample(args.fer, labels, args.n)
        ref = float((rec.classify(crops).argmax(1) == np.array(targets)).mean())
        body = accuracy_table(rec, images, targets, margins, reference=ref)
        out(f"Margin sweep: FER2013 PublicTest re-detected (n={len(images)}){which}", f"{head}\n\n{body}")
    if args.wild and args.wild.is_dir():
        out(
            f"Margin sweep: stability on {args.wild.name} (unlabelled)",
            f"{head}\n\n{wild_table(rec, args.wild, margins)}",
        )


if __name__ == "__main__":
    main()
