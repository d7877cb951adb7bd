"""`ferkit train --config FILE [--data PATH] [--set key=value ...] [--run-dir DIR] [--resume]`."""

from __future__ import annotations

from ferkit.commands._common import add_overrides


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model from a YAML config (resumable)")
    p.add_argument(
        "-c",
        "--config",
        help="YAML recipe (see configs/); with --resume and no -c, the run's own config.yaml; else the defaults",
    )
    p.add_argument("--data", help="dataset path (overrides data.path)")
    add_overrides(p)
    p.add_argument("--run-dir", help="output folder (default: runs/<config name>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --run-dir after its last epoch")
    p.add_argument("--exist-ok", action="store_true", help="start over in an existing run directory")
    p.add_argument("--init-from", metavar="CKPT", help="start from a checkpoint's weights (fine-tuning)")
    p.add_argument("--freeze-features", action="store_true", help="train only the classifier")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ferkit.config import load_run_config
    from ferkit.train import fit

    fit(
        load_run_config(args.config, args.overrides, args.run_dir, args.resume),
        args.run_dir,
        data_path=args.data,
        resume=args.resume,
        exist_ok=args.exist_ok,
        init_from=args.init_from,
        freeze_features=args.freeze_features,
        quiet=args.quiet,
    )
    return 0
