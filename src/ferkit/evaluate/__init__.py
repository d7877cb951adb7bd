"""Honest evaluation: metrics, plots, reports, and subject-independent cross-validation.

>>> from ferkit.evaluate import evaluate, write_report
>>> res = evaluate("runs/vgg/best.safetensors", "path/to/fer2013", split="public_test", tta="flip")
>>> res.metrics.accuracy, res.to_dict()["per_class"]["happy"]
>>> write_report(res, "report/")
"""

from __future__ import annotations

from ferkit.evaluate.cv import CVResult, FoldResult, cross_validate, make_folds
from ferkit.evaluate.cv_ensemble import ensemble_cv
from ferkit.evaluate.evaluator import EvalResult, evaluate
from ferkit.evaluate.metrics import ClassMetrics, Metrics, compute_metrics, expected_calibration_error
from ferkit.evaluate.report import write_report

__all__ = [
    "CVResult",
    "ClassMetrics",
    "EvalResult",
    "FoldResult",
    "Metrics",
    "compute_metrics",
    "cross_validate",
    "ensemble_cv",
    "evaluate",
    "expected_calibration_error",
    "make_folds",
    "write_report",
]
