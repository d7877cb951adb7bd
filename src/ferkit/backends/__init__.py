"""Inference backends with one interface (`Backend.logits(uint8 crops, tta)`): PyTorch and ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

from ferkit.backends.base import TTA_MODES, Backend, tta_views
from ferkit.backends.torch_backend import TorchBackend

__all__ = ["Backend", "TorchBackend", "load_backend", "tta_views", "TTA_MODES"]

from ferkit.weights import DEFAULT_MODEL


def load_backend(model=None, device: str = "cpu") -> Backend:
    """A backend for a checkpoint path, an ONNX file, a shipped model name, or an `nn.Module`.

    None means the default shipped model (`ferkit/weights/default.safetensors`).
    """
    import torch

    if model is None:
        model = DEFAULT_MODEL
    if isinstance(model, torch.nn.Module):
        return TorchBackend(model, device)
    if Path(str(model)).suffix.lower() == ".onnx":
        from ferkit.backends.onnx_backend import OnnxBackend  # optional dependency: onnxruntime

        return OnnxBackend.load(model)
    return TorchBackend.load(model, device)
