"""Honest evaluation: metrics, plots, reports, and subject-independent cross-validation.

>>> from ferkit.evaluate import evaluate, write_report
>>> res = evaluate("runs/vgg/best.safetensors", "path/to/fer2013", split="public_test", tta="flip")
>>> res.metrics.accuracy, res.to_dict()["per_class"]["happy"]
>>> write_report(res, "report/")
"""

from __future__ import annotations

import sys
import types

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


class _CallablePackage(types.ModuleType):
    """`ferkit.evaluate` is this package once it has been imported (Python sets a subpackage as its parent's
    attribute), so the package itself runs `evaluate(...)` when called: `ferkit.evaluate(model, data)` works
    either way."""

    def __call__(self, *args, **kwargs) -> EvalResult:
        return evaluate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
