"""Cross-entropy on soft targets (hard labels, FER+ distributions, mixup) with label smoothing and class weights."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def soft_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, smoothing: float = 0.0, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean cross-entropy of logits N×C against target distributions N×C.

    Label smoothing mixes the target with the uniform distribution; class weights scale each sample's loss by
    the weight of its target (expected over the target distribution) and normalise by the weight sum.
    """
    c = logits.shape[1]
    if smoothing > 0:
        target = target * (1 - smoothing) + smoothing / c
    per_sample = -(target * F.log_softmax(logits.float(), dim=1)).sum(1)
    if weight is None:
        return per_sample.mean()
    w = target @ weight
    return (per_sample * w).sum() / w.sum()


def multi_target_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """FER+ multi-target loss: −log of the largest probability among the acceptable classes (target > 0), as
    the reference code's −log max(target · p): any one acceptable emotion predicted with confidence is right."""
    log_p = F.log_softmax(logits.float(), dim=1)
    masked = log_p.masked_fill(target <= 0, float("-inf"))
    return -torch.amax(masked, dim=1).mean()


def balanced_class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Inverse-frequency weights n / (C · count), 0 for absent classes (sklearn's 'balanced')."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    w = np.where(counts > 0, len(labels) / (num_classes * np.maximum(counts, 1)), 0.0)
    return w.astype(np.float32)
