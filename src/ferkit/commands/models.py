"""`ferkit models [--json]` and `ferkit summary MODEL [--diagram PNG]`."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("models", help="list the model zoo: parameters, forward MFLOPs, input size")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=_models)

    s = sub.add_parser("summary", help="layer table of a model, optionally an architecture diagram")
    s.add_argument("model", help="a model name from `ferkit models`")
    s.add_argument("--diagram", metavar="PNG", help="also draw the architecture to this PNG")
    s.set_defaults(func=_summary)


def _models(args: argparse.Namespace) -> int:
    from ferkit.models import list_models, model_info
    from ferkit.models.summary import format_model_table

    infos = [model_info(name) for name in list_models()]
    print(json.dumps(infos, indent=1) if args.json else format_model_table(infos))
    if not args.json:
        from ferkit.backends.report import shipped_backends_table

        print(f"\n{shipped_backends_table()}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from ferkit.models import create_model
    from ferkit.models.summary import draw_diagram, summary_table

    model = create_model(args.model)
    print(summary_table(model))
    if args.diagram:
        print(f"diagram: {draw_diagram(model, args.diagram)}")
    return 0
