"""How a cross-validation splits its samples: the pool, whether folds are grouped by subject, and the folds."""

from __future__ import annotations

import warnings

import numpy as np

from ferkit.config import Config
from ferkit.data import FerDataset
from ferkit.errors import DataError, DataOptionError

GROUP_MODES = ("auto", "subject", "none")


def make_folds(
    labels: np.ndarray, groups: np.ndarray | None, k: int, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified K-fold (train index, test index) pairs; with `groups`, no group is on both sides of a fold.

    Raises:
        DataError: k < 2, more folds than groups (or samples), or a fold that would be empty.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels = np.asarray(labels)
    idx = np.arange(len(labels))
    units = len(np.unique(groups)) if groups is not None else len(labels)
    what = "subjects" if groups is not None else "samples"
    if k < 2 or k > units:
        raise DataError(f"cannot make {k} folds from {units} {what} (need 2 ≤ folds ≤ {units})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "least populated class has fewer members than n_splits"
        try:
            if groups is not None:
                splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
                folds = list(splitter.split(idx, labels, groups))
            else:
                folds = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(idx, labels))
        except ValueError as exc:  # every class has fewer samples than folds
            raise DataError(f"cannot make {k} stratified folds: {exc}") from None
    if any(len(te) == 0 for _, te in folds):
        raise DataError(f"{k} folds leave a fold without samples; use fewer folds")
    return folds


def use_groups(ds: FerDataset, group: str, allow_subject_leak: bool = False) -> bool:
    """Whether folds are grouped: `auto` when the data has groups, `subject` requires them, `none` never.

    Raises:
        DataError: unknown mode; `subject` without groups; `none` on CK+ (frames of one subject are
            near-identical, so ungrouped folds leak) unless `allow_subject_leak`.
    """
    if group not in GROUP_MODES:
        raise DataOptionError(
            "unknown {group} {value!r}; choose one of " + ", ".join(GROUP_MODES), value=group
        )
    if group == "none":
        if ds.format == "ckplus" and not allow_subject_leak:
            raise DataOptionError(
                "CK+ is always cross-validated by subject: frames of one person are near-identical, so "
                "ungrouped folds put the same face on both sides; set {group} to subject (or auto). To "
                "reproduce a random-split figure anyway, set {allow_subject_leak} (the result is marked leaky)"
            )
        return False
    if allow_subject_leak:
        raise DataOptionError("{allow_subject_leak} only goes with {group} none")
    if group == "subject" and ds.groups is None:
        raise DataOptionError(
            "{root}: this {fmt} dataset has no subject groups; set {group} to none",
            root=ds.root,
            fmt=ds.format,
        )
    return ds.groups is not None


def cv_pool(ds: FerDataset, cfg: Config) -> FerDataset:
    """The samples cross-validated: the only split, or the config's training split when there are several."""
    return ds if len(ds.splits) == 1 else ds.take_split(cfg.data.train_split)
