"""Choosing the training and validation data of a run: named splits, or a stratified (grouped) hold-out."""

from __future__ import annotations

import dataclasses

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
    from pathlib import Path

    from ferkit.data import detect_format, get_format

    fmt = get_format(cfg.data.format) if cfg.data.format else detect_format(Path(path).expanduser())[0]
    packed = fmt.name == "packed"  # a packed FER+ keeps the label mode it was packed with, in its notes
    opts = {"label_mode": cfg.data.label_mode} if cfg.data.label_mode and not packed else {}
    ds = load_dataset(path, cfg.data.format, quiet=quiet, **opts)
    stored = ds.notes.get("label_mode")
    if packed and cfg.data.label_mode and stored != cfg.data.label_mode:
        raise TrainingError(
            f"{path} was packed with label_mode={stored or 'none (hard labels)'}, the config asks for "
            f"data.label_mode={cfg.data.label_mode}; pack it again with --label-mode {cfg.data.label_mode} "
            f"or drop the setting"
        )
    return split_train_val(ds, cfg)


def with_data_label_mode(cfg: Config, ds: FerDataset) -> Config:
    """`cfg` with data.label_mode set to the mode the data was loaded with (a packed FER+ file stores it) when the
    config leaves it unset: the loss and the sampling of FER+ soft labels follow the data. A copy; `cfg` is kept."""
    stored = ds.notes.get("label_mode")
    if not stored or cfg.data.label_mode:
        return cfg
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, label_mode=stored))


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
        if d.val_split not in ds.splits:
            usable = [s for s in ds.splits if s != d.train_split and s not in TEST_SPLITS]
            hint = f"select on {usable[0]} with --set data.val_split={usable[0]}" if usable else ""
            hint = hint or "hold out part of train with --set data.val_split=null"
            raise TrainingError(
                f"{ds.root}: no validation split {d.val_split!r} (data.val_split); this {ds.format} dataset has "
                f"splits {', '.join(ds.splits)}: {hint}"
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
        n_groups = len(np.unique(ds.groups))
        if n_groups < k:
            raise TrainingError(
                f"a hold-out of data.val_fraction={fraction} by subject needs at least {k} subjects, the training "
                f"data has {n_groups}; raise data.val_fraction to {1 / max(n_groups, 2):.2f} or name a val split"
            )
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        tr, va = next(splitter.split(idx, ds.labels, ds.groups))
    else:
        counts = np.bincount(ds.labels)
        n_val = int(np.ceil(fraction * len(ds)))
        if n_val < 1 or n_val >= len(ds):
            raise TrainingError(
                f"a hold-out of data.val_fraction={fraction} from {len(ds)} images leaves one side empty"
            )
        # stratify when every class can go to both sides and the hold-out can hold one of each class
        present = int((counts > 0).sum())
        stratifiable = counts[counts > 0].min() >= 2 and min(n_val, len(ds) - n_val) >= present
        strat = ds.labels if stratifiable else None
        tr, va = train_test_split(idx, test_size=fraction, random_state=seed, stratify=strat)
    return ds.subset(np.sort(tr)), ds.subset(np.sort(va))


def targets_of(ds: FerDataset, num_classes: int) -> np.ndarray:
    """float32 N×C training targets: the soft targets when the dataset has them, else one-hot labels."""
    if ds.soft_targets is not None:
        return ds.soft_targets.astype(np.float32)
    out = np.zeros((len(ds), num_classes), np.float32)
    out[np.arange(len(ds)), ds.labels] = 1.0
    return out
