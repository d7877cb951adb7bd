"""`ferkit cv --config FILE --data PATH --folds K [--group subject|none|auto] [--json FILE] [--init-from CKPT]
[--tta none|flip|tencrop]`."""

from __future__ import annotations

from ferkit.commands._common import add_overrides
from ferkit.constants import TTA_MODES


def register(sub) -> None:
    p = sub.add_parser("cv", help="K-fold cross-validation of a recipe, grouped by subject (CK+ always)")
    p.add_argument("-c", "--config", help="YAML recipe (see configs/ckplus_cv.yaml)")
    p.add_argument("--data", required=True, help="dataset path")
    p.add_argument("--folds", type=int, default=10, help="number of folds K (default 10)")
    p.add_argument("--group", default="auto", choices=("auto", "subject", "none"), help="fold grouping")
    p.add_argument(
        "--allow-subject-leak",
        action="store_true",
        help="with --group none on CK+: split images at random as some published work did (leaky; the result "
        "is marked)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the fold assignment")
    p.add_argument("--init-from", metavar="CKPT", help="fine-tune from a checkpoint in every fold")
    p.add_argument(
        "--tta", default="none", choices=TTA_MODES, help="test-time augmentation of the test-fold scoring"
    )
    p.add_argument("--run-dir", help="output folder (default: runs/cv_<config name>)")
    add_overrides(p)
    p.add_argument("--json", metavar="FILE", help="write the per-fold and mean figures as JSON")
    p.add_argument("--resume", action="store_true", help="keep finished folds, resume an interrupted one")
    p.add_argument("--exist-ok", action="store_true", help="start over in existing fold directories")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ferkit.commands._common import flag_of
    from ferkit.commands.evaluate import write_json
    from ferkit.config import load_config
    from ferkit.errors import FerkitError, OptionError
    from ferkit.evaluate.tables import format_cv

    cfg = load_config(args.config, args.overrides)
    try:
        result = _cross_validate(cfg, args)
    except OptionError as exc:  # the library names its arguments; a command-line user typed flags
        raise FerkitError(exc.named(flag_of)) from None
    print(format_cv(result))
    if args.json:
        write_json(args.json, result.to_dict())
        print(f"\nJSON: {args.json}")
    return 0


def _cross_validate(cfg, args):
    from ferkit.evaluate import cross_validate

    return cross_validate(
        cfg,
        args.data,
        folds=args.folds,
        group=args.group,
        init_from=args.init_from,
        run_dir=args.run_dir,
        seed=args.seed,
        quiet=args.quiet,
        tta=args.tta,
        exist_ok=args.exist_ok,
        resume=args.resume,
        allow_subject_leak=args.allow_subject_leak,
    )
