"""Self-describing checkpoints: one `.safetensors` file, weights plus JSON metadata, no pickle.

The header metadata key "ferkit" holds JSON with `format_version`, `model_name`, `model_kwargs`,
`data_config`, `labels`, `ferkit_version`, `created`, and whatever the caller adds (resolved config, metrics,
epoch). `load_model(path)` needs nothing else to rebuild the model; `fine_tune.load_state_into` loads a
checkpoint's weights into an existing model instead.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import torch
from torch import nn

from ferkit._atomic import atomic_path
from ferkit.errors import ModelError, first_line
from ferkit.labels import LabelSpace
from ferkit.models._registry import create_model
from ferkit.models.data_config import DataConfig

FORMAT_VERSION = 1
META_KEY = "ferkit"


def _jsonable(obj: object) -> object:
    """Fallback for json.dumps: paths, dataclasses, label spaces, numpy and torch scalars/arrays."""
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, torch tensors
        return obj.tolist()
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    return str(obj)


def _ferkit_version() -> str:
    from ferkit import __version__

    return __version__


def save_checkpoint(
    path: str | os.PathLike, model: nn.Module, meta: dict | None = None, dtype: torch.dtype | None = None
) -> Path:
    """Write `model`'s weights and metadata to one `.safetensors` file, atomically.

    The file is first written to a temporary file in the same directory and then moved over `path`
    (`os.replace`), so a failed write (disk full, interruption) leaves any previous file intact.

    Args:
        path: Destination file (conventionally `*.safetensors`); parent directories are created.
        model: A model from `create_model` (it must have `model_name`, `model_kwargs`, `data_config`).
        meta: Extra JSON-able metadata (resolved config, metrics, epoch, ...). Keys that clash with the core
            keys are ignored.
        dtype: Storage dtype for floating tensors, e.g. `torch.float16` to halve the file; None keeps them.

    Returns:
        The path written.
    """
    path = Path(path)
    name = getattr(model, "model_name", None)
    cfg: DataConfig | None = getattr(model, "data_config", None)
    if name is None or cfg is None:
        raise ModelError(f"cannot save {path}: the model was not built with create_model (no model_name)")
    core = {
        "format_version": FORMAT_VERSION,
        "model_name": name,
        "model_kwargs": dict(getattr(model, "model_kwargs", {})),
        "data_config": cfg.to_dict(),
        "labels": cfg.labels.to_dict(),
        "ferkit_version": _ferkit_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    doc = {**core, **{k: v for k, v in (meta or {}).items() if k not in core}}
    header = {META_KEY: json.dumps(doc, default=_jsonable)}
    tensors = {}
    for key, t in model.state_dict().items():
        t = t.detach().to("cpu")
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        tensors[key] = t.contiguous().clone()
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save(tensors, header, path)
    return path


def _atomic_save(tensors: dict[str, torch.Tensor], header: dict[str, str], path: Path) -> None:
    with atomic_path(path) as tmp:
        save_safetensors(tensors, tmp, header)


def save_safetensors(tensors: dict[str, torch.Tensor], path: Path, header: dict[str, str]) -> None:
    """safetensors' save_file, with its own write errors (a full disk, a file-size limit) raised as OSError
    naming the file, so callers handle them like any other failed write."""
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    try:
        save_file(tensors, str(path), metadata=header)
    except SafetensorError as exc:
        raise OSError(errno.EIO, f"cannot write ({first_line(exc)})", str(path)) from None


def _resolve(path_or_name: str | os.PathLike) -> Path:
    """An existing checkpoint file: the path itself, or a shipped `<name>.safetensors` (the model resolver's one
    name-to-file rule, asked for PyTorch weights only)."""
    from ferkit.backends.resolve import resolve_model_path

    return resolve_model_path(path_or_name, suffixes=(".safetensors",))


def read_checkpoint_meta(path: str | os.PathLike) -> dict:
    """The "ferkit" metadata of a checkpoint, reading only the file header.

    Raises:
        ModelError: Missing file, not a safetensors file, or no ferkit metadata (message names the file).
    """
    from safetensors import safe_open

    path = _resolve(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for malformed files
        raise ModelError(f"{path} is not a safetensors checkpoint ({exc})") from None
    if META_KEY not in header:
        raise ModelError(f"{path} has no ferkit metadata (not a ferkit checkpoint)")
    try:
        meta = json.loads(header[META_KEY])
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: ferkit metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or "model_name" not in meta:
        raise ModelError(f"{path}: ferkit metadata has no model_name")
    if not isinstance(meta.get("format_version", 0), int):
        raise ModelError(f"{path}: ferkit metadata has a malformed format_version")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ModelError(f"{path} has checkpoint format {meta['format_version']}; upgrade ferkit to read it")
    return meta


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:
        raise ModelError(f"{path}: cannot read weights ({exc})") from None
    return {k: t.float() if t.is_floating_point() else t for k, t in tensors.items()}


def _mismatch(own: dict[str, tuple], theirs: dict[str, tuple]) -> tuple[list[str], list[str], list[str]]:
    """Keys the model lacks in the file, keys the file has extra, and keys whose shapes differ (shape dicts)."""
    missing = [k for k in own if k not in theirs]
    unexpected = [k for k in theirs if k not in own]
    shapes = [k for k in own if k in theirs and own[k] != theirs[k]]
    return missing, unexpected, shapes


def _shapes(tensors: dict[str, torch.Tensor]) -> dict[str, tuple]:
    return {k: tuple(t.shape) for k, t in tensors.items()}


def _file_shapes(path: Path) -> dict[str, tuple]:
    """Tensor shapes from a safetensors header, without reading the weights."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for malformed files
        raise ModelError(f"{path}: cannot read weights ({exc})") from None


