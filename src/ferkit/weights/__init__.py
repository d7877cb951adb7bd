"""ferkit's shipped models: `<name>.safetensors` (weights + self-describing metadata), `<name>.metrics.json`
(every figure measured by benchmarks/ship_model.py) and MODEL_CARD.md rendered from those metrics."""

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = "default"
"""The shipped model that `ferkit.load()`, `evaluate` and `serve` use when no model is named."""


def shipped_models() -> list[str]:
    """Names of the models shipped in the package (load them with `ferkit.load(name)`)."""
    return sorted(
        {p.name.split(".")[0] for p in WEIGHTS_DIR.iterdir() if p.suffix in (".safetensors", ".onnx")}
    )
