"""Fine-tuning from a checkpoint: its weights loaded into an existing model, the classifier kept class by
class when the label spaces differ (a FER2013 model fine-tuned on FER+ or CK+)."""

from __future__ import annotations

import os

import torch
from torch import nn

from ferkit.errors import ModelError
from ferkit.labels import LabelSpace
from ferkit.models.checkpoint import (
    _describe,
    _mismatch,
    _resolve,
    _shapes,
    read_checkpoint_meta,
    read_tensors,
)


def load_state_into(model: nn.Module, path: str | os.PathLike, remap_classifier: bool = False) -> list[str]:
    """Load a checkpoint's weights into an existing model, e.g. to fine-tune on another label space.

    Every tensor of `model` must be in the file with the same shape, except the classifier (`model.head`)
    when `remap_classifier` is True: whenever its shape or the label space differs, it is re-initialised and the
    rows of the classes both label spaces share (by canonical name) are copied over from the checkpoint.

    Args:
        model: The model to load into (same architecture as the checkpoint).
        path: The checkpoint file.
        remap_classifier: Skip a classifier that does not match instead of raising.

    Returns:
        The classifier keys that were not loaded whole (empty when everything loaded as it is).

    Raises:
        ModelError: Architectures differ, or the classifier differs and `remap_classifier` is False (the
            message names both label spaces).
    """
    path = _resolve(path)
    meta = read_checkpoint_meta(path)
    tensors = read_tensors(path)
    missing, unexpected, shapes = _mismatch(_shapes(model.state_dict()), _shapes(tensors))
    head_keys = set(model.classifier_keys()) if hasattr(model, "classifier_keys") else set()
    if missing or unexpected or set(shapes) - head_keys:
        body = _describe(missing, unexpected, [k for k in shapes if k not in head_keys])
        raise ModelError(f"{path}: weights of {meta['model_name']!r} do not fit this model ({body})")
    src = LabelSpace.from_dict(meta["labels"]) if "labels" in meta else None
    cfg = getattr(model, "data_config", None)
    dst = cfg.labels if cfg is not None else None
    labels_differ = src is not None and dst is not None and src.names != dst.names
    skip: list[str] = []
    if shapes or labels_differ:
        if not remap_classifier:
            what = f"{src.name} {list(src.names)}" if src else "unknown labels"
            mine = f"{dst.name} {list(dst.names)}" if dst else "unknown labels"
            raise ModelError(
                f"{path}: classifier is for {what}, the model is for {mine}; "
                "pass remap_classifier=True to start a new classifier"
            )
        skip = sorted(head_keys)
    model.load_state_dict({k: v for k, v in tensors.items() if k not in skip}, strict=False)
    if skip and src is not None and dst is not None:
        _carry_shared_rows(model, tensors, src, dst)
    return skip


def _carry_shared_rows(model: nn.Module, tensors: dict, src: LabelSpace, dst: LabelSpace) -> list[str]:
    """Copy the classifier rows of the classes both label spaces share (by name) into the new classifier.

    A FER2013 model fine-tuned for FER+ then starts from its own happy/sad/... rows and only `contempt` starts
    fresh. Nothing is copied when the classifier is not a plain `head` linear layer with the same input width.
    """
    head = getattr(model, "head", None)
    w, b = tensors.get("head.weight"), tensors.get("head.bias")
    if not isinstance(head, nn.Linear) or w is None or w.shape[1:] != head.weight.shape[1:]:
        return []
    shared = [n for n in dst.names if n in src.names]
    with torch.no_grad():
        for name in shared:
            i, j = src.names.index(name), dst.names.index(name)
            head.weight[j].copy_(w[i])
            if b is not None and head.bias is not None:
                head.bias[j].copy_(b[i])
    return shared
