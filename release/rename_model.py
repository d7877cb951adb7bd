"""Give a shipped model a new name: its weights, int8 file, metrics.json and confusion matrix move to the new name,
the name recorded inside the safetensors and ONNX metadata changes with them (tensors untouched, byte for byte),
and MODEL_CARD.md is rendered again.

    python -m release.rename_model default fer2013
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "ferkit" / "weights"


def _renamed_meta(meta: dict, new: str) -> dict:
    """The ferkit metadata block (JSON text under "ferkit") with its shipped name replaced."""
    inner = json.loads(meta["ferkit"])
    if "shipped_name" in inner:
        inner["shipped_name"] = new
    return {**meta, "ferkit": json.dumps(inner)}


def rename_safetensors(src: Path, dst: Path, new: str) -> None:
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    save_file(tensors, str(dst), metadata=_renamed_meta(meta, new) if "ferkit" in meta else meta)
    src.unlink()


def rename_onnx(src: Path, dst: Path, new: str) -> None:
    import onnx

    model = onnx.load(str(src))
    for prop in model.metadata_props:
        if prop.key == "ferkit":
            prop.value = _renamed_meta({"ferkit": prop.value}, new)["ferkit"]
    onnx.save(model, str(dst))
    src.unlink()


def rename(old: str, new: str, folder: Path = WEIGHTS) -> None:
    if (folder / f"{new}.safetensors").exists():
        raise SystemExit(f"{folder / new}.safetensors exists: pick another name")
    if not (folder / f"{old}.safetensors").is_file():
        raise SystemExit(f"{folder / old}.safetensors: no such shipped model")
    rename_safetensors(folder / f"{old}.safetensors", folder / f"{new}.safetensors", new)
    if (folder / f"{old}.int8.onnx").is_file():
        rename_onnx(folder / f"{old}.int8.onnx", folder / f"{new}.int8.onnx", new)
    metrics = json.loads((folder / f"{old}.metrics.json").read_text())
    metrics["name"], metrics["weights_file"] = new, f"{new}.safetensors"
    if "int8" in metrics:
        metrics["int8"]["file"] = f"{new}.int8.onnx"
    (folder / f"{new}.metrics.json").write_text(json.dumps(metrics, indent=2))
    (folder / f"{old}.metrics.json").unlink()
    if (folder / f"{old}_confusion.png").is_file():
        (folder / f"{old}_confusion.png").rename(folder / f"{new}_confusion.png")
    from release.card import write_model_card

    write_model_card(folder)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    args = ap.parse_args()
    rename(args.old, args.new)


if __name__ == "__main__":
    main()
