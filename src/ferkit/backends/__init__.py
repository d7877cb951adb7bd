"""Inference backends with one interface (`Backend.logits(uint8 crops, tta)`): PyTorch, ONNX Runtime and OpenVINO
(the `openvino` extra), and the one resolver (`load_backend`) that turns any model argument into one."""

from __future__ import annotations

from ferkit.backends.base import TTA_MODES, Backend, tta_views
from ferkit.backends.resolve import load_backend, resolve_model_path
from ferkit.backends.torch_backend import TorchBackend

__all__ = ["Backend", "TorchBackend", "load_backend", "resolve_model_path", "tta_views", "TTA_MODES"]
