"""PyTorch backend: a registered model with its weights (a checkpoint file or a shipped model name)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ferkit.backends.base import BatchedBackend


class TorchBackend(BatchedBackend):
    """Runs a `FerNet` on CPU (or a given device) in inference mode."""

    runtime = "torch"

    def __init__(
        self, model: torch.nn.Module, device: str | torch.device = "cpu", name: str | None = None
    ) -> None:
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.data_config = model.data_config
        self.meta = dict(getattr(model, "checkpoint_meta", {}) or {})
        self.name = name or getattr(model, "model_name", "model")

    @classmethod
    def load(cls, path_or_name: str | Path, device: str | torch.device = "cpu") -> TorchBackend:
        from ferkit.models import load_model

        model = load_model(path_or_name, device=device)
        p = Path(str(path_or_name))
        return cls(model, device, name=p.stem if p.suffix else str(path_or_name))

    def __repr__(self) -> str:
        return f"TorchBackend({self.name!r}, device={str(self.device)!r})"

    @torch.inference_mode()
    def _forward(self, x: torch.Tensor) -> np.ndarray:
        return self.model(x.to(self.device)).float().cpu().numpy()
