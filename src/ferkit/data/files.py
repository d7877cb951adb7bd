"""Listing and decoding the files of a dataset folder (fast: one scandir walk, threaded decoding)."""

from __future__ import annotations

import os
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferkit.errors import DataError
from ferkit.imageio import ImageReadError, is_image_file, read_gray

# Files that belong to a dataset's layout and are neither images nor "ignored" junk.
METADATA_FILES = frozenset(
    {"label.csv", "fer2013new.csv", "readme.md", "readme.txt", "license", "license.txt"}
)


@dataclass(frozen=True)
class FileEntry:
    """A file under the dataset root: path relative to the root, size and modification time."""

    rel: str
    size: int
    mtime_ns: int


def is_hidden(name: str) -> bool:
    """A dot entry, or the `__MACOSX` folder of resource forks that unzipping a macOS archive leaves: never data."""
    return name.startswith(".") or name == "__MACOSX"


def walk(root: Path) -> list[FileEntry]:
    """Every regular file under root (recursively, hidden entries skipped), sorted by relative path.

    A folder reached twice (a symlink loop, a folder linked twice) is listed once; an entry that cannot be
    followed (a link to itself, a broken link) is skipped, and the skips are counted in one warning.
    """
    out: list[FileEntry] = []
    stack, seen, skipped = [root], set(), []
    while stack:
        d = stack.pop()
        real = os.path.realpath(d)
        if real in seen:  # a symlink loop (link -> .) or a folder linked twice
            continue
        seen.add(real)
        try:
            entries = list(os.scandir(d))
        except PermissionError:
            raise DataError(f"{d}: permission denied") from None
        for e in entries:
            if is_hidden(e.name):
                continue
            try:
                if e.is_dir(follow_symlinks=True):
                    stack.append(Path(e.path))
                elif e.is_file(follow_symlinks=True):
                    st = e.stat()
                    out.append(FileEntry(os.path.relpath(e.path, root), st.st_size, st.st_mtime_ns))
                elif e.is_symlink():
                    skipped.append(e.path)
            except OSError:  # ELOOP: a link to itself, or a chain of links too long to follow
                skipped.append(e.path)
    if skipped:
        warnings.warn(
            f"{root}: skipped {len(skipped)} link(s) that lead nowhere (a link to itself, a loop or a broken "
            f"link), e.g. {skipped[0]}",
            stacklevel=2,
        )
    out.sort(key=lambda f: f.rel)
    return out


def split_images(files: list[FileEntry]) -> tuple[list[FileEntry], int]:
    """(image files, number of ignored non-image files); layout metadata files are not counted as ignored."""
    images = [f for f in files if is_image_file(f.rel)]
    ignored = sum(
        1 for f in files if not is_image_file(f.rel) and Path(f.rel).name.lower() not in METADATA_FILES
    )
    return images, ignored


@dataclass
class Decoded:
    """Result of decoding many files: arrays of the readable ones and the reasons for the others."""

    images: list[np.ndarray] = field(default_factory=list)
    ok: list[int] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    sizes: Counter = field(default_factory=Counter)
    modes: Counter = field(default_factory=Counter)


def decode_files(root: Path, rels: list[str], size: int | None, strict: bool, quiet: bool = True) -> Decoded:
    """Decode images to grayscale (resized to size×size when given) with 2 threads.

    Unreadable files are skipped and listed; with strict=True the first one raises its ImageReadError. Without
    `size`, images of different sizes are a DataError (they cannot form one array).
    """

    def one(rel: str):
        try:
            return read_gray(root / rel, size)
        except ImageReadError as exc:
            return exc

    out = Decoded()
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        results = pool.map(one, rels, chunksize=256)
        if not quiet:
            from tqdm import tqdm

            results = tqdm(results, total=len(rels), desc=f"decoding {root.name}", unit="img")
        for i, res in enumerate(results):
            if isinstance(res, ImageReadError):
                if strict:
                    raise res
                out.unreadable.append((str(root / rels[i]), str(res).split(": ", 1)[-1]))
                continue
            arr, (w, h), mode = res
            out.images.append(arr)
            out.ok.append(i)
            out.sizes[f"{w}x{h}"] += 1
            out.modes[mode] += 1
    if not size and len(out.sizes) > 1:
        raise DataError(
            f"{root}: images have different sizes ({', '.join(out.sizes)}); pass size=N to resize"
        )
    return out
