"""The registry of dataset formats: each format module registers how to detect, list and read its layout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ferkit.data.dataset import FerDataset
from ferkit.data.files import FileEntry
from ferkit.errors import DataError, did_you_mean


@dataclass(frozen=True)
class DatasetFormat:
    """One dataset layout.

    Attributes:
        name: registry name (`format=` argument, `--format` option).
        layout: a one-line description of the expected layout, shown when detection fails.
        detect: root -> True when the path looks like this layout.
        inputs: (root, options) -> the files whose contents determine the result (the cache key).
        load: (root, files, options, strict, quiet) -> FerDataset.
        options: names of the keyword options this format accepts, with their defaults.
        cacheable: whether loads go through the on-disk cache (not for a file that is itself a cache).
    """

    name: str
    layout: str
    detect: Callable[[Path], bool]
    inputs: Callable[[Path, dict], list[FileEntry]]
    load: Callable[[Path, list[FileEntry], dict, bool, bool], FerDataset]
    options: dict
    cacheable: bool = True


FORMATS: dict[str, DatasetFormat] = {}
"""Registered formats in detection order (`ferkit.data` imports the format modules in that order)."""


def register_format(fmt: DatasetFormat) -> DatasetFormat:
    FORMATS[fmt.name] = fmt
    return fmt


def list_formats() -> list[str]:
    """Registered format names, in detection order."""
    return list(FORMATS)


def get_format(name: str) -> DatasetFormat:
    if name not in FORMATS:
        raise DataError(
            f"unknown dataset format {name!r}{did_you_mean(name, list(FORMATS))}; known: {', '.join(FORMATS)}"
        )
    return FORMATS[name]


def detect_format(root: Path) -> tuple[DatasetFormat, Path]:
    """The format of a path, descending through single wrapper folders (e.g. ckplus48/CK+48/).

    Raises:
        DataError: the path does not exist, is empty, or matches no layout (the message lists the layouts tried).
    """
    if not root.exists():
        raise DataError(f"{root}: no such file or directory")
    path = root
    for _ in range(3):
        for fmt in FORMATS.values():
            if fmt.detect(path):
                return fmt, path
        if not path.is_dir():
            break
        subdirs = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
        others = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
        if len(subdirs) == 1 and all(p.suffix.lower() in (".md", ".txt", "") for p in others):
            path = subdirs[0]
            continue
        break
    if root.is_dir() and not any(p for p in root.iterdir() if not p.name.startswith(".")):
        raise DataError(f"{root}: the folder is empty")
    tried = "\n".join(f"  - {f.name}: {f.layout}" for f in FORMATS.values())
    raise DataError(f"{root}: matches no known dataset layout. Layouts tried:\n{tried}")
