"""FER+ folders: `FER2013Train|FER2013Valid|FER2013Test/*.png` with `label.csv`, optionally `fer2013new.csv`.

`label.csv` rows: `image name, "(x, y, w, h)", 10 vote counts`. `fer2013new.csv` (newer votes, columns
Usage,Image name,<10 votes>) is joined on image name and preferred when present (`votes="auto"`). The label
mode (see ferplus_votes) applies to `train`; `valid` and `test` are always scored by majority, as in FER+.
Soft targets are kept for the probability modes.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferkit.data.dataset import FerDataset, build_dataset
from ferkit.data.ferplus_votes import MODES, process_votes
from ferkit.data.files import FileEntry, decode_files, walk
from ferkit.data.formats import DatasetFormat, register_format
from ferkit.errors import DataError, did_you_mean
from ferkit.labels import FERPLUS8

FOLDERS = {"FER2013Train": "train", "FER2013Valid": "valid", "FER2013Test": "test"}
USAGE = {"Training": "FER2013Train", "PublicTest": "FER2013Valid", "PrivateTest": "FER2013Test"}
NEW_CSV = "fer2013new.csv"
VOTES = ("auto", "fer2013new", "label_csv")


def detect(root: Path) -> bool:
    return root.is_dir() and any((root / d / "label.csv").is_file() for d in FOLDERS)


def inputs(root: Path, options: dict) -> list[FileEntry]:
    return [f for f in walk(root) if f.rel.split("/")[0] in FOLDERS or f.rel == NEW_CSV]


def _votes(values: list[str], where: str) -> np.ndarray:
    try:
        v = np.array([float(x) for x in values], dtype=np.float64)
    except ValueError:
        raise DataError(f"{where}: vote counts must be numbers (got {values})") from None
    if v.size != 10:
        raise DataError(f"{where}: {v.size} vote columns, expected 10 (8 emotions, unknown, NF)")
    return v


def read_label_csv(path: Path) -> dict[str, np.ndarray]:
    out = {}
    with open(path, newline="") as fh:
        for line_no, row in enumerate(csv.reader(fh), start=1):
            if row and row[0].strip() and not row[0].lower().startswith("image"):
                out[row[0].strip()] = _votes(row[2:], f"{path} line {line_no}")
    return out


def read_new_csv(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """{folder: {image name: votes}} from fer2013new.csv; rows with an empty image name are skipped."""
    out: dict[str, dict[str, np.ndarray]] = {f: {} for f in FOLDERS}
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if len(header) < 12 or header[1].strip().lower() != "image name":
            raise DataError(
                f"{path}: expected header Usage,Image name,<10 vote columns>, got {','.join(header)}"
            )
        for line_no, row in enumerate(reader, start=2):
            if len(row) >= 2 and row[1].strip():
                folder = USAGE.get(row[0].strip())
                if folder is None:
                    raise DataError(f"{path} line {line_no}: unknown Usage {row[0]!r}")
                out[folder][row[1].strip()] = _votes(row[2:12], f"{path} line {line_no}")
    return out


def load(root: Path, files: list[FileEntry], options: dict, strict: bool, quiet: bool) -> FerDataset:
    mode, new = _mode(options), _new_votes(root, options.get("votes", "auto"))
    rows = _rows(root, {f.rel for f in files}, mode, new)
    dec = decode_files(root, rows.rels, options.get("size") or None, strict, quiet)
    soft = (
        np.stack([rows.targets[i] for i in dec.ok]).astype(np.float32)
        if dec.ok
        else np.zeros((0, 8), np.float32)
    )
    return build_dataset(
        images=dec.images,
        labels=soft.argmax(1) if len(soft) else [],
        label_space=FERPLUS8,
        splits=[rows.splits[i] for i in dec.ok],
        split_order=tuple(FOLDERS.values()),
        sources=[rows.rels[i] for i in dec.ok],
        format="ferplus",
        root=root,
        soft_targets=None if mode == "majority" else soft,
        unreadable=rows.missing + dec.unreadable,
        ignored=rows.ignored,
        sizes=dec.sizes,
        modes=dec.modes,
        notes={"label_mode": mode, "votes": NEW_CSV if new is not None else "label.csv", **rows.notes},
    )


def _mode(options: dict) -> str:
    mode = options.get("label_mode", "majority")
    if mode not in MODES:
        raise DataError(f"unknown FER+ label mode {mode!r}; choose one of {', '.join(MODES)}")
    return mode


def _new_votes(root: Path, votes_opt: str) -> dict | None:
    """fer2013new.csv's votes per folder and image, or None when label.csv files are used."""
    if votes_opt not in VOTES:
        raise DataError(
            f"unknown FER+ votes source {votes_opt!r}{did_you_mean(str(votes_opt), VOTES)}; choose one of "
            f"{', '.join(VOTES)}"
        )
    new = read_new_csv(root / NEW_CSV) if votes_opt != "label_csv" and (root / NEW_CSV).is_file() else None
    if votes_opt == "fer2013new" and new is None:
        raise DataError(f"{root / NEW_CSV}: not found (votes='fer2013new')")
    return new


@dataclass
class _Rows:
    """The labelled images of a FER+ tree, before decoding: their paths, targets and splits, plus what was
    dropped (by the label rule: `notes`), listed but missing, or on disk but not listed (`ignored`)."""

    rels: list[str] = field(default_factory=list)
    targets: list[np.ndarray] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    notes: Counter = field(default_factory=Counter)
    ignored: int = 0


def _rows(root: Path, on_disk: set[str], mode: str, new: dict | None) -> _Rows:
    rows, listed = _Rows(), set()
    for folder, split in FOLDERS.items():
        if not (root / folder / "label.csv").is_file():
            continue
        rule = mode if split == "train" else "majority"
        for name, votes in read_label_csv(root / folder / "label.csv").items():
            rel = f"{folder}/{name}"
            listed.add(rel)
            if new is not None and name in new[folder]:
                votes = new[folder][name]
            elif new is not None:
                rows.notes[f"{split}_not_in_{NEW_CSV}"] += 1
            target = process_votes(votes, rule)
            if target is None:
                rows.notes[f"{split}_dropped_by_{rule}"] += 1
            elif rel not in on_disk:
                rows.missing.append((str(root / rel), "listed in label.csv but missing"))
            else:
                rows.rels.append(rel)
                rows.targets.append(target)
                rows.splits.append(split)
    rows.ignored = sum(1 for r in on_disk if r not in listed and not r.endswith(".csv"))
    return rows


FORMAT = register_format(
    DatasetFormat(
        name="ferplus",
        layout="FER+ folders: FER2013Train|FER2013Valid|FER2013Test/*.png with label.csv (+ optional fer2013new.csv)",
        detect=detect,
        inputs=inputs,
        load=load,
        options={"label_mode": "majority", "votes": "auto", "size": None},
    )
)
