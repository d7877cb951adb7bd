"""CK+48: `<emotion>/S<subject>_<sequence>_<frame>.png`; group id = subject number, one split `train`.

Class names map into CK+'s label space (anger→angry, sadness→sad; contempt kept, no neutral).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath

from ferkit.constants import FACE_SIZE
from ferkit.data._classdirs import class_names, read_class_tree, subdirs
from ferkit.data.dataset import FerDataset
from ferkit.data.files import FileEntry, walk
from ferkit.data.formats import DatasetFormat, register_format
from ferkit.errors import DataError
from ferkit.labels import CKPLUS7, canonical, space_for_names

NAME = re.compile(r"^S(\d+)_(\d+)_(\d+)\.\w+$", re.IGNORECASE)


def detect(root: Path) -> bool:
    if not root.is_dir():
        return False
    for d in subdirs(root)[:3]:
        for i, f in enumerate(d.iterdir()):
            if NAME.match(f.name):
                return True
            if i > 5:
                break
    return False


def group_of(rel: str) -> int:
    m = NAME.match(PurePath(rel).name)
    if not m:
        raise DataError(f"CK+ file name {rel!r} is not S<subject>_<sequence>_<frame>")
    return int(m.group(1))


def sequence_of(source: str) -> str:
    """'S010_004' for 'anger/S010_004_00000017.png' (frames of one sequence are near-identical)."""
    m = NAME.match(PurePath(source).name)
    return f"S{m.group(1)}_{m.group(2)}" if m else source


def inputs(root: Path, options: dict) -> list[FileEntry]:
    return walk(root)


def load(root: Path, files: list[FileEntry], options: dict, strict: bool, quiet: bool) -> FerDataset:
    names = class_names(files)
    space = space_for_names(names)
    if {canonical(n) for n in names} <= set(CKPLUS7.names):
        space = CKPLUS7
    images = [f for f in files if PurePath(f.rel).suffix and len(PurePath(f.rel).parts) > 1]
    bad = [
        f.rel
        for f in images
        if not NAME.match(PurePath(f.rel).name) and PurePath(f.rel).suffix.lower() == ".png"
    ]
    if bad:
        raise DataError(f"{root / bad[0]}: CK+ file names must look like S<subject>_<sequence>_<frame>.png")
    return read_class_tree(
        root,
        files,
        depth=0,
        space=space,
        split_of=lambda rel: "train",
        split_order=("train",),
        fmt="ckplus",
        size=options.get("size", FACE_SIZE),
        strict=strict,
        quiet=quiet,
        group_of=group_of,
    )


FORMAT = register_format(
    DatasetFormat(
        name="ckplus",
        layout="CK+48 folders: <emotion>/S<subject>_<sequence>_<frame>.png",
        detect=detect,
        inputs=inputs,
        load=load,
        options={"size": FACE_SIZE},
    )
)
