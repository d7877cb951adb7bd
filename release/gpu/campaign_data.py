"""Build what the GPU campaign needs on the GPU machine: one xz file with the FER2013 faces, their FER2013 labels and
their FER+ votes, and the teachers' logits on the training faces.

    python release/gpu/campaign_data.py [--fer2013 ../shared/data/fer2013] [--ferplus ../shared/data/ferplus]
        [--out runs/campaign] [--teachers default,fast,git:7079c8c,git:15b28e2]

- `faces.npz.xz`: images (the Kaggle JPEGs decoded, N×48×48 uint8: train, then public_test), fer7 (FER2013 label,
  FER7 order), split (0 train, 1 public_test), votes (the 10 FER+ vote columns, from fer2013new.csv where it has the
  image), matched (whether the face was found among the FER+ PNGs of the same split, by pixels: `ferkit.data.join`).
- `teachers/<name>.logits.npz`: each teacher's logits on the training split of the FER2013 dataset that
  `campaign.py prepare` builds from faces.npz.xz, in the trainer's order (`train.distill_from` takes these files,
  so the teachers' weights stay here). `git:<commit>` is the default model shipped at that commit.
"""

from __future__ import annotations

import argparse
import lzma
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
SPLITS = {"train": ("FER2013Train", 0), "public_test": ("FER2013Valid", 1)}


def ferplus_split(root: Path, folder: str) -> tuple[np.ndarray, np.ndarray]:
    """(images, votes) of one FER+ folder: every listed PNG, votes from fer2013new.csv where it has the image."""
    from ferkit.data.ferplus import NEW_CSV, read_label_csv, read_new_csv
    from ferkit.imageio import read_gray

    votes = read_label_csv(root / folder / "label.csv")
    newer = read_new_csv(root / NEW_CSV).get(folder, {}) if (root / NEW_CSV).is_file() else {}
    names = [n for n in votes if (root / folder / n).is_file()]
    images = np.stack([read_gray(root / folder / n, None)[0] for n in names])
    return images, np.stack([newer.get(n, votes[n]) for n in names]).astype(np.uint8)


def build_faces(fer2013: Path, ferplus: Path) -> dict[str, np.ndarray]:
    from ferkit.data import load_dataset
    from ferkit.data.join import match_faces

    ds = load_dataset(fer2013)
    parts = {k: [] for k in ("images", "fer7", "split", "votes", "matched")}
    for split, (folder, code) in SPLITS.items():
        part = ds.take_split(split)
        plus_images, plus_votes = ferplus_split(ferplus, folder)
        index, diff = match_faces(np.asarray(part.images), plus_images)
        ok = index >= 0
        print(
            f"{split}: {ok.sum()} of {len(part)} faces found among {len(plus_images)} FER+ {folder} PNGs "
            f"(mean |Δ| {diff[ok].mean():.2f} grey levels)",
            flush=True,
        )
        votes = np.zeros((len(part), 10), np.uint8)
        votes[ok] = plus_votes[index[ok]]
        parts["images"].append(np.asarray(part.images))
        parts["fer7"].append(np.asarray(part.labels, np.int8))
        parts["split"].append(np.full(len(part), code, np.uint8))
        parts["votes"].append(votes)
        parts["matched"].append(ok)
    return {k: np.concatenate(v) for k, v in parts.items()}


def write_xz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(path, "wb", preset=9 | lzma.PRESET_EXTREME) as fh:
        np.savez(fh, **arrays)


def teacher_file(spec: str, folder: Path) -> Path:
    """A checkpoint for `spec`: a shipped name, a path, or git:<commit> (that commit's shipped default)."""
    from ferkit.weights import WEIGHTS_DIR

    if spec.startswith("git:"):
        commit = spec[4:]
        out = folder / f"default-{commit}.safetensors"
        data = subprocess.run(
            ["git", "show", f"{commit}:src/ferkit/weights/fer2013.safetensors"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        out.write_bytes(data)
        return out
    shipped = WEIGHTS_DIR / f"{spec}.safetensors"
    return shipped if shipped.is_file() else Path(spec)


def write_teachers(faces: Path, specs: list[str], out: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from campaign import prepare

    from ferkit.data import load_dataset
    from ferkit.train.distill import save_teacher_logits

    with tempfile.TemporaryDirectory() as tmp:
        fer2013, _ = prepare(faces, Path(tmp))
        train = load_dataset(fer2013).take_split("train")
        out.mkdir(parents=True, exist_ok=True)
        for spec in specs:
            name = spec.replace(":", "-")
            path = save_teacher_logits(
                str(teacher_file(spec, Path(tmp))), train.images, out / f"{name}.logits.npz", amp=True
            )
            print(f"wrote {path}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fer2013", default=str(SHARED / "fer2013"))
    ap.add_argument("--ferplus", default=str(SHARED / "ferplus"))
    ap.add_argument("--out", default=str(ROOT / "runs" / "campaign"))
    ap.add_argument("--teachers", default="default,fast,git:7079c8c,git:15b28e2")
    args = ap.parse_args()
    out = Path(args.out)
    faces = out / "faces.npz.xz"
    if not faces.is_file():
        write_xz(faces, build_faces(Path(args.fer2013), Path(args.ferplus)))
        print(f"wrote {faces} ({faces.stat().st_size / 2**20:.1f} MiB)", flush=True)
    if args.teachers:
        write_teachers(faces, args.teachers.split(","), out / "teachers")


if __name__ == "__main__":
    main()
