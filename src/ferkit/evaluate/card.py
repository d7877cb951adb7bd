"""The model card shown in evaluation reports: name, architecture, size, training data and selection rule."""

from __future__ import annotations


def model_card(backend) -> dict:
    """What is known about the evaluated model, from the backend and its checkpoint metadata.

    Returns:
        {"name", "architecture", "params", "labels", "input_size", "image_size", "train_data", "train_n",
        "selection_split", "select_metric", "epoch", "val_metrics", "ferkit_version", "created"}; values the
        checkpoint does not record are None. `params` counts the loaded network's parameters when it is a
        PyTorch module, else comes from `model_info` when the architecture is registered.
    """
    meta = dict(getattr(backend, "meta", {}) or {})
    dc = backend.data_config
    arch = meta.get("model_name") or getattr(getattr(backend, "model", None), "model_name", None)
    return {
        "name": backend.name,
        "architecture": arch,
        "params": _params(backend, arch),
        "labels": list(dc.labels.names),
        "input_size": dc.input_size,
        "image_size": dc.image_size,
        "train_data": meta.get("train_data"),
        "train_n": meta.get("train_n"),
        "selection_split": meta.get("val_split"),
        "select_metric": meta.get("select_metric"),
        "epoch": meta.get("epoch"),
        "val_metrics": meta.get("metrics"),
        "ferkit_version": meta.get("ferkit_version"),
        "created": meta.get("created"),
    }


def _params(backend, arch: str | None) -> int | None:
    module = getattr(backend, "model", None)
    if module is not None and hasattr(module, "parameters"):
        return int(sum(p.numel() for p in module.parameters()))
    if arch:
        from ferkit.models import list_models, model_info

        if arch in list_models():
            return int(model_info(arch)["params"])
    return None
