"""`ferkit export --model M --format onnx --out model.onnx [--opset 17] [--no-check]`."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a model to ONNX (data config and labels embedded, parity-checked against PyTorch)",
    )
    p.add_argument("--model", default="default", help="checkpoint (.safetensors) or shipped model name")
    p.add_argument("--format", default="onnx", choices=("onnx",), help="export format")
    p.add_argument("--out", help="output file (default: <model name>.onnx in the current folder)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version")
    p.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime vs PyTorch parity check")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ferkit.export import export_onnx

    out = args.out or f"{Path(str(args.model)).stem}.onnx"
    path = export_onnx(args.model, out, opset=args.opset, check=not args.no_check)
    print(f"wrote {path}" + ("" if args.no_check else " (parity with PyTorch checked)"))
    return 0
