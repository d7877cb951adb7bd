"""Logit adjustment by the training prior (Menon et al., "Long-tail learning via logit adjustment", 2021):
logits − τ · log prior, with the prior the mean training target. A model trained on FER+ votes inherits their
lean (neutral for about a third of the faces, disgust, fear and contempt rarely); τ > 0 takes part of it back.
Folded into the classifier's bias, the adjustment costs nothing at inference and travels with the weights
(safetensors, ONNX, int8)."""

from __future__ import annotations

import numpy as np
import torch

from ferkit.config import Config
from ferkit.errors import ModelError


def training_prior(cfg: Config, data: str) -> np.ndarray:
    """float64 C: the mean training target of a run with config `cfg` on `data` (second labels joined)."""
    from ferkit.train.data_setup import load_train_val, targets_of
    from ferkit.train.second_labels import with_second_labels

    train, _ = load_train_val(cfg, data)
    train = with_second_labels(train, cfg.data, lambda *a: None)
    return targets_of(train, len(train.label_space)).mean(0).astype(np.float64)


def fold_prior_adjustment(model: torch.nn.Module, prior: np.ndarray, tau: float) -> None:
    """Subtract τ · log(prior) from the bias of the model's classifier (`model.head`), in place."""
    head = getattr(model, "head", None)
    if not isinstance(head, torch.nn.Linear) or head.bias is None or head.out_features != len(prior):
        raise ModelError(
            "logit adjustment needs a linear classifier `head` with a bias, one output per class"
        )
    if not np.all(np.asarray(prior) > 0):
        raise ModelError("logit adjustment needs a training prior above 0 for every class")
    shift = torch.as_tensor(tau * np.log(prior), dtype=head.bias.dtype, device=head.bias.device)
    with torch.no_grad():
        head.bias -= shift
