"""Probabilities from logits, in NumPy (no torch import: predict, evaluate, export and serve share it)."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Row-wise softmax of N×C logits, computed in float64 and returned as `dtype`."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return (z / z.sum(axis=1, keepdims=True)).astype(dtype, copy=False)
