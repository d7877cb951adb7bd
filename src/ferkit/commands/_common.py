"""Options shared by several commands."""

from __future__ import annotations

import argparse


def flag_of(field: str, renamed: dict[str, str] | None = None) -> str:
    """The command-line flag of an option the library names by its field: `--` and the field with dashes
    (`segment_seconds` -> `--segment-seconds`), unless `renamed` gives the command's own spelling."""
    return (renamed or {}).get(field, "--" + field.replace("_", "-"))


def add_overrides(p: argparse.ArgumentParser) -> None:
    """`--set KEY=VALUE` (repeatable): config overrides, collected in `args.overrides`."""
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set optim.lr=0.05 (repeatable)",
    )


def add_device(p, threads: bool = True) -> None:
    """--device (and --threads): where inference runs and how many CPU threads it may use."""
    p.add_argument(
        "--device",
        default="cpu",
        help="cpu (default), cuda, cuda:N or mps: PyTorch's device, or ONNX Runtime's CUDA provider for .onnx",
    )
    if not threads:
        return
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads for inference (default: one per core); set it to the cores this job owns when other "
        "work shares the machine",
    )


def add_backend(p) -> None:
    """--backend: which runtime runs the model (auto: the fastest installed one that agrees with ONNX Runtime)."""
    from ferkit.backends.resolve import BACKENDS

    p.add_argument(
        "--backend",
        default="auto",
        choices=BACKENDS,
        help="runtime of the emotion model: auto (default: for an ONNX file, the fastest installed runtime whose "
        "results agree with ONNX Runtime's, measured once per file and machine), torch (checkpoints), "
        "onnxruntime or openvino (ONNX files; openvino needs `pip install 'ferkit[openvino]'`)",
    )


def forced_backend(args, model):
    """`model`, or where `--backend` forces a runtime, the backend loaded on it (the model argument for
    `ferkit.load` and `evaluate`)."""
    backend = getattr(args, "backend", "auto")
    if backend in (None, "auto"):
        return model
    from ferkit.backends import load_backend

    return load_backend(
        model, getattr(args, "device", "cpu"), getattr(args, "threads", None), backend=backend
    )


def add_recognizer(p) -> None:
    """The model and detector options of `predict` and `batch` (`recognizer_kwargs` reads them back)."""
    from ferkit.constants import TTA_MODES

    p.add_argument(
        "--model", help="shipped model name, checkpoint (.safetensors) or ONNX file (default: default)"
    )
    p.add_argument("--detector", help="face detector from `ferkit detectors` (default: the best available)")
    p.add_argument("--min-face", type=int, metavar="PX", help="ignore faces smaller than PX pixels")
    p.add_argument(
        "--max-side",
        type=int,
        metavar="PX",
        help="longest side face detection runs at (default 960); raise it for small faces in big photos",
    )
    p.add_argument("--tta", default="none", choices=TTA_MODES, help="test-time augmentation")


def recognizer_kwargs(args, *extra: str) -> dict:
    """`ferkit.load` keyword arguments from `add_recognizer`'s options, `add_device`'s and the `extra` ones
    (options left unset keep the library's defaults)."""
    names = ("model", "detector", "device", "threads", "min_face", "max_side", "tta", *extra)
    kwargs = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    if getattr(args, "backend", "auto") not in (None, "auto"):
        kwargs["model"] = forced_backend(args, kwargs.get("model"))
    return kwargs
