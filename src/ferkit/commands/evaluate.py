"""`ferkit evaluate [--model M] --data PATH [--split S] [--tta T] [--detector NAME] [--train-data PATH]
[--json FILE] [--report DIR]`."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from ferkit.commands._common import add_backend, add_device, forced_backend
from ferkit.constants import TTA_MODES
from ferkit.errors import FerkitError


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="metrics of a model on a dataset split or a folder of photos")
    p.add_argument(
        "--model", help="checkpoint, .onnx file or shipped model name (default: the shipped model)"
    )
    p.add_argument(
        "--data", required=True, help="dataset folder or CSV, or a folder of photos <class>/<images>"
    )
    p.add_argument("--format", help="dataset format (default: detect)")
    p.add_argument("--split", help="split to evaluate (default: the only one, else public_test/valid/test)")
    p.add_argument("--tta", default="none", choices=TTA_MODES, help="test-time augmentation")
    p.add_argument(
        "--detector", metavar="NAME", help="detect faces in each photo (largest face is classified)"
    )
    p.add_argument("--train-data", metavar="PATH", help="also report accuracy without exact train duplicates")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--json", metavar="FILE", help="write the metrics as JSON")
    p.add_argument("--report", metavar="DIR", help="write figures, metrics.json and report.html")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    add_device(p)
    add_backend(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ferkit.evaluate import evaluate, write_report
    from ferkit.evaluate.tables import format_eval

    result = evaluate(
        forced_backend(args, args.model),
        args.data,
        split=args.split,
        tta=args.tta,
        detector=args.detector,
        train_data=args.train_data,
        batch_size=args.batch_size,
        data_format=args.format,
        quiet=args.quiet,
        device=args.device,
        threads=args.threads,
    )
    print(format_eval(result))
    command = "ferkit " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["evaluate"] else None
    if args.json:
        write_json(args.json, {**result.to_dict(), "command": command})
        print(f"\nJSON: {args.json}")
    if args.report:
        print(f"report: {write_report(result, args.report, command=command)}")
    return 0


def write_json(path: str, doc: dict) -> None:
    """Write a JSON document, raising FerkitError naming the file when it cannot be written."""
    try:
        Path(path).write_text(json.dumps(doc, indent=2))
    except OSError as exc:
        raise FerkitError(f"{path}: cannot write ({exc.strerror or exc})") from None
