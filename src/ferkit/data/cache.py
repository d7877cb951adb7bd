"""On-disk cache of loaded datasets: one uncompressed .npz per (format, options, file list with sizes and mtimes).

The cache lives in $FERKIT_CACHE_DIR, else ~/.cache/ferkit/datasets. A file is named `<scope>-<content>.npz`:
the scope hashes the format, dataset folder and options, the content hashes the file list. Writing a new
content for a scope deletes the older ones, so a dataset that is edited, re-extracted or re-copied (which
changes every mtime) replaces its cache entry instead of adding one more copy of the whole dataset.
A failed write only warns: the data is already loaded. Entries are written atomically and flushed to disk; a
damaged one (zero bytes, truncated) is discarded with a warning and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ferkit.data.dataset import FerDataset
from ferkit.data.files import FileEntry
from ferkit.data.packed import dataset_arrays, dataset_from_npz, write_npz

CACHE_VERSION = 1
LEGACY_NAME = re.compile(r"[0-9a-f]{32}")  # ferkit <= 0.3.1 named entries by one hash: no longer reachable


def cache_dir() -> Path:
    base = os.environ.get("FERKIT_CACHE_DIR")
    return Path(base) if base else Path.home() / ".cache" / "ferkit" / "datasets"


def cache_key(fmt: str, root: Path, files: list[FileEntry], options: dict) -> str:
    scope = hashlib.sha256(
        json.dumps([CACHE_VERSION, fmt, str(root.resolve()), options], sort_keys=True, default=str).encode()
    ).hexdigest()[:12]
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.rel}\0{f.size}\0{f.mtime_ns}\n".encode())
    if root.is_dir():  # class folders (even empty ones) shape the label space
        for d in sorted(p for p in root.glob("*/*") if p.is_dir()) + sorted(
            p for p in root.iterdir() if p.is_dir()
        ):
            h.update(f"dir:{d.relative_to(root)}\n".encode())
    return f"{scope}-{h.hexdigest()[:20]}"


def load_cached(key: str) -> FerDataset | None:
    path = cache_dir() / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return dataset_from_npz(z)
    except (EOFError, zipfile.BadZipFile, ValueError, KeyError) as exc:  # a zero-byte or truncated entry
        warnings.warn(
            f"discarded a damaged dataset cache entry {path} ({type(exc).__name__}: {exc}); it is rebuilt",
            stacklevel=2,
        )
        try:
            path.unlink(missing_ok=True)
        except (
            OSError
        ):  # a read-only cache folder: the entry is ignored, and the next write fails with a warning
            pass
        return None
    except OSError as exc:  # the file could not be read this time: leave it alone
        warnings.warn(f"ignoring unreadable dataset cache {path}: {exc}", stacklevel=2)
        return None


def save_cached(key: str, ds: FerDataset) -> None:
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        write_npz(directory / f"{key}.npz", dataset_arrays(ds))
    except OSError as exc:
        warnings.warn(f"could not write the dataset cache in {directory}: {exc}", stacklevel=2)
        return
    scope = key.split("-", 1)[0]
    for stale in directory.glob("*.npz"):
        superseded = stale.name.startswith(f"{scope}-") and stale.name != f"{key}.npz"
        if superseded or LEGACY_NAME.fullmatch(stale.stem):
            stale.unlink(missing_ok=True)
