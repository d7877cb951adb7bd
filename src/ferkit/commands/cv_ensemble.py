"""`ferkit cv-ensemble RUN_DIR [RUN_DIR ...] --data PATH [--tta none|flip|tencrop] [--json FILE]`."""

from __future__ import annotations

from ferkit.constants import TTA_MODES


def register(sub) -> None:
    p = sub.add_parser(
        "cv-ensemble",
        help="score finished cross-validations together (mean probabilities per fold) or one again with TTA",
    )
    p.add_argument(
        "runs", nargs="+", metavar="RUN_DIR", help="run directories of `ferkit cv` with the same folds"
    )
    p.add_argument("--data", required=True, help="the dataset they were cross-validated on")
    p.add_argument("--tta", default="none", choices=TTA_MODES, help="test-time augmentation of every member")
    p.add_argument("--json", metavar="FILE", help="write the per-fold and mean figures as JSON")
    p.add_argument("--quiet", action="store_true", help="no per-fold progress")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ferkit.commands.evaluate import write_json
    from ferkit.evaluate import ensemble_cv
    from ferkit.evaluate.tables import format_cv

    result = ensemble_cv(args.runs, args.data, tta=args.tta, quiet=args.quiet)
    print(format_cv(result))
    if args.json:
        write_json(args.json, result.to_dict())
        print(f"\nJSON: {args.json}")
    return 0
