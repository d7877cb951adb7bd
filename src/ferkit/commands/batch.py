"""`ferkit batch SOURCE... --out DIR`: recognition over many images and videos on Ray Data."""

from __future__ import annotations

import sys

from ferkit.commands._common import add_device, add_recognizer, recognizer_kwargs


def register(sub) -> None:
    p = sub.add_parser(
        "batch",
        help="recognise emotions in many images and videos on a Ray cluster (local or remote)",
        description="One row per face (and per image or frame without one, and per item that failed) in Parquet "
        "or JSON-lines files, with the columns of `ferkit predict --csv`. Needs `pip install 'ferkit[ray]'`. "
        "Exit status 1 when any item failed.",
    )
    p.add_argument("source", nargs="+", help="images, videos, folders or globs")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--format", default="parquet", choices=("parquet", "jsonl"))
    p.add_argument(
        "--address", help="Ray cluster: auto (the running one) or ray://HOST:PORT (default: a local one)"
    )
    p.add_argument("--actors", type=int, metavar="N", help="recognizer actors (default: the CPUs less one)")
    p.add_argument(
        "--cpus-per-actor", type=float, default=1.0, metavar="C", help="also its inference threads"
    )
    p.add_argument("--gpus-per-actor", type=float, default=0.0, metavar="G")
    p.add_argument(
        "--classify-actors",
        type=int,
        default=0,
        metavar="K",
        help="two stages: detection in --actors CPU actors, classification of the crops in K actors (on GPUs with "
        "--gpus-per-actor and --device cuda); 0: one stage",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        metavar="B",
        help="tasks per actor call (default: 8 images, or 1 video or segment)",
    )
    p.add_argument(
        "--segment-seconds",
        type=float,
        metavar="S",
        help="cut videos into tasks of S seconds (track ids and smoothing restart at each segment)",
    )
    p.add_argument("--resume", action="store_true", help="add only the items the output does not hold yet")
    p.add_argument("--overwrite", action="store_true", help="delete an earlier run's files in --out first")
    add_recognizer(p)
    p.add_argument("--quiet", action="store_true")
    add_device(p, threads=False)  # an actor's threads are its --cpus-per-actor
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ferkit.errors import FerkitError, OptionError

    try:
        summary = _batch(args)
    except OptionError as exc:  # the library names its fields; a command-line user typed flags
        raise FerkitError(exc.named(flag)) from None
    if not args.quiet:
        print(
            f"{summary.tasks} task(s) run, {summary.skipped} already in {summary.out}; {summary.rows} row(s), "
            f"{len(summary.errors)} failed item(s), {summary.seconds:.1f} s",
            file=sys.stderr,
        )
        for error in summary.errors[:20]:
            print(f"ferkit: {error}", file=sys.stderr)
    return 1 if summary.errors else 0


FLAGS = {"fmt": "--format"}  # fields whose flag is not `--` and the field's name with dashes


def flag(field: str) -> str:
    """The command-line flag of a `BatchOptions` field or `ferkit.load` argument (`segment_seconds` ->
    `--segment-seconds`, `fmt` -> `--format`)."""
    from ferkit.commands._common import flag_of

    return flag_of(field, FLAGS)


def _batch(args):
    from ferkit.batch import BatchOptions, run_batch

    options = BatchOptions(
        address=args.address,
        actors=args.actors,
        cpus_per_actor=args.cpus_per_actor,
        gpus_per_actor=args.gpus_per_actor,
        classify_actors=args.classify_actors,
        batch_size=args.batch_size,
        segment_seconds=args.segment_seconds,
        fmt=args.format,
        resume=args.resume,
        overwrite=args.overwrite,
    )
    source = args.source[0] if len(args.source) == 1 else list(args.source)
    return run_batch(source, args.out, options, **recognizer_kwargs(args))
