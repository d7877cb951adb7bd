"""Classification metrics from true labels and predicted probabilities (scikit-learn where it has them).

Conventions (they hold for every figure ferkit prints or writes):
- fractions are in 0..1;
- a sample without a prediction (a photo where no face was found) counts as an error: it is in `n`, in the
  accuracy denominator and in its true class's recall, and in no class's precision; it has no confidence, so it
  is left out of the expected calibration error and the reliability bins;
- balanced accuracy and macro-F1 average over the classes present in the true labels (classes of the model
  that the data does not have would otherwise add a 0 that says nothing about the data);
- per-class figures are given for every label (support 0 where the data has none of it).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ECE_BINS = 15
"""Number of equal-width confidence bins of the expected calibration error (Guo et al., 2017)."""


@dataclass(frozen=True)
class ClassMetrics:
    """Precision, recall and F1 of one class (fractions) and its number of true samples."""

    precision: float
    recall: float
    f1: float
    support: int

    def to_dict(self) -> dict:
        """{"precision", "recall", "f1", "support"}."""
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "support": self.support}


@dataclass(frozen=True)
class Reliability:
    """Per-bin figures of the reliability diagram: equal-width confidence bins (lo, hi] over [0, 1].

    Attributes:
        edges: n_bins + 1 bin edges.
        count: predictions per bin.
        confidence: mean confidence (max probability) per bin; 0 for empty bins.
        accuracy: fraction correct per bin; 0 for empty bins.
    """

    edges: tuple[float, ...]
    count: tuple[int, ...]
    confidence: tuple[float, ...]
    accuracy: tuple[float, ...]

    def to_dict(self) -> dict:
        """{"edges", "count", "confidence", "accuracy"} as lists."""
        return {
            "edges": list(self.edges),
            "count": list(self.count),
            "confidence": list(self.confidence),
            "accuracy": list(self.accuracy),
        }


@dataclass(frozen=True)
class Metrics:
    """Every metric of one evaluation.

    Attributes:
        labels: class names; index i of `confusion_matrix` rows/columns and of the probabilities is labels[i].
        n: number of samples scored (including those without a prediction).
        n_missing: samples without a prediction (counted as errors).
        accuracy, balanced_accuracy, macro_f1, top2_accuracy, ece: fractions in 0..1.
        per_class: {label: ClassMetrics} for every label.
        confusion_matrix: C×C counts, rows = true class, columns = predicted class (samples without a
            prediction are in no column).
        reliability: the bins behind `ece`.
    """

    labels: tuple[str, ...]
    n: int
    n_missing: int
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    top2_accuracy: float
    ece: float
    per_class: dict[str, ClassMetrics]
    confusion_matrix: tuple[tuple[int, ...], ...]
    reliability: Reliability

    def to_dict(self) -> dict:
        """JSON-ready dict with the keys of `ferkit evaluate --json` that are metrics."""
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "macro_f1": self.macro_f1,
            "top2_accuracy": self.top2_accuracy,
            "ece": self.ece,
            "ece_bins": len(self.reliability.count),
            "labels": list(self.labels),
            "per_class": {k: v.to_dict() for k, v in self.per_class.items()},
            "confusion_matrix": [list(r) for r in self.confusion_matrix],
            "reliability": self.reliability.to_dict(),
        }


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS
) -> tuple[float, Reliability]:
    """ECE = Σ_b (n_b / N) · |accuracy_b − mean confidence_b| over `n_bins` equal-width bins (lo, hi].

    A confidence of exactly 0 falls in the first bin. N = number of predictions; 0.0 when there are none.

    Args:
        confidence: N max-probabilities in [0, 1].
        correct: N booleans, prediction == truth.
        n_bins: number of bins (15 as in Guo et al., "On Calibration of Modern Neural Networks", 2017).
    """
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    ok = np.asarray(correct, dtype=np.float64).reshape(-1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    sum_conf = np.bincount(idx, weights=conf, minlength=n_bins)
    sum_ok = np.bincount(idx, weights=ok, minlength=n_bins)
    denom = np.maximum(count, 1)
    mean_conf, acc = sum_conf / denom, sum_ok / denom
    ece = float(np.sum(count * np.abs(acc - mean_conf)) / max(len(conf), 1))
    rel = Reliability(
        edges=tuple(float(e) for e in edges),
        count=tuple(int(c) for c in count),
        confidence=tuple(float(c) for c in mean_conf),
        accuracy=tuple(float(a) for a in acc),
    )
    return ece, rel


def compute_metrics(
    y_true: np.ndarray,
    probs: np.ndarray,
    labels: Sequence[str],
    *,
    missing: np.ndarray | None = None,
    n_bins: int = ECE_BINS,
) -> Metrics:
    """All metrics of predicted class probabilities against true label ids.

    Args:
        y_true: N int label ids in 0..C-1 (ids into `labels`).
        probs: N×C class probabilities (rows of `missing` samples are ignored).
        labels: the C class names.
        missing: N booleans, True where there is no prediction (no face found); None = all predicted.
        n_bins: bins of the expected calibration error.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, top_k_accuracy_score

    y = np.asarray(y_true, dtype=np.int64).reshape(-1)
    p = np.asarray(probs, dtype=np.float64).reshape(len(y), len(labels))
    miss = np.zeros(len(y), bool) if missing is None else np.asarray(missing, bool).reshape(-1)
    c, n, have = len(labels), len(y), ~miss
    pred = np.where(have, p.argmax(1) if c else 0, -1)
    ids = list(range(c))
    present = sorted(set(y.tolist()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ill-defined precision/recall of absent classes are 0 by design
        prec, rec, f1, sup = precision_recall_fscore_support(y, pred, labels=ids, zero_division=0)
    sel = np.isin(np.arange(c), present)
    correct = pred == y
    top2 = 0.0
    if have.any():
        k = min(2, c)
        if c > 2:
            hits = top_k_accuracy_score(y[have], p[have], k=k, labels=ids, normalize=False)
        else:  # sklearn's binary form takes one score column; with ≤ 2 classes top-2 is always a hit
            hits = int(have.sum()) if k == c else int(correct[have].sum())
        top2 = float(hits) / n
    ece, rel = expected_calibration_error(p[have].max(1) if c else np.zeros(0), correct[have], n_bins)
    cm = confusion_matrix(y[have], pred[have], labels=ids) if have.any() else np.zeros((c, c), np.int64)
    return Metrics(
        labels=tuple(labels),
        n=n,
        n_missing=int(miss.sum()),
        accuracy=float(correct.mean()) if n else 0.0,
        balanced_accuracy=float(rec[sel].mean()) if sel.any() else 0.0,
        macro_f1=float(f1[sel].mean()) if sel.any() else 0.0,
        top2_accuracy=top2,
        ece=ece,
        per_class={
            name: ClassMetrics(float(prec[i]), float(rec[i]), float(f1[i]), int(sup[i]))
            for i, name in enumerate(labels)
        },
        confusion_matrix=tuple(tuple(int(v) for v in row) for row in cm),
        reliability=rel,
    )
