"""The packed format: a whole `FerDataset` in one `.npz` file (optionally `.npz.xz`), as `ferkit data pack` writes it.

One file that loads in a second, with every split, label, group, soft target and note of the source dataset; the
xz-compressed form is the smallest way to move a dataset to another machine (FER2013 train + PublicTest: 56 MB).

    ferkit data pack ../data/fer2013 fer2013.npz.xz --splits train,public_test
    ferkit train -c configs/fer2013_resnet18_gpu.yaml --data fer2013.npz.xz
"""

from __future__ import annotations

import io
import json
import lzma
import zipfile
from pathlib import Path

import numpy as np

from ferkit._atomic import atomic_path
from ferkit.data.dataset import FerDataset
from ferkit.data.files import FileEntry
from ferkit.data.formats import DatasetFormat, register_format
from ferkit.errors import DataError
from ferkit.labels import LabelSpace

SUFFIXES = (".npz", ".npz.xz")


def dataset_arrays(ds: FerDataset) -> dict[str, np.ndarray]:
    """The arrays (metadata as JSON bytes under "meta") that store a dataset losslessly."""
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
    return arrays


def dataset_from_npz(z) -> FerDataset:
    """Rebuild a dataset from an opened `np.load` archive written by `dataset_arrays`."""
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


def write_npz(path: Path, arrays: dict[str, np.ndarray], xz: bool = False) -> None:
    """Atomically write an uncompressed .npz (xz-compressed as a whole when `xz`)."""
    opener = (lambda p: lzma.open(p, "wb", preset=6)) if xz else (lambda p: open(p, "wb"))
    with atomic_path(path) as tmp, opener(tmp) as fh:
        np.savez(fh, **arrays)


def pack_dataset(ds: FerDataset, out: str | Path, splits: list[str] | None = None) -> Path:
    """Write `ds` (or only `splits` of it) to `out` (.npz, or .npz.xz for xz compression); returns the path."""
    out = Path(out)
    if not out.name.endswith(SUFFIXES):
        raise DataError(f"{out}: a packed dataset is named *.npz or *.npz.xz")
    if splits:
        unknown = [s for s in splits if s not in ds.split_names]
        if unknown:
            raise DataError(f"no split {unknown[0]!r} in {ds.root}; splits: {', '.join(ds.split_names)}")
        keep = np.isin(ds.split_ids, [ds.split_names.index(s) for s in splits])
        ds = ds.subset(np.flatnonzero(keep))
    if not out.parent.is_dir():
        raise DataError(f"{out.parent}: no such folder")
    try:
        write_npz(out, dataset_arrays(ds), xz=out.name.endswith(".xz"))
    except OSError as exc:
        raise DataError(f"{out}: cannot write ({exc.strerror or exc})") from None
    return out


def detect(root: Path) -> bool:
    return root.is_file() and root.name.lower().endswith(SUFFIXES)


def inputs(root: Path, options: dict) -> list[FileEntry]:
    st = root.stat()
    return [FileEntry(root.name, st.st_size, st.st_mtime_ns)]


def load(root: Path, files: list[FileEntry], options: dict, strict: bool, quiet: bool) -> FerDataset:
    try:
        if root.name.lower().endswith(".xz"):
            with lzma.open(root, "rb") as fh:
                source = io.BytesIO(fh.read())
        else:
            source = root
        with np.load(source, allow_pickle=False) as z:
            return dataset_from_npz(z)
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise DataError(f"{root}: not a readable packed dataset ({exc})") from None
    except (KeyError, ValueError, json.JSONDecodeError) as exc:
        raise DataError(f"{root}: not a ferkit packed dataset (missing or bad member: {exc})") from None


FORMAT = register_format(
    DatasetFormat(
        name="packed",
        layout="a packed dataset file (*.npz or *.npz.xz) written by `ferkit data pack`",
        detect=detect,
        inputs=inputs,
        load=load,
        options={},
        cacheable=False,
    )
)
