"""`ferkit data stats|grid PATH`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ferkit.errors import FerkitError


def register(sub) -> None:
    p = sub.add_parser("data", help="inspect datasets (stats, sample grid) and pack them into one file")
    verbs = p.add_subparsers(dest="data_command", metavar="VERB", required=True)

    s = verbs.add_parser("stats", help="per split/class counts, image sizes, unreadable files, duplicates")
    _common(s)
    s.add_argument("--json", metavar="FILE", help="also write the statistics as JSON")
    s.set_defaults(func=_stats)

    g = verbs.add_parser("grid", help="draw a labelled sample grid, one row per class")
    _common(g)
    g.add_argument("--out", required=True, metavar="PNG", help="output image")
    g.add_argument("--per-class", type=int, default=10)
    g.add_argument("--split", help="only this split")
    g.set_defaults(func=_grid)

    k = verbs.add_parser(
        "pack", help="write a dataset as one .npz (.npz.xz: xz-compressed) file that loads fast"
    )
    _common(k)
    k.add_argument("out", help="output file, *.npz or *.npz.xz")
    k.add_argument("--splits", help="comma-separated splits to keep (default: all)")
    k.set_defaults(func=_pack)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="dataset folder or CSV file")
    p.add_argument("--format", help="dataset format (default: detect)")
    p.add_argument("--label-mode", help="FER+ label mode: majority, probability, crossentropy, multi_target")
    p.add_argument(
        "--labels",
        metavar="NAMES",
        help="CSV only: the class names of ids 0..K-1, comma-separated (e.g. for the 8-class CK+ CSV "
        "angry,disgust,fear,happy,sad,surprise,neutral,contempt), or a known label space (FER7)",
    )
    p.add_argument("--strict", action="store_true", help="fail on the first unreadable image")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the dataset cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _load(args):
    from ferkit.data import load_dataset

    opts = {"label_mode": args.label_mode} if args.label_mode else {}
    if args.labels:
        names = [n.strip() for n in args.labels.split(",") if n.strip()]
        opts["labels"] = names if len(names) > 1 else args.labels.strip()
    return load_dataset(
        args.path, args.format, strict=args.strict, cache=not args.no_cache, quiet=args.quiet, **opts
    )


def _stats(args) -> int:
    from ferkit.data.stats import dataset_stats, format_stats

    stats = dataset_stats(_load(args))
    print(format_stats(stats))
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(stats, indent=2))
        except OSError as exc:
            raise FerkitError(f"{args.json}: cannot write ({exc.strerror})") from None
    return 0


def _grid(args) -> int:
    from ferkit.data.grid import sample_grid

    ds = _load(args)
    if args.split:
        ds = ds.take_split(args.split)
    print(f"wrote {sample_grid(ds, args.out, per_class=args.per_class)}")
    return 0


def _pack(args) -> int:
    from ferkit.data.packed import pack_dataset

    ds = _load(args)
    splits = [s.strip() for s in args.splits.split(",") if s.strip()] if args.splits else None
    out = pack_dataset(ds, args.out, splits)
    counts = {
        name: sum(c.values()) for name, c in ds.counts_per_split().items() if not splits or name in splits
    }
    sizes = ", ".join(f"{name} {n}" for name, n in counts.items())
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {sizes}")
    return 0
