"""Choosing the training and validation data of a run: named splits, or a stratified (grouped) hold-out."""

from __future__ import annotations

import numpy as np

from ferkit.config import Config
from ferkit.data import FerDataset, load_dataset
from ferkit.errors import TrainingError

TEST_SPLITS = ("test", "private_test")


def load_train_val(
    cfg: Config, data_path: str | None = None, quiet: bool = True
) -> tuple[FerDataset, FerDataset]:
    """The (train, val) datasets a config asks for.

    Selection happens on `val`, so a split named test/private_test is refused unless
    `data.allow_test_selection` is true.
    """
    path = data_path or cfg.data.path
    if not path:
        raise TrainingError("no training data: pass --data PATH or set data.path in the config")
    opts = {"label_mode": cfg.data.label_mode} if cfg.data.label_mode else {}
    ds = load_dataset(path, cfg.data.format, quiet=quiet, **opts)
    return split_train_val(ds, cfg)


def split_train_val(ds: FerDataset, cfg: Config) -> tuple[FerDataset, FerDataset]:
    d = cfg.data
    train = ds.take_split(d.train_split)
    if d.val_split:
        if d.val_split in TEST_SPLITS and not d.allow_test_selection:
            raise TrainingError(
                f"refusing to select checkpoints on split {d.val_split!r}: it is a test split. Use a validation "
                f"split (e.g. public_test for FER2013, valid for FER+), data.val_split=null for a hold-out of "
                f"train, or set data.allow_test_selection=true if you really mean it"
            )
        return train, ds.take_split(d.val_split)
    return holdout(train, d.val_fraction, cfg.train.seed)


def holdout(ds: FerDataset, fraction: float, seed: int) -> tuple[FerDataset, FerDataset]:
    """Stratified hold-out with a fixed seed; whole groups (subjects) go to one side when the data has groups."""
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split

    if not 0 < fraction < 1:
        raise TrainingError(f"data.val_fraction must be between 0 and 1, got {fraction}")
    idx = np.arange(len(ds))
    if ds.groups is not None:
        k = max(2, round(1 / fraction))
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        tr, va = next(splitter.split(idx, ds.labels, ds.groups))
    else:
        counts = np.bincount(ds.labels)
        strat = ds.labels if counts[counts > 0].min() >= 2 else None
        tr, va = train_test_split(idx, test_size=fraction, random_state=seed, stratify=strat)
    return ds.subset(np.sort(tr)), ds.subset(np.sort(va))


def targets_of(ds: FerDataset, num_classes: int) -> np.ndarray:
    """float32 N×C training targets: the soft targets when the dataset has them, else one-hot labels."""
    if ds.soft_targets is not None:
        return ds.soft_targets.astype(np.float32)
    out = np.zeros((len(ds), num_classes), np.float32)
    out[np.arange(len(ds)), ds.labels] = 1.0
    return out
