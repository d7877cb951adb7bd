"""Options shared by several commands."""

from __future__ import annotations

import argparse


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
