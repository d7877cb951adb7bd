"""The backend interface: face crops (uint8) in, logits out — the same for PyTorch, ONNX Runtime and OpenVINO —
and the one batch loop (`BatchedBackend.logits`) all three share: each only says how it runs one network input."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from ferkit.constants import TTA_MODES
from ferkit.models.data_config import DataConfig, preprocess


class Backend(Protocol):
    """What the recognizer and the evaluator need from a model.

    Attributes:
        name: model name (registry name or file stem).
        data_config: input size, channels, mean/std and labels of the model.
        meta: the checkpoint metadata (config, metrics, training data), {} when unknown.
    """

    name: str
    data_config: DataConfig
    meta: dict

    def logits(self, images: np.ndarray, tta: str = "none", batch_size: int = 256) -> np.ndarray:
        """float32 N×C logits of uint8 face crops N×H×W (any H, W: resized to the model's image size)."""
        ...


class BatchedBackend:
    """The batch loop of every backend: crops → TTA views → `_forward` per view → logits averaged over the views.

    A subclass sets `name` and `data_config` and implements `_forward` (one normalised N×C×H×W batch → N×classes
    float logits as a numpy array).
    """

    name: str
    data_config: DataConfig

    def _forward(self, x: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    def logits(self, images: np.ndarray, tta: str = "none", batch_size: int = 256) -> np.ndarray:
        """float32 N×C logits of uint8 face crops N×H×W (resized to the model's size), averaged over TTA views."""
        check_batch_size(batch_size)
        n = len(images)
        out = np.zeros((n, len(self.data_config.labels)), np.float32)
        for i in range(0, n, batch_size):
            views = tta_views(images[i : i + batch_size], self.data_config, tta)
            out[i : i + batch_size] = sum(self._forward(v) for v in views) / len(views)
        return finite(out, self.name)


def check_tta(tta: str) -> None:
    """Raise FerkitError naming the choices when `tta` is not one of TTA_MODES."""
    if tta not in TTA_MODES:
        from ferkit.errors import FerkitError

        raise FerkitError(f"unknown test-time augmentation {tta!r}; choose one of {', '.join(TTA_MODES)}")


def check_batch_size(batch_size: int) -> None:
    """Raise FerkitError when `batch_size` is below 1 (a negative one would silently skip every forward pass)."""
    if int(batch_size) < 1:
        from ferkit.errors import FerkitError

        raise FerkitError(f"batch size must be at least 1, got {batch_size}")


def finite(logits: np.ndarray, name: str) -> np.ndarray:
    """`logits`, or ModelError when any is NaN or infinite: broken weights must not become a label or a JSON NaN."""
    bad = ~np.isfinite(logits).all(axis=1)
    if bad.any():
        from ferkit.errors import ModelError

        raise ModelError(
            f"model {name} produced non-finite outputs (NaN or infinity) for {int(bad.sum())} of {len(logits)} "
            "face(s): its weights are broken (a run that diverged?); retrain it or pick another checkpoint"
        )
    return logits


def tta_views(images: np.ndarray, dc: DataConfig, tta: str) -> list[torch.Tensor]:
    """Normalised network inputs for each test-time view of a uint8 batch N×H×W.

    none: the center crop (via `preprocess`); flip: center crop and its mirror; tencrop: four corner crops and the
    center crop, each also mirrored. The crop side is the model's input size when it is smaller than its image
    size, else 90 % of the image size (resized back to the input size).
    """
    check_tta(tta)
    x = torch.as_tensor(np.ascontiguousarray(images))
    base = preprocess(x, dc)
    if tta == "none":
        return [base]
    if tta == "flip":
        return [base, base.flip(-1)]
    full = preprocess(x, _no_crop(dc))  # normalised at image_size
    s = dc.image_size
    c = dc.input_size if dc.input_size < s else int(round(0.9 * s))
    offsets = [(0, 0), (0, s - c), (s - c, 0), (s - c, s - c), ((s - c) // 2, (s - c) // 2)]
    views = []
    for top, left in offsets:
        crop = full[..., top : top + c, left : left + c]
        if c != dc.input_size:
            crop = torch.nn.functional.interpolate(
                crop, size=(dc.input_size,) * 2, mode="bilinear", antialias=True
            )
        views += [crop, crop.flip(-1)]
    return views


def _no_crop(dc: DataConfig) -> DataConfig:
    from dataclasses import replace

    return replace(dc, input_size=dc.image_size)
