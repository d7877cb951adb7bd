"""On-disk cache of loaded datasets: one uncompressed .npz per (format, options, file list with sizes and mtimes).

The cache lives in $FERKIT_CACHE_DIR, else ~/.cache/ferkit/datasets. A failed write only warns: the data is
already loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ferkit.data.dataset import FerDataset
from ferkit.data.files import FileEntry
from ferkit.labels import LabelSpace

CACHE_VERSION = 1


def cache_dir() -> Path:
    base = os.environ.get("FERKIT_CACHE_DIR")
    return Path(base) if base else Path.home() / ".cache" / "ferkit" / "datasets"


def cache_key(fmt: str, root: Path, files: list[FileEntry], options: dict) -> str:
    h = hashlib.sha256()
    h.update(
        json.dumps([CACHE_VERSION, fmt, str(root.resolve()), options], sort_keys=True, default=str).encode()
    )
    for f in files:
        h.update(f"{f.rel}\0{f.size}\0{f.mtime_ns}\n".encode())
    if root.is_dir():  # class folders (even empty ones) shape the label space
        for d in sorted(p for p in root.glob("*/*") if p.is_dir()) + sorted(
            p for p in root.iterdir() if p.is_dir()
        ):
            h.update(f"dir:{d.relative_to(root)}\n".encode())
    return h.hexdigest()[:32]


def load_cached(key: str) -> FerDataset | None:
    path = cache_dir() / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            return FerDataset(
                images=z["images"],
                labels=z["labels"],
                label_space=LabelSpace.from_dict(meta["label_space"]),
                split_ids=z["split_ids"],
                split_names=tuple(meta["split_names"]),
                sources=z["sources"],
                format=meta["format"],
                root=meta["root"],
                groups=z["groups"] if "groups" in z.files else None,
                soft_targets=z["soft_targets"] if "soft_targets" in z.files else None,
                unreadable=[tuple(u) for u in meta["unreadable"]],
                ignored=meta["ignored"],
                image_info=meta["image_info"],
                notes=meta["notes"],
            )
    except (OSError, ValueError, KeyError) as exc:
        warnings.warn(f"ignoring unreadable dataset cache {path}: {exc}", stacklevel=2)
        return None


def save_cached(key: str, ds: FerDataset) -> None:
    meta = {
        "label_space": ds.label_space.to_dict(),
        "split_names": list(ds.split_names),
        "format": ds.format,
        "root": ds.root,
        "unreadable": ds.unreadable,
        "ignored": ds.ignored,
        "image_info": ds.image_info,
        "notes": ds.notes,
    }
    arrays = {
        "images": ds.images,
        "labels": ds.labels,
        "split_ids": ds.split_ids,
        "sources": ds.sources,
        "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
    }
    if ds.groups is not None:
        arrays["groups"] = ds.groups
    if ds.soft_targets is not None:
        arrays["soft_targets"] = ds.soft_targets
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, directory / f"{key}.npz")
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        warnings.warn(f"could not write the dataset cache in {directory}: {exc}", stacklevel=2)
