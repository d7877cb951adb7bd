"""PyTorch backend: a registered model with its weights (a checkpoint file or a shipped model name)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ferkit.backends.base import check_batch_size, finite, tta_views


class TorchBackend:
    """Runs a `FerNet` on CPU (or a given device) in inference mode."""

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

    @torch.inference_mode()
    def logits(self, images: np.ndarray, tta: str = "none", batch_size: int = 256) -> np.ndarray:
        check_batch_size(batch_size)
        n = len(images)
        out = np.zeros((n, len(self.data_config.labels)), np.float32)
        for i in range(0, n, batch_size):
            views = tta_views(images[i : i + batch_size], self.data_config, tta)
            acc = sum(self.model(v.to(self.device)).float() for v in views) / len(views)
            out[i : i + batch_size] = acc.cpu().numpy()
        return finite(out, self.name)
