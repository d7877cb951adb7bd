"""FER2013's faces with their FER2013 labels and FER+ votes in one compact file, the two training sets built from
it, and teachers' logits on its training faces (for distillation without the teachers' weights).

    python -m release.joined_faces build [--fer2013 ../shared/data/fer2013] [--ferplus ../shared/data/ferplus]
        [--out runs/campaign] [--teachers default,fast,git:7079c8c,git:15b28e2]
    python -m release.joined_faces datasets runs/campaign/faces.npz.xz runs/campaign/data

`build` writes:
- `faces.npz.xz`: images (the Kaggle JPEGs decoded, N×48×48 uint8: train, then public_test), fer7 (FER2013 label,
  FER7 order), split (0 train, 1 public_test), votes (the 10 FER+ vote columns, from fer2013new.csv where it has the
  image), matched (whether the face was found among the FER+ PNGs of the same split, by pixels: `ferkit.data.join`).
- `teachers/<name>.logits.npz`: each teacher's logits on the training split of the FER2013 dataset that
  `datasets` builds from faces.npz.xz, in the trainer's order (`train.distill_from` takes these files, so the
  teachers' weights are not needed where the students train). `git:<commit>` is the default model shipped at
  that commit.

`datasets` turns faces.npz.xz into two packed datasets: fer2013.npz (FER7 labels; train, public_test) and
ferplus.npz (FER+ 8 classes from the votes: probability targets for train, the majority label for valid =
PublicTest, FER+'s rules for dropping faces; only faces found among the FER+ PNGs). configs/campaign/ train on
them (`python -m release.train_gpu`).
"""

from __future__ import annotations

import argparse
import io
import lzma
import subprocess
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SPLITS = {"train": ("FER2013Train", 0), "public_test": ("FER2013Valid", 1)}


def prepare(faces: Path, out: Path) -> tuple[Path, Path]:
    """(fer2013.npz, ferplus.npz) packed datasets in `out` from the joined faces file."""
    from ferkit.data.dataset import build_dataset
    from ferkit.data.ferplus_votes import process_votes
    from ferkit.data.packed import pack_dataset
    from ferkit.labels import FER7, FERPLUS8

    with lzma.open(faces, "rb") as fh, np.load(io.BytesIO(fh.read()), allow_pickle=False) as z:
        images, fer7, split, votes, matched = (z[k] for k in ("images", "fer7", "split", "votes", "matched"))
    names = np.array(["train", "public_test"])
    out.mkdir(parents=True, exist_ok=True)
    fer = build_dataset(
        images=images,
        labels=fer7.astype(np.int64),
        label_space=FER7,
        splits=list(names[split]),
        split_order=("train", "public_test"),
        sources=[f"face{i}" for i in range(len(images))],
        format="campaign",
        root=faces,
    )
    keep, targets, plus_splits = [], [], []
    for i in np.flatnonzero(matched):
        rule = "probability" if split[i] == 0 else "majority"
        target = process_votes(votes[i].astype(np.float64), rule)
        if target is not None:
            keep.append(i)
            targets.append(target)
            plus_splits.append("train" if split[i] == 0 else "valid")
    soft = np.stack(targets).astype(np.float32)
    plus = build_dataset(
        images=images[keep],
        labels=soft.argmax(1),
        label_space=FERPLUS8,
        splits=plus_splits,
        split_order=("train", "valid"),
        sources=[f"face{i}" for i in keep],
        format="campaign",
        root=faces,
        soft_targets=soft,
        notes={"label_mode": "probability"},
    )
    return pack_dataset(fer, out / "fer2013.npz"), pack_dataset(plus, out / "ferplus.npz")


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
    sub = ap.add_subparsers(dest="verb", required=True)
    b = sub.add_parser("build", help="faces.npz.xz and the teachers' logits")
    b.add_argument("--fer2013", default=str(SHARED / "fer2013"))
    b.add_argument("--ferplus", default=str(SHARED / "ferplus"))
    b.add_argument("--out", default=str(ROOT / "runs" / "campaign"))
    b.add_argument("--teachers", default="default,fast,git:7079c8c,git:15b28e2")
    d = sub.add_parser("datasets", help="fer2013.npz and ferplus.npz from faces.npz.xz")
    d.add_argument("faces")
    d.add_argument("dir")
    args = ap.parse_args()
    if args.verb == "datasets":
        print(*prepare(Path(args.faces), Path(args.dir)), sep="\n")
        return
    out = Path(args.out)
    faces = out / "faces.npz.xz"
    if not faces.is_file():
        write_xz(faces, build_faces(Path(args.fer2013), Path(args.ferplus)))
        print(f"wrote {faces} ({faces.stat().st_size / 2**20:.1f} MiB)", flush=True)
    if args.teachers:
        write_teachers(faces, args.teachers.split(","), out / "teachers")


if __name__ == "__main__":
    main()
