"""`ferkit.load`: a model (shipped name, checkpoint, ONNX file, module or backend) plus a detector → Recognizer."""

from __future__ import annotations

import os
from pathlib import Path

from ferkit.errors import ModelError
from ferkit.weights import DEFAULT_MODEL, WEIGHTS_DIR
from ferkit.weights import shipped_models as shipped_weights  # noqa: F401  (re-exported by ferkit.predict)


def weights_dir() -> Path:
    """The folder of shipped weights: `ferkit/weights/` (a function so tests can point it elsewhere)."""
    return WEIGHTS_DIR


def resolve_model_path(model: str | os.PathLike | None) -> Path:
    """The file a model argument names: an existing path, or a shipped model name such as "default".

    Raises:
        ModelError: No such file, or no shipped weights of that name (the message names the file looked for).
    """
    name = DEFAULT_MODEL if model is None else model
    path = Path(name).expanduser()
    if path.is_file():
        return path
    text = str(name)
    is_name = isinstance(name, str) and not path.suffix and os.sep not in text and "/" not in text
    if not is_name:
        raise ModelError(f"model file {path} does not exist")
    for suffix in (".safetensors", ".onnx"):
        shipped = weights_dir() / f"{text}{suffix}"
        if shipped.is_file():
            return shipped
    have = shipped_weights()
    msg = (
        f"no shipped model {text!r}: {weights_dir() / (text + '.safetensors')} is not installed "
        f"(shipped models here: {', '.join(have) if have else 'none'}). "
        "Pass a trained checkpoint or an ONNX file instead, e.g. ferkit.load('runs/x/best.safetensors') "
        "or `ferkit predict PHOTO --model runs/x/best.safetensors`."
    )
    from ferkit.models import list_models

    if text in list_models():
        msg += f" ({text!r} is an architecture: ferkit.load(create_model({text!r})) runs it untrained.)"
    raise ModelError(msg)


def load_backend_for(model: object = None, device: str = "cpu"):
    """A Backend for a model argument: None / shipped name / checkpoint / .onnx path / nn.Module / Backend."""
    from ferkit.backends import TorchBackend, load_backend

    if hasattr(model, "logits") and hasattr(model, "data_config"):
        return model  # already a backend
    if model is not None and not isinstance(model, str | os.PathLike):
        import torch

        if isinstance(model, torch.nn.Module):
            return TorchBackend(model, device)
        raise ModelError(f"model of type {type(model).__name__} is not a path, name, nn.Module or backend")
    path = resolve_model_path(model)
    backend = load_backend(path, device=device)
    if path.parent == weights_dir():
        backend.name = path.stem
    return backend


def load(model: object = None, detector: object = None, *, device: str = "cpu", **kwargs: object):
    """A ready `Recognizer`: the shipped default model and the default face detector unless told otherwise.

    Args:
        model: None (the shipped "default" model), a shipped model name ("default", "fast"), a checkpoint
            path (.safetensors), an ONNX file (.onnx, run with ONNX Runtime), an `nn.Module` from the zoo, or a
            backend.
        detector: A detector name from `ferkit detectors` ("yunet", "haar", "none"), a `Detector`, or None
            for the best available.
        device: Torch device for checkpoint models ("cpu", "cuda").
        **kwargs: `Recognizer` options: margin, min_face, max_side, smooth, tta, batch_size, require_face.

    Returns:
        A `Recognizer`.

    Raises:
        ModelError: The model cannot be found or loaded (e.g. no default weights installed).
    """
    from ferkit.predict.recognizer import Recognizer

    return Recognizer(load_backend_for(model, device), detector, **kwargs)
