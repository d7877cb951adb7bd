"""Training from two label sets of the same faces: `data.second_labels` names a second copy of the training faces
with labels of its own (e.g. the FER2013 folders beside FER+, whose PNGs hold no FER2013 file names), matched to
the training faces by their pixels (`ferkit.data.join.match_faces`).

A matched face trains on (1 − w) · its own target + w · the second set's label (one-hot), w = `data.second_weight`.
A training face without a match keeps its own target. A face of the second set that matches no training face (one
that FER+ dropped as unknown or not a face) is left out, or added with its second label alone when
`data.second_unmatched` is `add`. Labels are matched by class name (angry = anger, happy = happiness, ...); a
second label whose class the training data lacks joins no target.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ferkit.data import FerDataset, load_dataset
from ferkit.data.join import match_faces
from ferkit.errors import DataError
from ferkit.labels import remap_table
from ferkit.train.data_setup import targets_of

UNMATCHED = ("skip", "add")


@dataclasses.dataclass(frozen=True)
class Joined:
    """What the join did, for the log and the run's record."""

    matched: int
    agree: int  # matched faces whose two labels name the same class (of those whose second class maps)
    foreign: int  # matched faces whose second label the training data has no class for
    added: int  # faces of the second set added with their second label alone

    def describe(self, n_train: int, weight: float) -> str:
        return (
            f"second labels: {self.matched} of {n_train} training faces matched by pixels, their two labels agree "
            f"on {self.agree / max(self.matched - self.foreign, 1):.1%} (weight {weight} on the second label)"
            + (f"; {self.foreign} second labels name a class the training data lacks" if self.foreign else "")
            + (f"; {self.added} faces only the second set labels were added" if self.added else "")
        )


def join_second_labels(
    train: FerDataset,
    second: FerDataset,
    weight: float,
    unmatched: str = "skip",
    held_out: np.ndarray | None = None,
) -> tuple[FerDataset, Joined]:
    """`train` with soft targets from both label sets (see the module docstring); `second` holds the same faces.
    `held_out` (uint8 N×H×W: validation faces) keeps `add` from bringing a validation face into training.
    Raises DataError when no training face matches a face of `second` with a class the training data has."""
    if unmatched not in UNMATCHED:
        raise DataError(f"data.second_unmatched={unmatched!r}: choose one of {', '.join(UNMATCHED)}")
    if train.images.shape[1:] != second.images.shape[1:]:
        raise DataError(
            f"{second.root}: faces of {second.images.shape[1:]} px, the training faces are {train.images.shape[1:]}:"
            " the second label set must hold the same faces at the same size"
        )
    n_classes = len(train.label_space)
    table = remap_table(second.label_space, train.label_space)
    own = targets_of(train, n_classes)
    index, _ = match_faces(train.images, second.images)
    mapped = np.where(index >= 0, table[second.labels[np.maximum(index, 0)]], -1)
    hit = mapped >= 0
    if not hit.any():
        raise DataError(
            f"{second.root}: none of the {len(train)} training faces matches one of its {len(second)} faces with "
            "a class the training data has: data.second_labels must hold the same faces (e.g. the FER2013 "
            "folders beside FER+)"
        )
    soft = own.copy()
    soft[hit] *= 1 - weight
    soft[np.flatnonzero(hit), mapped[hit]] += weight
    joined = dataclasses.replace(train, soft_targets=soft, labels=soft.argmax(1).astype(np.int64))
    stats = Joined(
        matched=int((index >= 0).sum()),
        agree=int((own[hit].argmax(1) == mapped[hit]).sum()),
        foreign=int(((index >= 0) & ~hit).sum()),
        added=0,
    )
    if unmatched == "add":
        joined, added = _add_unmatched(joined, second, table, held_out)
        stats = dataclasses.replace(stats, added=added)
    return joined, stats


def _add_unmatched(
    train: FerDataset, second: FerDataset, table: np.ndarray, held_out: np.ndarray | None
) -> tuple[FerDataset, int]:
    """`train` plus the faces of `second` that match no training (and no held-out) face, on their second label."""
    known = (
        train.images if held_out is None or not len(held_out) else np.concatenate([train.images, held_out])
    )
    back, _ = match_faces(second.images, known)
    new = np.flatnonzero((back < 0) & (table[second.labels] >= 0))
    if len(new) == 0:
        return train, 0
    labels = table[second.labels[new]]
    onehot = np.zeros((len(new), len(train.label_space)), np.float32)
    onehot[np.arange(len(new)), labels] = 1.0
    split_id = train.split_ids[:1] if len(train) else np.zeros(1, np.int8)
    grown = dataclasses.replace(
        train,
        images=np.concatenate([train.images, second.images[new]]),
        labels=np.concatenate([train.labels, labels]),
        split_ids=np.concatenate([train.split_ids, np.repeat(split_id, len(new))]),
        sources=np.concatenate([train.sources, [f"{second.root}:{s}" for s in second.sources[new]]]),
        groups=None,
        soft_targets=np.concatenate([train.soft_targets, onehot]),
    )
    return grown, len(new)


def with_second_labels(
    train: FerDataset, data_cfg, log, quiet: bool = True, held_out: FerDataset | None = None
) -> FerDataset:
    """The training split with `data.second_labels` joined in (unchanged when the config names none); faces of
    `held_out` (the validation split) are never added to training."""
    if not data_cfg.second_labels:
        return train
    try:
        second = load_dataset(data_cfg.second_labels, quiet=quiet)
    except DataError as exc:
        raise DataError(f"data.second_labels: {exc}") from None
    split = data_cfg.train_split
    if split not in second.splits:
        raise DataError(
            f"{data_cfg.second_labels}: no split {split!r} (data.train_split) to match the training faces in; "
            f"it has {', '.join(second.splits) or 'none'}"
        )
    joined, stats = join_second_labels(
        train,
        second.take_split(split),
        data_cfg.second_weight,
        data_cfg.second_unmatched,
        None if held_out is None else held_out.images,
    )
    log(stats.describe(len(train), data_cfg.second_weight))
    return joined
