"""`ferkit detectors [--json]`: the registered face detectors and whether they can run here."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("detectors", help="list the face detectors and whether each is available")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ferkit._table import format_table
    from ferkit.faces import default_reason, detector_table

    rows = detector_table()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    table = [
        [
            r["name"] + (" (default)" if r["default"] else ""),
            "yes" if r["available"] else "no",
            r["description"] if r["available"] else f"{r['description']} — unavailable: {r['reason']}",
        ]
        for r in rows
    ]
    print(format_table(["detector", "available", "description"], table))
    print(default_reason())
    return 0
