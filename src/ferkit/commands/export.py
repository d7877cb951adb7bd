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
    p.add_argument(
        "--int8",
        action="store_true",
        help="write an int8 model (ONNX Runtime static quantization) calibrated on --calib-data's training faces",
    )
    p.add_argument("--calib-data", metavar="PATH", help="dataset whose train split calibrates --int8")
    p.add_argument(
        "--calib-n", type=int, default=1024, metavar="N", help="faces used to calibrate --int8 (default 1024)"
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ferkit.export import export_onnx

    if args.int8:
        return _int8(args)
    out = args.out or f"{Path(str(args.model)).stem}.onnx"
    path = export_onnx(args.model, out, opset=args.opset, check=not args.no_check)
    print(f"wrote {path}" + ("" if args.no_check else " (parity with PyTorch checked)"))
    return 0


def _int8(args: argparse.Namespace) -> int:
    from ferkit.errors import FerkitError
    from ferkit.quantize import INT8_SUFFIX, quantize_int8

    if not args.calib_data:
        raise FerkitError(
            "--int8 needs --calib-data PATH: a dataset whose training faces calibrate the model"
        )
    out = args.out or f"{Path(str(args.model)).name.split('.')[0]}{INT8_SUFFIX}"
    r = quantize_int8(args.model, out, args.calib_data, n_calib=args.calib_n)
    print(
        f"wrote {r.path} (int8, calibrated on {r.calibration_faces} training faces; against the float model on "
        f"{r.check_faces} other faces: {r.label_changes:.1%} labels changed, largest probability change "
        f"{r.max_prob_change:.3f})"
    )
    return 0
