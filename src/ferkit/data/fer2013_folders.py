"""FER2013 in the Kaggle image-folder layout: `train/<emotion>/Training_*.jpg`, `test/<emotion>/PublicTest_*.jpg`.

Splits come from the file-name prefix (Training_, PublicTest_, PrivateTest_); a file without one takes its
split from its top folder (train, test, val/valid). A folder holding only some splits is valid. Class folders
with other names than FER2013's (after aliases) give a custom label space.
"""

from __future__ import annotations

from pathlib import Path, PurePath

from ferkit.constants import FACE_SIZE
from ferkit.data._classdirs import read_class_tree, subdirs
from ferkit.data.dataset import FerDataset
from ferkit.data.files import FileEntry, walk
from ferkit.data.formats import DatasetFormat, register_format
from ferkit.labels import space_for_names

SPLIT_DIRS = {
    "train": "train",
    "training": "train",
    "test": "test",
    "val": "valid",
    "valid": "valid",
    "validation": "valid",
}
PREFIXES = {"training": "train", "publictest": "public_test", "privatetest": "private_test"}
SPLIT_ORDER = ("train", "valid", "public_test", "private_test", "test")


def _split_dirs(root: Path) -> list[Path]:
    return [d for d in subdirs(root) if d.name.lower() in SPLIT_DIRS]


def detect(root: Path) -> bool:
    return root.is_dir() and any(subdirs(d) for d in _split_dirs(root))


def split_of(rel: str) -> str:
    parts = PurePath(rel).parts
    prefix = parts[-1].split("_", 1)[0].lower()
    if prefix in PREFIXES:
        return PREFIXES[prefix]
    return SPLIT_DIRS[parts[0].lower()]


def inputs(root: Path, options: dict) -> list[FileEntry]:
    return [f for f in walk(root) if PurePath(f.rel).parts[0].lower() in SPLIT_DIRS]


def load(root: Path, files: list[FileEntry], options: dict, strict: bool, quiet: bool) -> FerDataset:
    names = {c.name for d in _split_dirs(root) for c in subdirs(d)}
    return read_class_tree(
        root,
        files,
        depth=1,
        space=space_for_names(names),
        split_of=split_of,
        split_order=SPLIT_ORDER,
        fmt="fer2013",
        size=options.get("size", FACE_SIZE),
        strict=strict,
        quiet=quiet,
    )


FORMAT = register_format(
    DatasetFormat(
        name="fer2013",
        layout="FER2013 Kaggle folders: train/<emotion>/Training_*.jpg, test/<emotion>/{PublicTest,PrivateTest}_*.jpg",
        detect=detect,
        inputs=inputs,
        load=load,
        options={"size": FACE_SIZE},
    )
)
