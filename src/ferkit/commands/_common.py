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
