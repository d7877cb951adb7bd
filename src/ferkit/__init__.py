"""ferkit: facial emotion recognition — every FER dataset format, a model zoo, a resumable trainer,
honest evaluation, and recognition on photos, video and webcam.

Importing ferkit does no work: the public API below is loaded on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.5.0"

_LAZY = {
    "FerkitError": "ferkit.errors",
    "load_dataset": "ferkit.data",
    "create_model": "ferkit.models",
    "list_models": "ferkit.models",
    "load_model": "ferkit.models",
    "load": "ferkit.predict",
    "load_config": "ferkit.config",
    "fit": "ferkit.train",
    "evaluate": "ferkit.evaluate",
    "cross_validate": "ferkit.evaluate",
    "export_onnx": "ferkit.export",
    "summarize": "ferkit.people",
    "results_to_frame": "ferkit.predict.table",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ferkit' has no attribute {name!r}")