def _build(meta: dict, path: Path, device: str | torch.device = "cpu") -> nn.Module:
    """The network a checkpoint's header describes, on `device` ("meta": shapes only, no memory)."""
    try:
        labels = LabelSpace.from_dict(meta.get("labels") or meta["data_config"]["labels"])
        kwargs = meta.get("model_kwargs", {})
        if not isinstance(kwargs, dict):
            raise TypeError(f"model_kwargs is a {type(kwargs).__name__}, not a mapping")
        with torch.device(device):
            return create_model(meta["model_name"], labels=labels, **kwargs)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        raise ModelError(
            f"{path}: the checkpoint header does not describe a model ({first_line(exc)})"
        ) from None


def _checked_build(meta: dict, path: Path) -> nn.Module:
    """Build the model only after its shapes (planned on the meta device, no memory) match the file's: a crafted
    header (say width_mult=1000) is refused before it allocates anything."""
    planned = _build(meta, path, "meta")
    problems = _describe(*_mismatch(_shapes(planned.state_dict()), _file_shapes(path)))
    if problems:
        raise ModelError(f"{path}: weights do not fit model {meta['model_name']!r} ({problems})")
    return _build(meta, path)


def _describe(missing: list[str], unexpected: list[str], shapes: list[str]) -> str:
    parts = [
        f"{what}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
        for what, keys in (("missing", missing), ("unexpected", unexpected), ("shape differs", shapes))
        if keys
    ]
    return "; ".join(parts)


def load_model(path_or_name: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a model from a checkpoint, in eval mode on `device`.

    Args:
        path_or_name: A `.safetensors` checkpoint path, or the name of a checkpoint shipped in `ferkit/weights/`.
        device: Where to put the model.

    Returns:
        The model, with `data_config` restored from the file and `checkpoint_meta` holding the metadata.

    Raises:
        ModelError: Missing file, not a ferkit checkpoint, unknown model name, or weights that do not fit
            (the message names the file).
    """
    path = _resolve(path_or_name)
    meta = read_checkpoint_meta(path)
    try:
        cfg = DataConfig.from_dict(meta["data_config"])
    except (ModelError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{path}: the checkpoint's data_config is malformed ({first_line(exc)})") from None
    model = _checked_build(meta, path)
    model.load_state_dict(read_tensors(path))
    model.data_config = cfg
    model.checkpoint_meta = meta
    return model.to(device).eval()
