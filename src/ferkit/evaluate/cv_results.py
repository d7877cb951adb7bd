"""What a cross-validation returns: one `FoldResult` per fold and the `CVResult` over all of them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np


@dataclass(frozen=True)
class FoldResult:
    """One fold: sizes, test-fold figures of the best checkpoint, and the time it took (train + evaluate).

    `tta` is the test-time augmentation the test fold was scored with; `best_epoch` is 0 for an ensemble, whose
    `seconds` are its members' together.
    """

    fold: int
    n_train: int
    n_val: int
    n_test: int
    test_groups: int
    accuracy: float
    macro_f1: float
    best_epoch: int
    seconds: float
    confusion_matrix: tuple[tuple[int, ...], ...]
    tta: str = "none"

    def to_dict(self) -> dict:
        """JSON-ready dict of the fold."""
        d = asdict(self)
        d["confusion_matrix"] = [list(r) for r in self.confusion_matrix]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FoldResult:
        """Inverse of `to_dict` (used to resume a cross-validation)."""
        return cls(**{**d, "confusion_matrix": tuple(tuple(r) for r in d["confusion_matrix"])})


def rescored(fr: FoldResult, m, tta: str, **changes) -> FoldResult:
    """`fr` with the test-fold figures of metrics `m` (scored with `tta`) and any other `changes`."""
    return replace(
        fr, accuracy=m.accuracy, macro_f1=m.macro_f1, confusion_matrix=m.confusion_matrix, tta=tta, **changes
    )


@dataclass(frozen=True)
class CVResult:
    """Every fold of a cross-validation, with means, standard deviations and the pooled confusion matrix.

    `std_*` are sample standard deviations across folds (ddof=1). `members` lists the run directories of an
    ensemble (`ensemble_cv`); it is empty for a single cross-validation.
    """

    folds: tuple[FoldResult, ...]
    labels: tuple[str, ...]
    grouped: bool
    data: str
    config: str
    model: str
    init_from: str | None
    seed: int
    run_dir: str
    tta: str = "none"
    members: tuple[str, ...] = ()
    subject_leak: bool = False

    def _vals(self, key: str) -> np.ndarray:
        return np.array([getattr(f, key) for f in self.folds], np.float64)

    @property
    def mean_accuracy(self) -> float:
        return float(self._vals("accuracy").mean())

    @property
    def std_accuracy(self) -> float:
        return float(self._vals("accuracy").std(ddof=1)) if len(self.folds) > 1 else 0.0

    @property
    def mean_macro_f1(self) -> float:
        return float(self._vals("macro_f1").mean())

    @property
    def std_macro_f1(self) -> float:
        return float(self._vals("macro_f1").std(ddof=1)) if len(self.folds) > 1 else 0.0

    @property
    def confusion_matrix(self) -> np.ndarray:
        """Sum of the per-fold confusion matrices (every sample is in exactly one test fold)."""
        return np.sum([np.asarray(f.confusion_matrix, np.int64) for f in self.folds], axis=0)

    @property
    def pooled_accuracy(self) -> float:
        cm = self.confusion_matrix
        return float(np.trace(cm) / max(cm.sum(), 1))

    def to_dict(self) -> dict:
        """The JSON of `ferkit cv --json`: folds, means and sample standard deviations, pooled confusion."""
        return {
            "folds": [f.to_dict() for f in self.folds],
            "k": len(self.folds),
            "mean_accuracy": self.mean_accuracy,
            "std_accuracy": self.std_accuracy,
            "mean_macro_f1": self.mean_macro_f1,
            "std_macro_f1": self.std_macro_f1,
            "pooled_accuracy": self.pooled_accuracy,
            "labels": list(self.labels),
            "confusion_matrix": self.confusion_matrix.tolist(),
            "grouped": self.grouped,
            "data": self.data,
            "config": self.config,
            "model": self.model,
            "init_from": self.init_from,
            "seed": self.seed,
            "run_dir": self.run_dir,
            "tta": self.tta,
            "members": list(self.members),
            "subject_leak": self.subject_leak,
            "seconds": float(self._vals("seconds").sum()),
        }
