"""Shared reading of `<class>/<images>` trees, used by the Kaggle FER2013, CK+ and image-folder formats."""

from __future__ import annotations

import warnings
from pathlib import Path, PurePath

from ferkit.constants import FACE_SIZE
from ferkit.data.dataset import FerDataset, build_dataset
from ferkit.data.files import FileEntry, decode_files, is_hidden, split_images
from ferkit.errors import DataError
from ferkit.labels import LabelSpace, canonical


def class_of(rel: str, depth: int) -> str | None:
    """The class folder name of a relative path: its component at `depth` (None when the file sits higher)."""
    parts = PurePath(rel).parts
    return parts[depth] if len(parts) > depth + 1 else None


def class_names(files: list[FileEntry], depth: int = 0) -> set[str]:
    """Names of the class folders that hold at least one image: an empty folder, or one of hidden files only
    (a macOS `__MACOSX` of `._*` resource forks), is not a class."""
    images, _ = split_images(files)
    return {name for f in images if (name := class_of(f.rel, depth)) is not None}


def _warn_merged_folders(root: Path, names: set[str]) -> None:
    """Two folders read as one class (happy/ and Happiness/) are merged: say so, it may be a mistake."""
    by_class: dict[str, list[str]] = {}
    for name in sorted(names):
        by_class.setdefault(canonical(name), []).append(name)
    for cls, folders in by_class.items():
        if len(folders) > 1:
            warnings.warn(
                f"{root}: folders {' and '.join(repr(f) for f in folders)} are both read as class {cls!r} "
                "(their images are merged)",
                stacklevel=3,
            )


def _labelled(root: Path, files: list[FileEntry], depth: int, space: LabelSpace):
    """(images inside a class folder, their label ids, files ignored): an image outside any class folder has no
    label; a folder that is not a class of `space` is a DataError naming it."""
    images, ignored = split_images(files)
    kept = [f for f in images if class_of(f.rel, depth) is not None]
    ignored += len(images) - len(kept)
    labels, folders = [], set()
    for f in kept:
        name = class_of(f.rel, depth)
        folders.add(name)
        if canonical(name) not in space.names:
            raise DataError(
                f"{root / PurePath(f.rel).parent}: folder {name!r} is not a class of label space "
                f"{space.name} ({', '.join(space.names)})"
            )
        labels.append(space.names.index(canonical(name)))
    _warn_merged_folders(root, folders)
    return kept, labels, ignored


def read_class_tree(
    root: Path,
    files: list[FileEntry],
    *,
    depth: int,
    space: LabelSpace,
    split_of,
    split_order: tuple[str, ...],
    fmt: str,
    size: int | None,
    strict: bool,
    quiet: bool,
    group_of=None,
) -> FerDataset:
    """Decode every image below a class folder and label it by that folder's name.

    Args:
        depth: index of the class folder in a file's relative path (0: root/<class>/..., 1: root/<split>/<class>/...).
        split_of: rel path -> split name.
        group_of: rel path -> int group id, or None.
    """
    kept, labels, ignored = _labelled(root, files, depth, space)
    dec = decode_files(root, [f.rel for f in kept], size if size else None, strict, quiet)
    rels = [kept[i].rel for i in dec.ok]
    return build_dataset(
        images=dec.images,
        labels=[labels[i] for i in dec.ok],
        label_space=space,
        splits=[split_of(r) for r in rels],
        split_order=split_order,
        sources=rels,
        format=fmt,
        root=root,
        groups=None if group_of is None else [group_of(r) for r in rels],
        unreadable=dec.unreadable,
        ignored=ignored,
        sizes=dec.sizes,
        modes=dec.modes,
        image_size=size or FACE_SIZE,
    )


def subdirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not is_hidden(p.name))
