"""Export to ONNX with the model's data config and labels embedded, checked against PyTorch.

The file gets a dynamic batch axis (input "input" N×C×H×W float32, output "logits" N×classes) and
metadata_props: "ferkit" (the checkpoint metadata as JSON: model name, data config, labels, version, ...),
"data_config" (JSON) and "labels" (JSON list of class names), so other tools can read them too.

PyTorch's TorchScript-based exporter is used (it needs no extra package); when a PyTorch release no longer
has it, the `torch.export`-based exporter (needs `onnxscript`) is tried.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ferkit._atomic import atomic_path
from ferkit.errors import ModelError, first_line

PARITY_TOLERANCE = 1e-4
"""Largest allowed |softmax(torch) − softmax(onnxruntime)| on the check batch."""


def export_onnx(
    model_or_path: nn.Module | str | os.PathLike,
    out: str | os.PathLike,
    opset: int = 17,
    check: bool = True,
    batch: int = 8,
) -> Path:
    """Write a model as ONNX, with its data config and labels as metadata.

    Args:
        model_or_path: A zoo model (`create_model` / `load_model`), a checkpoint path, or a shipped model name.
        out: Destination `.onnx` file (written atomically; parent folders are created).
        opset: ONNX opset version.
        check: Validate the graph and compare ONNX Runtime with PyTorch on a random batch of `batch` crops:
            raises ModelError when the softmax probabilities differ by more than 1e-4.
        batch: Size of the check batch.

    Returns:
        The path written.
    """
    out = _check_out(Path(out))
    _check_opset(opset)
    model = _as_model(model_or_path)
    cfg = model.data_config
    meta = _metadata(model)
    was_training = model.training
    model = model.eval()
    try:
        proto = _to_proto(model, cfg, opset)
    finally:
        model.train(was_training)
    props = {
        "ferkit": json.dumps(meta),
        "data_config": json.dumps(cfg.to_dict()),
        "labels": json.dumps(list(cfg.labels.names)),
    }
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "ferkit"
    onnx = _onnx()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:  # checked before it replaces `out`: a failing export leaves no file
            onnx.save(proto, str(tmp))
            if check:
                onnx.checker.check_model(str(tmp))
                diff = parity(model, tmp, batch=batch)
                if diff > PARITY_TOLERANCE:
                    raise ModelError(
                        f"{out}: ONNX Runtime and PyTorch disagree (max |Δprob| = {diff:.2e} > "
                        f"{PARITY_TOLERANCE:g}); nothing was written (check=False / --no-check writes it unchecked)"
                    )
    except OSError as exc:
        raise ModelError(f"{out}: cannot write the ONNX file ({exc.strerror or exc})") from None
    return out


def _check_opset(opset: int) -> None:
    """Refuse an opset this PyTorch's exporter cannot write, before it prints its whole graph and fails."""
    try:
        from torch.onnx import _constants  # private: the bounds move with PyTorch releases

        low = _constants.ONNX_MIN_OPSET
        high = getattr(_constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", _constants.ONNX_MAX_OPSET)
    except (ImportError, AttributeError):
        return  # the exporter's own error is turned into a ModelError in _to_proto
    if not low <= int(opset) <= high:
        raise ModelError(f"opset {opset}: this PyTorch exports ONNX opsets {low} to {high}")


def _check_out(out: Path) -> Path:
    if out.is_dir():
        raise ModelError(f"{out}: that is a folder; give the .onnx file to write (e.g. {out / 'model.onnx'})")
    if out.suffix.lower() != ".onnx":
        raise ModelError(
            f"{out}: an ONNX export is named *.onnx (that is how ferkit recognises it when loading)"
        )
    return out


def parity(model: nn.Module, onnx_path: str | os.PathLike, batch: int = 8, seed: int = 0) -> float:
    """Max absolute difference of softmax probabilities between PyTorch and ONNX Runtime on random crops."""
    from ferkit.backends import TorchBackend
    from ferkit.backends.onnx_backend import OnnxBackend
    from ferkit.probs import softmax

    size = model.data_config.image_size
    crops = np.random.default_rng(seed).integers(0, 256, (batch, size, size), dtype=np.uint8)
    was_training = model.training
    device = next(model.parameters()).device
    try:
        ref = softmax(TorchBackend(model.eval(), device).logits(crops))
    finally:
        model.train(was_training)
    got = softmax(OnnxBackend.load(onnx_path, threads=1).logits(crops))
    return float(np.abs(ref - got).max())


def _as_model(model_or_path: nn.Module | str | os.PathLike) -> nn.Module:
    if isinstance(model_or_path, nn.Module):
        if not hasattr(model_or_path, "data_config"):
            raise ModelError(
                "export needs a ferkit model (built by create_model or load_model: no data_config)"
            )
        return model_or_path
    from ferkit.backends.resolve import resolve_model_path
    from ferkit.models import load_model

    path = resolve_model_path(model_or_path)
    if path.suffix.lower() == ".onnx":
        raise ModelError(f"{path} is already an ONNX model")
    return load_model(path)


def _metadata(model: nn.Module) -> dict:
    from ferkit import __version__

    meta = dict(getattr(model, "checkpoint_meta", {}) or {})
    meta.update(
        model_name=getattr(model, "model_name", type(model).__name__),
        model_kwargs=dict(getattr(model, "model_kwargs", {}) or {}),
        data_config=model.data_config.to_dict(),
        labels=model.data_config.labels.to_dict(),
        exported_by=f"ferkit {__version__}",
    )
    return json.loads(json.dumps(meta, default=str))


def _to_proto(model: nn.Module, cfg, opset: int):
    onnx = _onnx()
    device = next(model.parameters()).device
    model_cpu = model.to("cpu")  # in place: moved back below
    dummy = torch.zeros(2, cfg.channels, cfg.input_size, cfg.input_size)
    buf = io.BytesIO()
    kwargs = dict(
        input_names=["input"],
        output_names=["logits"],
        opset_version=opset,
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=True,
    )
    try:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model_cpu, (dummy,), buf, dynamo=False, **kwargs)
        except TypeError:  # a PyTorch without the TorchScript exporter
            program = torch.onnx.export(
                model_cpu, (dummy,), dynamo=True, opset_version=opset, dynamic_shapes=({0: "batch"},)
            )
            buf = io.BytesIO(program.model_proto.SerializeToString())
    except (RuntimeError, ValueError) as exc:  # e.g. an opset this PyTorch cannot write
        raise ModelError(f"ONNX export at opset {opset} failed: {first_line(exc)}") from None
    finally:
        model.to(device)
    return onnx.load_from_string(buf.getvalue())


def _onnx():
    from ferkit._deps import require

    return require("onnx", "ONNX export")
