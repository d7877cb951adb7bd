"""The trainer: `fit(config, run_dir, ...)` → TrainResult."""

from ferkit.train.trainer import TrainResult, fit

__all__ = ["fit", "TrainResult"]
