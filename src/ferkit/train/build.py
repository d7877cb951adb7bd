"""Building the model and the optimizer of a run."""

from __future__ import annotations

import torch

from ferkit.config import Config
from ferkit.constants import OPTIMIZERS
from ferkit.errors import ConfigError, ModelError
from ferkit.labels import LabelSpace
from ferkit.models import create_model, read_checkpoint_meta
from ferkit.models.fine_tune import load_state_into


def build_model(
    cfg: Config, labels: LabelSpace, init_from: str | None, freeze: bool, log=print
) -> torch.nn.Module:
    """The config's model for these labels; with `init_from`, its weights (a new classifier when labels differ)."""
    model = create_model(cfg.model.name, labels=labels, **cfg.model.kwargs)
    if init_from:
        meta = read_checkpoint_meta(init_from)
        if meta["model_name"] != cfg.model.name:
            raise ModelError(
                f"{init_from}: checkpoint is a {meta['model_name']!r}, the config trains {cfg.model.name!r}; "
                f"set model.name={meta['model_name']} to fine-tune it"
            )
        skipped = load_state_into(model, init_from, remap_classifier=True)
        if skipped:
            old = set(meta.get("labels", {}).get("names", ()))
            fresh = [n for n in labels.names if n not in old]
            log(
                f"init-from {init_from}: classifier for {labels.name}; rows of the shared classes kept, "
                f"new rows for: {', '.join(fresh) or 'none'}"
            )
    if freeze:
        model.freeze_features(True)
    return model


def make_optimizer(cfg: Config, model: torch.nn.Module) -> torch.optim.Optimizer:
    o = cfg.optim
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)  # no weight decay on BN and biases
    groups = [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if o.name == "sgd":
        return torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum, nesterov=o.nesterov and o.momentum > 0)
    if o.name == "adam":
        return torch.optim.Adam(groups, lr=o.lr, betas=o.betas)
    if o.name == "adamw":
        return torch.optim.AdamW(groups, lr=o.lr, betas=o.betas)
    raise ConfigError(f"unknown optimizer optim.name={o.name!r}; choose one of {', '.join(OPTIMIZERS)}")
