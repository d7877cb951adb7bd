"""Exponential moving average of a model's weights (floating tensors; integer buffers are copied)."""

from __future__ import annotations

import torch


def ema_init(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@torch.no_grad()
def ema_update(ema: dict[str, torch.Tensor], model: torch.nn.Module, decay: float) -> None:
    for k, v in model.state_dict().items():
        if v.is_floating_point():
            ema[k].lerp_(v.detach(), 1 - decay)
        else:
            ema[k].copy_(v)
