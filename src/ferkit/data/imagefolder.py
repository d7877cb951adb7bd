"""Any image folder `<class>/<images>` of any size and mode, converted to grayscale size×size (one split `all`).

Class names keep their folder names, with aliases mapped (happiness→happy, anger→angry); when every name is in a
known label space (FER7, CK+, FER+) that space and its order are used.
"""

from __future__ import annotations

from pathlib import Path

from ferkit.constants import FACE_SIZE
from ferkit.data._classdirs import class_names, read_class_tree, subdirs
from ferkit.data.dataset import FerDataset
from ferkit.data.files import FileEntry, walk
from ferkit.data.formats import DatasetFormat, register_format
from ferkit.imageio import is_image_file
from ferkit.labels import space_for_names


def detect(root: Path) -> bool:
    if not root.is_dir():
        return False
    # Images must sit directly in the class folders: a wrapper folder (ckplus48/CK+48/...) is descended instead.
    return any(is_image_file(p) and p.is_file() for d in subdirs(root) for p in d.iterdir())


def inputs(root: Path, options: dict) -> list[FileEntry]:
    return walk(root)


def load(root: Path, files: list[FileEntry], options: dict, strict: bool, quiet: bool) -> FerDataset:
    names = class_names(files)
    return read_class_tree(
        root,
        files,
        depth=0,
        space=space_for_names(names),
        split_of=lambda rel: "all",
        split_order=("all",),
        fmt="imagefolder",
        size=options.get("size", FACE_SIZE),
        strict=strict,
        quiet=quiet,
    )


FORMAT = register_format(
    DatasetFormat(
        name="imagefolder",
        layout="image folder: <class>/<images> (any size or mode; converted to grayscale)",
        detect=detect,
        inputs=inputs,
        load=load,
        options={"size": FACE_SIZE},
    )
)
