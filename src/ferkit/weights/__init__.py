"""ferkit's shipped models: `<name>.safetensors` (weights + self-describing metadata), `<name>.metrics.json`
(every figure measured by release/ship_model.py) and MODEL_CARD.md rendered from those metrics."""

import os
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = "default"
"""The shipped model that `ferkit.load()`, `evaluate` and `serve` use when no model is named."""


def shipped_models() -> list[str]:
    """Names of the models shipped in the package (load them with `ferkit.load(name)`)."""
    return sorted(
        {p.name.split(".")[0] for p in WEIGHTS_DIR.iterdir() if p.suffix in (".safetensors", ".onnx")}
    )


def is_model_name(name) -> bool:
    """Whether a model argument is a bare name ("default", "fast") rather than a path."""
    text = str(name)
    return (
        isinstance(name, str)
        and bool(text)
        and not Path(text).suffix
        and os.sep not in text
        and "/" not in text
    )


def shipped_file(name, suffixes=(".safetensors",), folder: Path = WEIGHTS_DIR) -> Path | None:
    """The first `<folder>/<name><suffix>` that exists for a bare model name; None for a path or when none does.
    The one lookup of shipped files: the checkpoint reader and the model resolver both use it."""
    if not is_model_name(name):
        return None
    return next((folder / f"{name}{s}" for s in suffixes if (folder / f"{name}{s}").is_file()), None)
