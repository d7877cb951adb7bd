"""The one in-memory form of every FER dataset: uint8 images + label ids + split + optional group."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ferkit.errors import DataError
from ferkit.labels import LabelSpace


@dataclass
class FerDataset:
    """A loaded dataset.

    Attributes:
        images: uint8 array N×H×W (grayscale).
        labels: int64 array N of label ids in `label_space`.
        label_space: the class names, in id order.
        split_ids: int8 array N, index into `split_names`.
        split_names: names of the splits, e.g. ("train", "public_test").
        groups: int64 array N of group ids (CK+ subject) or None.
        soft_targets: float32 array N×C of target distributions (FER+ probability modes) or None.
        sources: str array N naming where each sample came from (relative path or `file.csv:line`).
        format: the format name that read it.
        root: the path it was read from.
        unreadable: (path, reason) of every image that could not be decoded (skipped).
        ignored: number of non-image files that were ignored.
        image_info: counts of original image sizes ("48x48") and modes ("L") as read from disk.
        notes: format-specific counts, e.g. FER+ samples dropped by the label rule.
    """

    images: np.ndarray
    labels: np.ndarray
    label_space: LabelSpace
    split_ids: np.ndarray
    split_names: tuple[str, ...]
    sources: np.ndarray
    format: str
    root: str
    groups: np.ndarray | None = None
    soft_targets: np.ndarray | None = None
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    ignored: int = 0
    image_info: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        per = ", ".join(f"{s}={n}" for s, n in self.split_counts().items())
        return (
            f"FerDataset(format={self.format!r}, n={len(self)}, size={tuple(self.images.shape[1:])}, "
            f"labels={self.label_space.name}, splits: {per})"
        )

    @property
    def splits(self) -> list[str]:
        """Names of the splits that hold at least one sample, in split order."""
        present = set(np.unique(self.split_ids).tolist())
        return [name for i, name in enumerate(self.split_names) if i in present]

    @property
    def split(self) -> np.ndarray:
        """Split name of each sample (str array N)."""
        return np.asarray(self.split_names, dtype=object)[self.split_ids].astype(str)

    def split_counts(self) -> dict[str, int]:
        counts = np.bincount(self.split_ids.astype(np.int64), minlength=len(self.split_names))
        return {name: int(counts[i]) for i, name in enumerate(self.split_names) if counts[i]}

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.label_space))
        return {name: int(counts[i]) for i, name in enumerate(self.label_space.names)}

    def subset(self, index: np.ndarray) -> FerDataset:
        """A new dataset holding the samples selected by a boolean mask or an index array."""
        index = np.asarray(index)
        return replace(
            self,
            images=self.images[index],
            labels=self.labels[index],
            split_ids=self.split_ids[index],
            sources=self.sources[index],
            groups=None if self.groups is None else self.groups[index],
            soft_targets=None if self.soft_targets is None else self.soft_targets[index],
        )

    def take_split(self, name: str) -> FerDataset:
        """The samples of one split. Raises DataError listing the splits present when it is missing or empty."""
        if name not in self.split_names or not np.any(self.split_ids == self.split_names.index(name)):
            raise DataError(
                f"{self.root}: split {name!r} not found; this {self.format} dataset has splits: "
                f"{', '.join(self.splits) or 'none'}"
            )
        return self.subset(self.split_ids == self.split_names.index(name))

    def counts_per_split(self) -> dict[str, dict[str, int]]:
        """{split: {label: count}} for every split present."""
        out = {}
        for name in self.splits:
            sel = self.labels[self.split_ids == self.split_names.index(name)]
            counts = np.bincount(sel, minlength=len(self.label_space))
            out[name] = {lab: int(counts[i]) for i, lab in enumerate(self.label_space.names)}
        return out


def build_dataset(
    *,
    images: list[np.ndarray] | np.ndarray,
    labels: list[int] | np.ndarray,
    label_space: LabelSpace,
    splits: list[str],
    split_order: tuple[str, ...],
    sources: list[str],
    format: str,
    root: Path | str,
    groups: list[int] | None = None,
    soft_targets: np.ndarray | None = None,
    unreadable: list[tuple[str, str]] | None = None,
    ignored: int = 0,
    sizes: Counter | None = None,
    modes: Counter | None = None,
    notes: dict | None = None,
    image_size: int = 0,
) -> FerDataset:
    """Assemble a FerDataset from per-sample lists (used by every format reader)."""
    names = tuple(s for s in split_order if s in set(splits)) + tuple(sorted(set(splits) - set(split_order)))
    index = {s: i for i, s in enumerate(names)}
    n = len(labels)
    if n:
        arr = np.stack(images).astype(np.uint8, copy=False) if isinstance(images, list) else images
    else:
        arr = np.zeros((0, image_size, image_size), np.uint8)
    return FerDataset(
        images=arr,
        labels=np.asarray(labels, dtype=np.int64).reshape(n),
        label_space=label_space,
        split_ids=np.asarray([index[s] for s in splits], dtype=np.int8).reshape(n),
        split_names=names,
        sources=np.asarray(sources, dtype=str).reshape(n),
        format=format,
        root=str(root),
        groups=None if groups is None else np.asarray(groups, dtype=np.int64).reshape(n),
        soft_targets=soft_targets,
        unreadable=list(unreadable or []),
        ignored=ignored,
        image_info={"sizes": dict(sizes or {}), "modes": dict(modes or {})},
        notes=dict(notes or {}),
    )
